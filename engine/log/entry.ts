/**
 * How changes are kept in the log and how a batch of them travels.
 *
 * Stored log entry (value under key L ‖ author ‖ seq):
 *
 * | bytes | field                                          |
 * |-------|------------------------------------------------|
 * | 1     | flags: bit 0 = signature present, bit 1 = the change bytes are zstd-compressed |
 * | 32    | SHA-256 of the change bytes                    |
 * | 64    | Ed25519 signature over that hash (if flagged)  |
 * | 4     | length of the change bytes (u32 BE; only if compressed) |
 * | rest  | canonical change bytes (zstd frame if compressed) |
 *
 * Large changes (a transaction of many documents) are compressed when it pays: their map
 * keys repeat for every document, so zstd shrinks them several times over, and the log is
 * most of what a replica stores. The hash and signature are always over the plain bytes.
 *
 * Change batch (payload of a frame of type FRAME_CHANGES); the receiver recomputes every
 * hash and never trusts one it is sent:
 *
 * | bytes | field                                          |
 * |-------|------------------------------------------------|
 * | 4     | entry count n (u32 BE)                         |
 * | n ×   | flags (1) ‖ signature (64, if flagged) ‖ length (u32 BE) ‖ change bytes |
 */
import * as zlib from 'node:zlib'
import { CorruptionError, InvalidChangeError } from '../errors.ts'

export interface SignedChange {
  /** canonical change bytes */
  bytes: Uint8Array
  /** signature over the change's hash; null when a later signed change of the run covers it */
  signature: Uint8Array | null
}

export interface StoredEntry extends SignedChange {
  hash: Uint8Array
}

export const FRAME_CHANGES = 1
/**
 * The one size limit of a change, the same when it is written and when it is received: a
 * write that would encode larger is refused at once (LimitExceededError), never accepted
 * locally and then stuck on the wire. Sync frames (protocols/sync MAX_FRAME_BYTES) are sized
 * to carry any run of changes that the writer may produce under it.
 */
export const MAX_CHANGE_BYTES = 4 * 1024 * 1024
/**
 * A local writer signs at least once per this many bytes of changes, so a batch can always
 * be cut after a signed change within BATCH + SIGN_INTERVAL + MAX_CHANGE bytes.
 */
export const SIGN_INTERVAL_BYTES = 1024 * 1024

/** Changes at least this large are stored compressed when that saves an eighth or more. */
export const COMPRESS_STORED_BYTES = 4096
const FLAG_SIGNED = 1
const FLAG_ZSTD = 2
const ZSTD_LEVEL = 1
const zstdCompress = (zlib as Partial<typeof zlib>).zstdCompressSync
const zstdDecompress = (zlib as Partial<typeof zlib>).zstdDecompressSync

export function encodeStoredEntry (entry: StoredEntry): Uint8Array {
  const sig = entry.signature
  let body = entry.bytes
  let flags = sig === null ? 0 : FLAG_SIGNED
  if (body.length >= COMPRESS_STORED_BYTES && zstdCompress !== undefined) {
    // with zstd's own checksum: a damaged entry fails to inflate instead of inflating wrong
    const packed = zstdCompress(body, { params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL, [zlib.constants.ZSTD_c_checksumFlag]: 1 } })
    if (packed.length + 4 <= body.length - (body.length >>> 3)) {
      flags |= FLAG_ZSTD
      body = packed
    }
  }
  const head = 33 + (sig === null ? 0 : 64)
  const extra = (flags & FLAG_ZSTD) === 0 ? 0 : 4
  const out = new Uint8Array(head + extra + body.length)
  out[0] = flags
  out.set(entry.hash, 1)
  if (sig !== null) out.set(sig, 33)
  if (extra > 0) new DataView(out.buffer).setUint32(head, entry.bytes.length)
  out.set(body, head + extra)
  return out
}

function damagedEntry (why: string, cause?: unknown): Error {
  return new CorruptionError(`a stored log entry is damaged (${why}); restore the store from a replica or a backup`, cause === undefined ? undefined : { cause })
}

export function decodeStoredEntry (value: Uint8Array): StoredEntry {
  const flags = value[0]!
  const signed = (flags & FLAG_SIGNED) !== 0
  const start = signed ? 97 : 33
  if (value.length < start) throw new InvalidChangeError('stored log entry is too short')
  const hash = value.subarray(1, 33)
  const signature = signed ? value.subarray(33, 97) : null
  if ((flags & FLAG_ZSTD) === 0) return { hash, signature, bytes: value.subarray(start) }
  if (value.length < start + 4) throw damagedEntry('truncated length')
  if (zstdDecompress === undefined) throw damagedEntry('it is zstd-compressed and this Node.js has no zstd; run Node >= 22.15')
  const length = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(start)
  let bytes: Buffer
  try {
    bytes = zstdDecompress(value.subarray(start + 4), { maxOutputLength: Math.max(1, length) })
  } catch (cause) {
    throw damagedEntry('its compressed change does not inflate', cause)
  }
  if (bytes.length !== length) throw damagedEntry(`its change inflates to ${bytes.length} bytes, not ${length}`)
  return { hash, signature, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
}

export function encodeChangeBatch (entries: readonly SignedChange[]): Uint8Array {
  let size = 4
  for (const e of entries) size += 1 + (e.signature === null ? 0 : 64) + 4 + e.bytes.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, entries.length)
  let o = 4
  for (const e of entries) {
    out[o++] = e.signature === null ? 0 : 1
    if (e.signature !== null) { out.set(e.signature, o); o += 64 }
    view.setUint32(o, e.bytes.length); o += 4
    out.set(e.bytes, o); o += e.bytes.length
  }
  return out
}

/** Splits a batch into its entries; sizes are judged by the applier, per change (a rejection, not a throw). */
export function decodeChangeBatch (payload: Uint8Array): SignedChange[] {
  const bad = (why: string): never => { throw new InvalidChangeError(`malformed change batch: ${why}; the sender is running an incompatible or faulty version`) }
  if (payload.length < 4) bad('shorter than its header')
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const count = view.getUint32(0)
  // every entry takes at least 5 bytes: refuse impossible counts before allocating
  if (count > (payload.length - 4) / 5) bad(`declares ${count} entries in ${payload.length} bytes`)
  const out: SignedChange[] = []
  let o = 4
  for (let i = 0; i < count; i++) {
    if (o + 1 > payload.length) bad('truncated entry')
    const flags = payload[o++]!
    if ((flags & ~1) !== 0) bad(`unknown entry flags ${flags}`)
    let signature: Uint8Array | null = null
    if (flags === 1) {
      if (o + 64 > payload.length) bad('truncated signature')
      signature = payload.subarray(o, o + 64); o += 64
    }
    if (o + 4 > payload.length) bad('truncated length')
    const length = view.getUint32(o); o += 4
    if (o + length > payload.length) bad('truncated change bytes')
    out.push({ bytes: payload.subarray(o, o + length), signature })
    o += length
  }
  if (o !== payload.length) bad('trailing bytes')
  return out
}
