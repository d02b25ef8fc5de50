/** JSON for values JSON lacks: bigints as strings, bytes as base64. */
export function jsonReplacer (_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value
}
