import { hash } from 'node:crypto'

/** SHA-256 of the concatenated parts (one-shot `crypto.hash` for the common single part). */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  const d = hash('sha256', data, 'buffer')
  return new Uint8Array(d.buffer, d.byteOffset, d.length)
}
