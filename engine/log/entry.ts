/**
 * How changes are kept in the log and how a batch of them travels.
 *
 * Stored log entry (value under key L ‖ author ‖ seq):
 *
 * | bytes | field                                          |
 * |-------|------------------------------------------------|
 * | 1     | flags: bit 0 = signature present               |
 * | 32    | SHA-256 of the change bytes                    |
 * | 64    | Ed25519 signature over that hash (if flagged)  |
 * | rest  | canonical change bytes                         |
 *
 * Change batch (payload of a frame of type FRAME_CHANGES); the receiver recomputes every
 * hash and never trusts one it is sent:
 *
 * | bytes | field                                          |
 * |-------|------------------------------------------------|
 * | 4     | entry count n (u32 BE)                         |
 * | n ×   | flags (1) ‖ signature (64, if flagged) ‖ length (u32 BE) ‖ change bytes |
 */
import { InvalidChangeError } from '../errors.ts'

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

export function encodeStoredEntry (entry: StoredEntry): Uint8Array {
  const sig = entry.signature
  const out = new Uint8Array(1 + 32 + (sig === null ? 0 : 64) + entry.bytes.length)
  out[0] = sig === null ? 0 : 1
  out.set(entry.hash, 1)
  let o = 33
  if (sig !== null) { out.set(sig, o); o += 64 }
  out.set(entry.bytes, o)
  return out
}

export function decodeStoredEntry (value: Uint8Array): StoredEntry {
  const signed = (value[0]! & 1) === 1
  const start = signed ? 97 : 33
  if (value.length < start) throw new InvalidChangeError('stored log entry is too short')
  return {
    hash: value.subarray(1, 33),
    signature: signed ? value.subarray(33, 97) : null,
    bytes: value.subarray(start)
  }
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
