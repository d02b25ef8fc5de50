/**
 * Key spaces in the store. One prefix byte each; sorted bytewise.
 *
 * | prefix | key                                 | value                          |
 * |--------|-------------------------------------|--------------------------------|
 * | D      | D ‖ collection ‖ 0x00 ‖ id          | document state (registers)     |
 * | C      | C ‖ collection                      | live document count (u64 BE)   |
 * | L      | L ‖ author(32) ‖ seq (u64 BE)       | stored log entry               |
 * | H      | H ‖ author(32)                      | head: seq (u64 BE) ‖ hash(32)  |
 * | P      | P ‖ author(32) ‖ seq (u64 BE)       | held (too far in the future)   |
 * | S      | S ‖ shape id (u32 BE)               | shared structure keys          |
 * | M      | M ‖ name                            | metadata (db id, genesis, …)   |
 * | I      | I ‖ index id ‖ values ‖ doc id      | doc id (index/indexes.ts)      |
 * | X      | X ‖ collection ‖ 0x00 ‖ index name  | index definition               |
 */
const enc = new TextEncoder()
const dec = new TextDecoder()

export const PREFIX = { doc: 0x44, count: 0x43, log: 0x4c, head: 0x48, held: 0x50, shape: 0x53, meta: 0x4d, index: 0x49, indexDef: 0x58 } as const

function withPrefix (prefix: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 1
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  out[0] = prefix
  let o = 1
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

const TWO_32 = 0x1_0000_0000

/** `n` (a safe integer ≥ 0) as 8 bytes big-endian at `at` in `out` (on every log key: no BigInt, no DataView). */
function writeU64 (out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / TWO_32)
  const lo = n >>> 0
  out[at] = hi >>> 24; out[at + 1] = (hi >>> 16) & 0xff; out[at + 2] = (hi >>> 8) & 0xff; out[at + 3] = hi & 0xff
  out[at + 4] = lo >>> 24; out[at + 5] = (lo >>> 16) & 0xff; out[at + 6] = (lo >>> 8) & 0xff; out[at + 7] = lo & 0xff
}

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  writeU64(out, 0, n)
  return out
}

export function readU64 (bytes: Uint8Array, offset = 0): number {
  const b = bytes
  const o = offset
  if (o + 8 > b.length) throw new RangeError(`readU64 needs 8 bytes at offset ${o}, have ${b.length - o}`)
  const hi = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
  const lo = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0
  const n = hi * TWO_32 + lo
  // beyond 2^53 a number is not exact: as Number(BigInt) did, give the nearest double
  return hi < 0x20_0000 ? n : Number((BigInt(hi) << 32n) | BigInt(lo))
}

type HexSlice = (this: Uint8Array, start: number, end: number) => string
const nativeHexSlice = (Buffer.prototype as unknown as { hexSlice?: HexSlice }).hexSlice

/** Bytes as lowercase hex (Node's native slice: no Buffer object per call). */
export const hexOf: (bytes: Uint8Array) => string = nativeHexSlice !== undefined
  ? (bytes) => nativeHexSlice.call(bytes, 0, bytes.length)
  : (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

/** A key of prefix ‖ 32-byte author ‖ seq (u64 BE), built in one allocation. */
function authorSeqKey (prefix: number, author: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(1 + author.length + 8)
  out[0] = prefix
  out.set(author, 1)
  writeU64(out, 1 + author.length, seq)
  return out
}

export const u64Bytes = u64

const ZERO = Uint8Array.of(0)

const collectionPrefixes = new Map<string, Buffer>()

function collectionPrefix (collection: string): Buffer {
  let prefix = collectionPrefixes.get(collection)
  if (prefix === undefined) {
    prefix = Buffer.from(withPrefix(PREFIX.doc, enc.encode(collection), ZERO))
    if (collectionPrefixes.size > 10_000) collectionPrefixes.clear()
    collectionPrefixes.set(collection, prefix)
  }
  return prefix
}

/** D ‖ collection ‖ 0x00 ‖ id — on the read path of every get, so built without TextEncoder */
export function docKey (collection: string, id: string): Uint8Array {
  const prefix = collectionPrefix(collection)
  const out = Buffer.allocUnsafe(prefix.length + Buffer.byteLength(id))
  prefix.copy(out)
  out.write(id, prefix.length)
  return out
}

/** [gte, lt) covering every document of a collection */
export function collectionRange (collection: string): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: withPrefix(PREFIX.doc, enc.encode(collection), ZERO), lt: withPrefix(PREFIX.doc, enc.encode(collection), Uint8Array.of(1)) }
}

export function docKeyParts (key: Uint8Array): { collection: string, id: string } {
  const zero = key.indexOf(0, 1)
  return { collection: dec.decode(key.subarray(1, zero)), id: dec.decode(key.subarray(zero + 1)) }
}

export function countKey (collection: string): Uint8Array { return withPrefix(PREFIX.count, enc.encode(collection)) }
export function logKey (author: Uint8Array, seq: number): Uint8Array { return authorSeqKey(PREFIX.log, author, seq) }
export function heldKey (author: Uint8Array, seq: number): Uint8Array { return authorSeqKey(PREFIX.held, author, seq) }
export function headKey (author: Uint8Array): Uint8Array { return withPrefix(PREFIX.head, author) }
export function shapeKey (id: number): Uint8Array {
  const out = new Uint8Array(5)
  out[0] = PREFIX.shape
  new DataView(out.buffer).setUint32(1, id)
  return out
}
export function metaKey (name: string): Uint8Array { return withPrefix(PREFIX.meta, enc.encode(name)) }
export function indexDefKey (collection: string, name: string): Uint8Array { return withPrefix(PREFIX.indexDef, enc.encode(collection), ZERO, enc.encode(name)) }

/** [gte, lt) covering every key with one prefix byte */
export function prefixRange (prefix: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) }
}

/** [gte, lt) of one author's entries under a prefix (log or held), from seq `from` */
export function authorRange (prefix: number, author: Uint8Array, from = 1): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: withPrefix(prefix, author, u64(from)), lt: withPrefix(prefix, author, u64(Number.MAX_SAFE_INTEGER)) }
}
