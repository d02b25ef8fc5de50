/**
 * Order-preserving encoding of values for index keys: byte order of the encodings follows
 * the query engine's total order (engine/query/values.ts `compareValues`) — monotone, and
 * values that compare equal encode equally — so an index range is always a superset of the
 * matches of the condition it serves (the query re-applies the whole filter).
 *
 * | class   | bytes                                                              |
 * |---------|--------------------------------------------------------------------|
 * | missing | 0x01                                                               |
 * | null    | 0x02                                                               |
 * | boolean | 0x03, 0/1                                                          |
 * | number  | 0x04, 0x00 (NaN, which sorts first) or 0x01 + float64 with the sign |
 * |         | bit flipped (negatives: all bits flipped); -0 as 0; bigint as Number |
 * | string  | 0x05, UTF-8 with 0x00 escaped as 0x00 0x01, then 0x00 0x00         |
 * | date    | 0x06, 0x01 + float64 of its milliseconds, as numbers               |
 * | bytes   | 0x07, escaped like strings, then 0x00 0x00                         |
 * | array   | 0x08 (equality on whole arrays is left to the filter)              |
 * | object  | 0x09                                                               |
 */
import type { Value } from '../codec/index.ts'

export const CLASS = { missing: 0x01, null: 0x02, boolean: 0x03, number: 0x04, string: 0x05, date: 0x06, bytes: 0x07, array: 0x08, object: 0x09 } as const

function float (n: number): Uint8Array {
  const out = new Uint8Array(9)
  if (Number.isNaN(n)) return out.subarray(0, 1) // 0x00: NaN first
  out[0] = 0x01
  const view = new DataView(out.buffer)
  view.setFloat64(1, n === 0 ? 0 : n)
  if (out[1]! & 0x80) for (let i = 1; i < 9; i++) out[i] = ~out[i]! & 0xff
  else out[1] = out[1]! | 0x80
  return out
}

function escaped (bytes: Uint8Array, terminate: boolean): Uint8Array {
  let zeros = 0
  for (const b of bytes) if (b === 0) zeros++
  const out = new Uint8Array(bytes.length + zeros + (terminate ? 2 : 0))
  let o = 0
  for (const b of bytes) {
    out[o++] = b
    if (b === 0) out[o++] = 1
  }
  return out
}

const utf8 = new TextEncoder()

/** The encoding of one value (the class byte included). */
export function encodeIndexValue (v: Value | undefined): Uint8Array {
  if (v === undefined) return Uint8Array.of(CLASS.missing)
  if (v === null) return Uint8Array.of(CLASS.null)
  switch (typeof v) {
    case 'boolean': return Uint8Array.of(CLASS.boolean, v ? 1 : 0)
    case 'number': return concat(Uint8Array.of(CLASS.number), float(v))
    case 'bigint': return concat(Uint8Array.of(CLASS.number), float(Number(v)))
    case 'string': return concat(Uint8Array.of(CLASS.string), escaped(utf8.encode(v), true))
  }
  if (v instanceof Date) return concat(Uint8Array.of(CLASS.date), float(v.getTime()))
  if (v instanceof Uint8Array) return concat(Uint8Array.of(CLASS.bytes), escaped(v, true))
  return Uint8Array.of(Array.isArray(v) ? CLASS.array : CLASS.object)
}

/** The bytes every string starting with `prefix` begins with (no terminator). */
export function encodeStringPrefix (prefix: string): Uint8Array {
  return concat(Uint8Array.of(CLASS.string), escaped(utf8.encode(prefix), false))
}

/** The smallest byte string greater than every string that starts with `bytes`. */
export function successor (bytes: Uint8Array): Uint8Array {
  const out = bytes.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++
      return out.subarray(0, i + 1)
    }
  }
  return Uint8Array.of(0xff, 0xff, 0xff, 0xff) // unreachable for our encodings
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}
