/**
 * The change log, its one owner: every author's signed changes (key L ‖ author ‖ seq), the
 * head of each author (key H ‖ author: seq ‖ hash of the last change), version vectors, the
 * batches a peer needs, and the horizon — the first seq still held per author — so that a
 * truncated log can tell a peer "that is behind my horizon".
 *
 * In memory it keeps the heads as committed. Writers never touch them: a transaction
 * appends through a `LogStage`, whose heads become the log's only once the transaction has
 * committed (`publish`), so a failed commit leaves the log, on disk and in memory, as before.
 *
 * @example
 * const stage = log.stage()
 * stage.append(txn, change, { bytes, hash, signature })   // inside a store transaction
 * stage.write(txn)                                        // the moved heads, once per transaction
 * // … after the commit resolves:
 * log.publish(stage)
 */
import { encodeFrame } from '../codec/index.ts'
import { peerIdFromPublicKey, type PeerIdString } from '../crypto/identity.ts'
import type { StoreReader, StoreTxn } from '../store/types.ts'
import { authorRange, headKey, hexOf, logKey, metaKey, PREFIX, prefixRange, readU64, u64Bytes } from '../keys.ts'
import { decodeChange, type Change } from './change.ts'
import { decodeStoredEntry, encodeChangeBatch, encodeStoredEntry, FRAME_CHANGES, type SignedChange, type StoredEntry } from './entry.ts'
import type { VersionVector } from './version-vector.ts'
import { BehindHorizonError } from '../errors.ts'

export interface Head { author: Uint8Array, seq: number, hash: Uint8Array }

export interface Batch {
  /** a FRAME_CHANGES frame */
  frame: Uint8Array
  /** the frame's payload before compression */
  rawBytes: number
  /** per author, the last seq in the frame */
  upTo: VersionVector
  count: number
}


/** Where the log's size (entries ‖ bytes, u64 BE each) is kept, updated in every transaction that appends. */
export const LOG_SIZE_KEY = metaKey('logsize')

export class ChangeLog {
  readonly #heads = new Map<string, Head>()
  readonly #peerIds = new Map<string, PeerIdString>()
  #entries = 0
  #bytes = 0

  /** Loads the committed heads and size (counted once for logs written before the size was kept). */
  constructor (reader: StoreReader) {
    for (const { key, value } of reader.range(prefixRange(PREFIX.head))) {
      const author = key.slice(1)
      this.#heads.set(hexOf(author), { author, seq: readU64(value), hash: value.slice(8, 40) })
    }
    const size = reader.get(LOG_SIZE_KEY)
    if (size !== undefined) {
      this.#entries = readU64(size)
      this.#bytes = readU64(size, 8)
    } else {
      for (const { value } of reader.range(prefixRange(PREFIX.log))) { this.#entries++; this.#bytes += value.length }
    }
  }

  /** The committed head of an author. */
  head (author: Uint8Array): Head | undefined { return this.#heads.get(hexOf(author)) }

  /** Every author's committed head. */
  heads (): IterableIterator<Head> { return this.#heads.values() }

  /** Number of authors with at least one change. */
  get authors (): number { return this.#heads.size }

  peerIdOf (author: Uint8Array): PeerIdString {
    const hex = hexOf(author)
    let id = this.#peerIds.get(hex)
    if (id === undefined) {
      id = peerIdFromPublicKey(author)
      this.#peerIds.set(hex, id)
    }
    return id
  }

  /** For each author, the highest seq held (committed, durable) without gaps. */
  versionVector (): VersionVector {
    const vv: VersionVector = {}
    for (const h of this.#heads.values()) vv[this.peerIdOf(h.author)] = h.seq
    return vv
  }

  /**
   * For each author, the first seq still in the log: 1 while nothing was truncated. A peer
   * that lacks changes below it cannot catch up from this log (it needs a snapshot).
   */
  horizon (reader: StoreReader): VersionVector {
    const out: VersionVector = {}
    for (const h of this.#heads.values()) out[this.peerIdOf(h.author)] = this.firstHeld(reader, h)
    return out
  }

  private firstHeld (reader: StoreReader, head: Head): number {
    for (const { key } of reader.range({ ...authorRange(PREFIX.log, head.author), limit: 1 })) return readU64(key, 33)
    return head.seq + 1
  }

  /**
   * How far `vv` is behind this log: the changes it lacks, and the age (ms, against `nowMs`)
   * of the oldest of them — 0 and 0 when it has everything.
   */
  lag (reader: StoreReader, vv: VersionVector, nowMs: number): { changes: number, ms: number } {
    let changes = 0
    let oldest: number | undefined
    for (const head of this.#heads.values()) {
      const have = vv[this.peerIdOf(head.author)] ?? 0
      if (have >= head.seq) continue
      changes += head.seq - have
      const first = this.entry(reader, head.author, have + 1)
      if (first === undefined) continue
      const ms = Number(decodeChange(first.bytes).hlc >> 16n)
      if (oldest === undefined || ms < oldest) oldest = ms
    }
    return { changes, ms: oldest === undefined ? 0 : Math.max(0, nowMs - oldest) }
  }

  /** One stored entry, or undefined. */
  entry (reader: StoreReader, author: Uint8Array, seq: number): StoredEntry | undefined {
    const raw = reader.get(logKey(author, seq))
    return raw === undefined ? undefined : decodeStoredEntry(raw)
  }

  /** Entries in the log and their stored bytes, as committed. */
  size (): { entries: number, bytes: number } { return { entries: this.#entries, bytes: this.#bytes } }

  /**
   * The changes beyond `vv`, as frames of about `maxBytes`, read from `reader` (a snapshot).
   * Authors come in the order of their first missing change's clock, so that a grant reaches
   * the receiver before the changes of the member it admits. A frame is cut only after a
   * signed change, so each frame verifies and applies on its own.
   * @throws BehindHorizonError when `vv` lacks changes this log no longer holds
   */
  * batches (reader: StoreReader, vv: VersionVector, maxBytes: number): Generator<Batch> {
    const runs: Array<{ head: Head, from: number, hlc: bigint }> = []
    for (const head of this.#heads.values()) {
      const have = vv[this.peerIdOf(head.author)] ?? 0
      if (have >= head.seq) continue
      const first = this.entry(reader, head.author, have + 1)
      if (first === undefined) {
        throw new BehindHorizonError(`changes of ${this.peerIdOf(head.author)} from seq ${have + 1} are no longer in this log (its horizon is ${this.firstHeld(reader, head)}); catch up from a snapshot`)
      }
      runs.push({ head, from: have + 1, hlc: decodeChange(first.bytes).hlc })
    }
    runs.sort((a, b) => a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0)
    let entries: SignedChange[] = []
    let upTo: VersionVector = {}
    let bytes = 0
    const cut = (): Batch => {
      const payload = encodeChangeBatch(entries)
      const batch = { frame: encodeFrame(payload, { type: FRAME_CHANGES }), rawBytes: payload.length, upTo, count: entries.length }
      entries = []
      upTo = {}
      bytes = 0
      return batch
    }
    for (const { head, from } of runs) {
      const peerId = this.peerIdOf(head.author)
      let seq = from
      for (const { value } of reader.range({ ...authorRange(PREFIX.log, head.author, from), lt: logKey(head.author, head.seq + 1) })) {
        const e = decodeStoredEntry(value)
        entries.push({ bytes: e.bytes, signature: e.signature })
        upTo[peerId] = seq++
        bytes += e.bytes.length + 69
        if (bytes >= maxBytes && e.signature !== null) yield cut()
      }
    }
    if (entries.length > 0) yield cut()
  }

  /** A stage for one transaction's appends. */
  stage (): LogStage { return new LogStage(this) }

  /** Makes a committed stage's heads the log's. Call only after its transaction committed. */
  publish (stage: LogStage): void {
    for (const [key, head] of stage.moved) this.#heads.set(key, head)
    this.#entries += stage.entries
    this.#bytes += stage.bytes
  }
}

/** The appends of one transaction; its heads are seen only by that transaction until published. */
export class LogStage {
  readonly #log: ChangeLog
  readonly #parent: LogStage | undefined
  /** author hex → head after this stage's appends */
  readonly moved = new Map<string, Head>()
  /**
   * The appended entries, stored by `write` at the end of the transaction: a nested stage
   * that is dropped leaves nothing to undo, and an entry appended again (a local group's
   * last change, once it carries the group's signature) is encoded and stored once.
   */
  readonly #entries: Array<{ author: Uint8Array, seq: number, entry: StoredEntry }> = []
  /** entries and bytes this stage adds to the log (counted by `write`) */
  entries = 0
  bytes = 0

  constructor (log: ChangeLog, parent?: LogStage) {
    this.#log = log
    this.#parent = parent
  }

  /** A nested stage (one write of a group): `absorb` it when it succeeds, drop it when not. */
  child (): LogStage { return new LogStage(this.#log, this) }

  /** The head as this transaction sees it. */
  head (author: Uint8Array): Head | undefined {
    return this.moved.get(hexOf(author)) ?? (this.#parent === undefined ? this.#log.head(author) : this.#parent.head(author))
  }

  /**
   * Appends a change (stored by `write`, with the transaction). Appending the last change
   * again replaces its entry (e.g. to add a signature).
   */
  append (_txn: StoreTxn, change: Change, entry: StoredEntry): void {
    const last = this.#entries[this.#entries.length - 1]
    if (last !== undefined && last.seq === change.seq && Buffer.compare(last.author, change.author) === 0) last.entry = entry
    else this.#entries.push({ author: change.author, seq: change.seq, entry })
    this.moved.set(hexOf(change.author), { author: change.author, seq: change.seq, hash: entry.hash })
  }

  /** Takes the appends of a nested stage that succeeded. */
  absorb (child: LogStage): void {
    for (const e of child.#entries) this.#entries.push(e)
    for (const [key, head] of child.moved) this.moved.set(key, head)
  }

  /** Stores the appended entries, the moved heads and the log's new size (once per transaction, not once per change). */
  write (txn: StoreTxn, log: ChangeLog): void {
    if (this.moved.size === 0) return
    this.entries = this.#entries.length
    this.bytes = 0
    for (const { author, seq, entry } of this.#entries) {
      const value = encodeStoredEntry(entry)
      txn.put(logKey(author, seq), value)
      this.bytes += value.length
    }
    for (const h of this.moved.values()) {
      const value = new Uint8Array(40)
      value.set(u64Bytes(h.seq))
      value.set(h.hash, 8)
      txn.put(headKey(h.author), value)
    }
    const size = log.size()
    const value = new Uint8Array(16)
    value.set(u64Bytes(size.entries + this.entries))
    value.set(u64Bytes(size.bytes + this.bytes), 8)
    txn.put(LOG_SIZE_KEY, value)
  }
}
