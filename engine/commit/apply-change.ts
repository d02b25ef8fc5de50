/**
 * The one function that applies a change — a local write or a received one — inside a
 * store transaction: authorization, membership, document merge, log append. Document states
 * are merged into a per-transaction cache and written (with their index entries, counts and
 * full-text postings) by `writeStates`, once per document per batch.
 *
 * Nothing here touches published memory: membership goes through the stage's copy, heads
 * through the log stage, full-text postings are queued to run after the commit.
 */
import type { StoreTxn } from '../store/types.ts'
import { exists, materialize, mergeRegister, type Register } from '../crdt/index.ts'
import { isDocOp, registerOf } from '../crdt/ops.ts'
import { encodeState } from '../db/state-codec.ts'
import type { Change } from '../log/change.ts'
import type { StoredEntry } from '../log/entry.ts'
import { countKey, docKey, metaKey, readU64, u64Bytes } from '../keys.ts'
import { changesMembership } from '../security/members.ts'
import { maintain } from '../index/indexes.ts'
import type { BlazeError } from '../errors.ts'
import type { Core } from '../db/core.ts'
import type { Stage } from './stage.ts'

/** A document's state within one transaction: as read (`before`) and as merged so far. */
export interface CachedDoc { key: Uint8Array, collection: string, id: string, before: Register[], state: Register[] }

/** Decoded document states of one transaction, so several ops on one document decode once. */
export class DocCache {
  readonly states = new Map<string, CachedDoc>()

  get (core: Core, txn: StoreTxn, collection: string, id: string): CachedDoc {
    const k = `${collection}\u0000${id}`
    let entry = this.states.get(k)
    if (entry === undefined) {
      const key = docKey(collection, id)
      const state = core.readState(txn, key) ?? []
      entry = { key, collection, id, before: state, state }
      this.states.set(k, entry)
    }
    return entry
  }
}

/** Where a change is applied: a transaction (or savepoint), its stage, its document cache. */
export interface Target {
  core: Core
  txn: StoreTxn
  stage: Stage
  cache: DocCache
}

/**
 * Applies one change whose chain and signature have been checked (or that this device just
 * made). Returns why its author may not make it — then nothing was written — or undefined.
 */
export function applyChange (t: Target, change: Change, entry: StoredEntry): BlazeError | undefined {
  const refused = t.stage.members.authorize(change)
  if (refused !== undefined) return refused
  if (changesMembership(change)) {
    const members = t.stage.membersForUpdate()
    if (members.apply(change)) t.txn.put(metaKey('members'), members.encode())
  }
  const { ops, hlc, author } = change
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!
    if (!isDocOp(op)) continue
    const doc = t.cache.get(t.core, t.txn, op.c, op.id)
    const next = mergeRegister(doc.state, registerOf(op, hlc, author, i))
    if (next !== undefined) doc.state = next
  }
  t.stage.log.append(t.txn, change, entry)
  t.core.clock.observe(change.hlc)
  return undefined
}

/**
 * Writes the cached documents that changed, their index entries and the collection counts;
 * queues their full-text postings for after the commit.
 */
export function writeStates (t: Target): void {
  const { core, txn, cache, stage } = t
  // counts first: their reads then look through fewer of this transaction's own writes
  const countDelta = new Map<string, number>()
  for (const entry of cache.states.values()) {
    if (entry.state === entry.before) continue
    const was = exists(entry.before)
    const is = exists(entry.state)
    if (was !== is) countDelta.set(entry.collection, (countDelta.get(entry.collection) ?? 0) + (is ? 1 : -1))
  }
  for (const [collection, delta] of countDelta) {
    const key = countKey(collection)
    const current = txn.get(key)
    txn.put(key, u64Bytes((current === undefined ? 0 : readU64(current)) + delta))
  }
  for (const entry of cache.states.values()) {
    if (entry.state === entry.before) continue
    txn.put(entry.key, encodeState(core.table, entry.state))
    const defs = core.indexes.get(entry.collection)
    const texts = core.fulltext.get(entry.collection)
    if ((defs !== undefined && defs.length > 0) || texts !== undefined) {
      const before = materialize(entry.before, false)
      const after = materialize(entry.state, false)
      if (defs !== undefined && defs.length > 0) maintain(txn, defs, entry.id, before, after)
      if (texts !== undefined) {
        const id = entry.id
        stage.onPublish(() => {
          for (const fts of texts.values()) {
            if (before !== undefined) fts.remove(id, before)
            if (after !== undefined) fts.add(id, after)
          }
        })
      }
    }
    entry.before = entry.state
  }
}
