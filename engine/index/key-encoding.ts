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
 *
 * Long strings and bytes: an escaped body over MAX_INDEXED_BYTES is cut there (never inside
 * an escape pair) and ends with 0x00 0x02, 16 bytes of SHA-256 of the whole value, 0x01 —
 * instead of the terminator. 0x00 0x02 sorts after both 0x00 0x00 and 0x00 0x01, so order
 * against every other value stays exact; values that share the cut prefix sort by hash
 * (equal values still encode equally). Range bounds on such values widen to the whole cut
 * prefix (`encodeIndexBound`), and the query re-applies its filter. So any value can be
 * indexed: an index is this replica's configuration, and must never make a change invalid.
 */
import { createHash } from 'node:crypto'
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

/** Longest escaped string or bytes body kept whole in an index key. */
export const MAX_INDEXED_BYTES = 256
/** Fields one index may have: MAX_INDEX_FIELDS long values plus the longest id fit a key. */
export const MAX_INDEX_FIELDS = 5

const TRUNCATED = Uint8Array.of(0x00, 0x02)

/** The escaped body cut to the kept prefix (escape pairs are never split). */
function cut (body: Uint8Array): Uint8Array {
  // an escape pair is 0x00 0x01 (and a body has no other 0x00): don't keep half of one
  const n = body[MAX_INDEXED_BYTES - 1] === 0 ? MAX_INDEXED_BYTES - 1 : MAX_INDEXED_BYTES
  return body.subarray(0, n)
}

function long (cls: number, raw: Uint8Array, body: Uint8Array): Uint8Array {
  const hash = createHash('sha256').update(raw).digest().subarray(0, 16)
  return concat(Uint8Array.of(cls), cut(body), TRUNCATED, hash, Uint8Array.of(1))
}

function stringLike (cls: number, raw: Uint8Array): Uint8Array {
  const body = escaped(raw, false)
  if (body.length > MAX_INDEXED_BYTES) return long(cls, raw, body)
  return concat(Uint8Array.of(cls), body, Uint8Array.of(0, 0))
}

/**
 * What a range bound on `v` compares against: its encoding, or — for a value too long to
 * be kept whole — the cut prefix and marker without the hash, below every value that shares
 * the prefix (`successor` of it: above every one). `exact` tells which.
 */
export function encodeIndexBound (v: Value | undefined): { bytes: Uint8Array, exact: boolean } {
  const bytes = encodeIndexValue(v)
  if (!isTruncated(bytes)) return { bytes, exact: true }
  return { bytes: bytes.subarray(0, bytes.length - 17), exact: false }
}

/** Whether a single value's encoding is the cut form of a long string or bytes value. */
export function isTruncated (encoded: Uint8Array): boolean {
  const cls = encoded[0]
  return (cls === CLASS.string || cls === CLASS.bytes) && encoded[encoded.length - 1] !== 0
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
    case 'string': return stringLike(CLASS.string, utf8.encode(v))
  }
  if (v instanceof Date) return concat(Uint8Array.of(CLASS.date), float(v.getTime()))
  if (v instanceof Uint8Array) return stringLike(CLASS.bytes, v)
  return Uint8Array.of(Array.isArray(v) ? CLASS.array : CLASS.object)
}

/** The bytes every string starting with `prefix` begins with (no terminator; cut like long values). */
export function encodeStringPrefix (prefix: string): Uint8Array {
  const body = escaped(utf8.encode(prefix), false)
  return concat(Uint8Array.of(CLASS.string), body.length > MAX_INDEXED_BYTES ? cut(body) : body)
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
