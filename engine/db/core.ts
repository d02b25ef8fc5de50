/**
 * The engine's state as committed: the store, the shared structures, the device identity,
 * the clock, the change log, the membership and the index catalog — and the reads over
 * document states that every layer uses. Nothing here writes: changes go through the
 * commit path (engine/commit/), which publishes into this state after each commit.
 */
import type { StructureTable } from '../codec/index.ts'
import type { HybridClock, Hlc } from '../clock/hlc.ts'
import type { Identity, PeerIdString } from '../crypto/identity.ts'
import type { Store, StoreReader } from '../store/types.ts'
import { materialize, type Doc, type Register } from '../crdt/index.ts'
import { decodeState, decodeWholeDoc } from './state-codec.ts'
import type { Op } from '../log/change.ts'
import { ChangeLog } from '../log/change-log.ts'
import { countKey, docKey, metaKey, readU64 } from '../keys.ts'
import { Members } from '../security/members.ts'
import type { IndexDef } from '../index/indexes.ts'
import type { FullTextIndex } from '../fulltext/index.ts'

export type Origin = 'local' | 'remote'

/** What subscribers receive for every applied change. */
export interface ChangeEvent {
  origin: Origin
  author: PeerIdString
  seq: number
  hlc: Hlc
  ops: readonly Op[]
}

export { hexOf } from '../keys.ts'

export class Core {
  readonly store: Store
  readonly table: StructureTable
  readonly identity: Identity
  readonly dbId: Uint8Array
  readonly clock: HybridClock
  readonly log: ChangeLog
  /** membership as committed (replaced, never mutated, by the committer) */
  members: Members
  /** secondary indexes per collection (this replica's configuration), as committed */
  readonly indexes = new Map<string, IndexDef[]>()
  /** full-text indexes per collection (in memory, rebuilt at open from their stored definitions) */
  readonly fulltext = new Map<string, Map<string, FullTextIndex>>()

  constructor (store: Store, table: StructureTable, identity: Identity, dbId: Uint8Array, clock: HybridClock) {
    this.store = store
    this.table = table
    this.identity = identity
    this.dbId = dbId
    this.clock = clock
    this.members = Members.decode(dbId, store.get(metaKey('members')))
    this.log = new ChangeLog(store)
  }

  peerIdOf (author: Uint8Array): PeerIdString { return this.log.peerIdOf(author) }

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

  count (collection: string): number {
    const raw = this.store.get(countKey(collection))
    return raw === undefined ? 0 : readU64(raw)
  }
}
