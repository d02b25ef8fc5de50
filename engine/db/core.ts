/**
 * The engine's shared state and the one routine that applies a change to the store —
 * used for local writes and replicated ones alike, inside one store transaction, so that
 * log append, document merge and counts commit together or not at all.
 */
import { StructureTable, encode } from '../codec/index.ts'
import type { HybridClock, Hlc } from '../clock/hlc.ts'
import type { Identity, PeerIdString } from '../crypto/identity.ts'
import { peerIdFromPublicKey } from '../crypto/identity.ts'
import type { Store, StoreReader, StoreTxn } from '../store/types.ts'
import { exists, materialize, mergeRegister, type Doc, type Register } from '../crdt/index.ts'
import { decodeState, decodeWholeDoc, encodeState } from './state-codec.ts'
import { isDocOp, registerOf } from '../crdt/ops.ts'
import type { Change, Op } from '../log/change.ts'
import { encodeStoredEntry, type StoredEntry } from '../log/entry.ts'
import { countKey, docKey, headKey, logKey, metaKey, readU64, shapeKey, u64Bytes, PREFIX, prefixRange } from '../keys.ts'
import { Members, changesMembership } from '../security/members.ts'
import { decodeDef, maintain, type IndexDef } from '../index/indexes.ts'
import type { FullTextIndex } from '../fulltext/index.ts'

export interface Head { seq: number, hash: Uint8Array }

export type Origin = 'local' | 'remote'

/** What subscribers receive for every applied change. */
export interface ChangeEvent {
  origin: Origin
  author: PeerIdString
  seq: number
  hlc: Hlc
  ops: readonly Op[]
}

export function hexOf (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Per-transaction cache of decoded document states, so several ops on one doc decode once. */
export interface CachedDoc { key: Uint8Array, collection: string, id: string, before: Register[], state: Register[] }

export class DocCache {
  readonly states = new Map<string, CachedDoc>()
}

export class Core {
  readonly store: Store
  readonly table: StructureTable
  readonly identity: Identity
  readonly dbId: Uint8Array
  readonly clock: HybridClock
  /** heads as of the latest transaction function run (possibly not yet durable) */
  readonly heads = new Map<string, Head & { author: Uint8Array }>()
  /** membership as of the latest transaction function run */
  members: Members
  /** secondary indexes per collection (local configuration) */
  readonly indexes = new Map<string, IndexDef[]>()
  /** full-text indexes per collection (in memory, rebuilt at open from their stored definitions) */
  readonly fulltext = new Map<string, Map<string, FullTextIndex>>()
  private readonly peerIds = new Map<string, PeerIdString>()

  constructor (store: Store, table: StructureTable, identity: Identity, dbId: Uint8Array, clock: HybridClock) {
    this.store = store
    this.table = table
    this.identity = identity
    this.dbId = dbId
    this.clock = clock
    this.members = Members.decode(dbId, store.get(metaKey('members')))
    for (const { value } of store.range(prefixRange(PREFIX.indexDef))) this.addIndex(decodeDef(value))
    for (const { key, value } of store.range(prefixRange(PREFIX.head))) {
      const author = key.slice(1)
      this.heads.set(hexOf(author), { author, seq: readU64(value), hash: value.slice(8, 40) })
    }
  }

  addIndex (def: IndexDef): void {
    const list = this.indexes.get(def.collection) ?? []
    this.indexes.set(def.collection, [...list.filter((d) => d.name !== def.name), def])
  }

  peerIdOf (author: Uint8Array): PeerIdString {
    const hex = hexOf(author)
    let id = this.peerIds.get(hex)
    if (id === undefined) {
      id = peerIdFromPublicKey(author)
      this.peerIds.set(hex, id)
    }
    return id
  }

  readState (reader: StoreReader, key: Uint8Array): Register[] | undefined {
    const raw = reader.get(key)
    return raw === undefined ? undefined : this.stateOf(raw)
  }

  stateOf (raw: Uint8Array): Register[] {
    return decodeState(this.table, raw)
  }

  /** The live document in stored state bytes, or undefined (deleted). */
  docOf (raw: Uint8Array): Doc | undefined {
    return decodeWholeDoc(this.table, raw) ?? materialize(this.stateOf(raw), true)
  }

  readDoc (reader: StoreReader, collection: string, id: string): Doc | undefined {
    const raw = reader.get(docKey(collection, id))
    return raw === undefined ? undefined : this.docOf(raw)
  }

  /** Cached state of a document within one transaction (decoded once). */
  cachedState (txn: StoreTxn, cache: DocCache, collection: string, id: string): CachedDoc {
    const k = `${collection}\u0000${id}`
    let entry = cache.states.get(k)
    if (entry === undefined) {
      const key = docKey(collection, id)
      const state = this.readState(txn, key) ?? []
      entry = { key, collection, id, before: state, state }
      cache.states.set(k, entry)
    }
    return entry
  }

  /** Merges a change's document ops into the cached states; returns whether any changed. */
  mergeOps (txn: StoreTxn, cache: DocCache, change: Change): void {
    const { ops, hlc, author } = change
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!
      if (!isDocOp(op)) continue
      const entry = this.cachedState(txn, cache, op.c, op.id)
      const next = mergeRegister(entry.state, registerOf(op, hlc, author, i))
      if (next !== undefined) entry.state = next
    }
  }

  /** Writes the cached states that changed, and the collection counts. */
  writeStates (txn: StoreTxn, cache: DocCache): void {
    const countDelta = new Map<string, number>()
    for (const entry of cache.states.values()) {
      if (entry.state === entry.before) continue
      txn.put(entry.key, encodeState(this.table, entry.state))
      const defs = this.indexes.get(entry.collection)
      const texts = this.fulltext.get(entry.collection)
      if ((defs !== undefined && defs.length > 0) || texts !== undefined) {
        const before = materialize(entry.before, false)
        const after = materialize(entry.state, false)
        if (defs !== undefined && defs.length > 0) maintain(txn, defs, entry.id, before, after)
        if (texts !== undefined) {
          for (const fts of texts.values()) {
            if (before !== undefined) fts.remove(entry.id, before)
            if (after !== undefined) fts.add(entry.id, after)
          }
        }
      }
      const was = exists(entry.before)
      const is = exists(entry.state)
      if (was !== is) countDelta.set(entry.collection, (countDelta.get(entry.collection) ?? 0) + (is ? 1 : -1))
      entry.before = entry.state
    }
    for (const [collection, delta] of countDelta) {
      const key = countKey(collection)
      const current = txn.get(key)
      txn.put(key, u64Bytes((current === undefined ? 0 : readU64(current)) + delta))
    }
  }

  /**
   * New shared structures must be durable in the same transaction as the values using them.
   * Returns their ids, to mark persisted once the transaction has committed.
   */
  writeShapes (txn: StoreTxn): number[] {
    const ids: number[] = []
    for (const shape of this.table.unpersisted()) {
      txn.put(shapeKey(shape.id), encode(shape.keys))
      ids.push(shape.id)
    }
    return ids
  }

  /** Applies a change's membership ops (after `members.authorize` accepted it). */
  applyMembership (txn: StoreTxn, change: Change): boolean {
    if (!changesMembership(change) || !this.members.apply(change)) return false
    txn.put(metaKey('members'), this.members.encode())
    return true
  }

  /**
   * Appends a change to the log and moves the author's head in memory; `writeHeads` stores
   * the heads once per transaction (not once per change).
   */
  appendLog (txn: StoreTxn, change: Change, entry: StoredEntry, moved: Set<string>): void {
    txn.put(logKey(change.author, change.seq), encodeStoredEntry(entry))
    const key = hexOf(change.author)
    this.heads.set(key, { author: change.author, seq: change.seq, hash: entry.hash })
    moved.add(key)
  }

  writeHeads (txn: StoreTxn, moved: Set<string>): void {
    for (const key of moved) {
      const h = this.heads.get(key)!
      const head = new Uint8Array(40)
      head.set(u64Bytes(h.seq))
      head.set(h.hash, 8)
      txn.put(headKey(h.author), head)
    }
  }

  count (collection: string): number {
    const raw = this.store.get(countKey(collection))
    return raw === undefined ? 0 : readU64(raw)
  }

}
