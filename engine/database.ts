/**
 * The facade: the `Database` that `open()` returns. It holds no logic of its own beyond
 * wiring: writes go to the LocalWriter, received changes to the RemoteApplier, both through
 * the one Committer (engine/commit/); indexes to the Catalog; the log is engine/log/.
 *
 * @example
 * import { open } from 'blazedb'
 * const db = await open()                       // in memory; pass { path } for LMDB on disk
 * const bugs = db.collection('bugs')
 * const id = await bugs.insert({ title: 'crash on sync', status: 'open' })
 * await bugs.update(id, { status: 'closed' })
 * bugs.get(id)                                  // { id, title: 'crash on sync', status: 'closed' }
 * await db.close()
 */
import { decodeFrame, encode, encodeFrame } from './codec/index.ts'
import { publicKeyFromPeerId, type Identity, type PeerIdString } from './crypto/identity.ts'
import { sha256 } from './crypto/hash.ts'
import { hexOf, type ChangeEvent, type Core } from './db/core.ts'
import { stateToValue } from './crdt/state.ts'
import { LocalWriter } from './db/local-writer.ts'
import { RemoteApplier, type ApplyResult } from './db/remote-apply.ts'
import { Collection, DirectBackend, TxBackend, type CollectionContext } from './db/collection.ts'
import { Catalog } from './db/catalog.ts'
import { Committer } from './commit/committer.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES } from './log/entry.ts'
import type { Batch } from './log/change-log.ts'
import type { Replica } from './replica.ts'
import { backupKey, writeBackup, type Progress } from './backup.ts'
import type { VersionVector } from './log/version-vector.ts'
import { metaKey, PREFIX, prefixRange } from './keys.ts'
import { ROLES, type Op, type Role } from './log/change.ts'
import { DatabaseClosedError, InvalidArgumentError, InvalidChangeError } from './errors.ts'

export type { OpenOptions } from './open.ts'

export type ChangeListener = (event: ChangeEvent) => void

/** What a query was, for timings. */
export type QueryKind = 'find' | 'page' | 'aggregate' | 'search' | 'explain'

/** Timings for metrics (node/metrics.ts): each local write, from the call until durable, and each query. */
export interface DatabaseObserver {
  write?: (seconds: number, ok: boolean) => void
  query?: (kind: QueryKind, seconds: number) => void
}

export interface Stats {
  changesLocal: number
  changesRemote: number
  held: number
  authors: number
}

export class Database implements Replica {
  /** database id (hex), the same on every replica */
  readonly id: string
  /** this device's peer id */
  readonly peerId: PeerIdString
  private readonly core: Core
  private readonly committer: Committer
  private readonly catalog: Catalog
  private readonly writer: LocalWriter
  private readonly applier: RemoteApplier
  private readonly listeners = new Set<ChangeListener>()
  private readonly observers = new Set<DatabaseObserver>()
  private readonly direct: DirectBackend
  private readonly collections = new Map<string, Collection>()
  private readonly context: CollectionContext
  private readonly release: () => void
  private readonly counters = { local: 0, remote: 0 }
  private closed = false

  private readonly location: { path: string, sealKey?: Uint8Array } | undefined

  /** @internal use `open()` */
  constructor (core: Core, makeId: () => string, release: () => void, location?: { path: string, sealKey?: Uint8Array }) {
    this.core = core
    this.location = location
    this.id = hexOf(core.dbId)
    this.peerId = core.identity.peerId
    this.committer = new Committer(core)
    this.catalog = new Catalog(core, this.committer)
    this.catalog.load()
    this.context = {
      makeId,
      catalog: this.catalog,
      collection: (name) => this.collection(name),
      subscribe: (listener) => this.subscribe(listener),
      time: (kind, fn) => this.time(kind, fn)
    }
    this.release = release
    this.writer = new LocalWriter(core, this.committer, (events) => this.emit(events), (seconds, ok) => {
      for (const o of this.observers) o.write?.(seconds, ok)
    })
    this.applier = new RemoteApplier(core, this.committer, (events) => this.emit(events))
    this.direct = new DirectBackend(core, this.writer)
  }

  private emit (events: ChangeEvent[]): void {
    for (const event of events) {
      if (event.origin === 'local') this.counters.local++
      else this.counters.remote++
      for (const listener of this.listeners) {
        try {
          listener(event)
        } catch (error) {
          process.emitWarning(`a BlazeDB change listener threw: ${String(error)}`)
        }
      }
    }
  }

  private checkOpen (): void {
    if (this.closed) throw new DatabaseClosedError('the database is closed; open it again')
  }

  collection (name: string): Collection {
    this.checkOpen()
    let c = this.collections.get(name)
    if (c === undefined) {
      c = new Collection(name, this.direct, this.context)
      this.collections.set(name, c)
    }
    return c
  }

  /**
   * Runs `fn`; every write made through `tx` becomes ONE change, committed atomically after
   * `fn` resolves — or nothing at all if `fn` throws. Reads through `tx` see its own writes.
   * Concurrent writes elsewhere merge with it field by field (last writer wins).
   */
  async transaction<T> (fn: (tx: { collection: (name: string) => Collection }) => Promise<T> | T): Promise<T> {
    this.checkOpen()
    const backend = new TxBackend(this.core)
    const collections = new Map<string, Collection>()
    const collection = (name: string): Collection => {
      let c = collections.get(name)
      if (c === undefined) collections.set(name, c = new Collection(name, backend, { ...this.context, collection }))
      return c
    }
    const result = await fn({ collection })
    backend.finish()
    if (backend.ops.length > 0) await this.writer.write(() => ({ ops: backend.ops, result: undefined }))
    return result
  }

  /**
   * Membership: the creator is the owner; owners and admins grant roles to other devices'
   * peer ids (each grant is a signed, replicated change). Only members' changes are accepted.
   */
  get members (): {
    grant: (peerId: string, role: Role) => Promise<void>
    revoke: (peerId: string) => Promise<void>
    roleOf: (peerId: string) => Role | null
    list: () => Array<{ peerId: PeerIdString, role: Role }>
  } {
    const core = this.core
    const write = async (op: Op): Promise<void> => { await this.writer.write(() => ({ ops: [op], result: undefined })) }
    return {
      grant: async (peerId, role) => {
        if (!ROLES.includes(role)) throw new InvalidArgumentError(`role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`)
        await write({ op: 'grant', peer: publicKeyFromPeerId(peerId), role })
      },
      revoke: async (peerId) => { await write({ op: 'revoke', peer: publicKeyFromPeerId(peerId) }) },
      roleOf: (peerId) => core.members.roleOf(publicKeyFromPeerId(peerId)),
      list: () => core.members.list().map((m) => ({ peerId: core.peerIdOf(m.key), role: m.role }))
    }
  }

  /** @internal see Collection.createIndex */
  async createIndex (collection: string, fields: string[], options: { name?: string, onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
    this.checkOpen()
    await this.catalog.createIndex(collection, fields, options)
  }

  /** @internal see Collection.createSearchIndex */
  async createSearchIndex (collection: string, fields: string[], options: { name?: string } = {}): Promise<void> {
    this.checkOpen()
    await this.catalog.createSearchIndex(collection, fields, options)
  }

  /** @internal see Collection.dropIndex */
  async dropIndex (collection: string, name: string): Promise<void> {
    this.checkOpen()
    await this.catalog.dropIndex(collection, name)
  }

  /** The indexes declared on this replica. */
  indexes (): Array<{ collection: string, name: string, fields: string[] }> { return this.catalog.list() }

  /** Hears the timing of every local write and query (for metrics). Returns a function that stops it. */
  observe (observer: DatabaseObserver): () => void {
    this.observers.add(observer)
    return () => { this.observers.delete(observer) }
  }

  private time<T> (kind: QueryKind, fn: () => T): T {
    if (this.observers.size === 0) return fn()
    const start = performance.now()
    try {
      return fn()
    } finally {
      const seconds = (performance.now() - start) / 1000
      for (const o of this.observers) o.query?.(kind, seconds)
    }
  }

  /** Calls `listener` for every applied change, local or remote. Returns an unsubscribe. */
  subscribe (listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** For each author, the highest seq this replica holds (durably) without gaps. */
  versionVector (): VersionVector { return this.core.log.versionVector() }

  /** For each author, the first seq still in this replica's log (1 until the log is truncated). */
  horizon (): VersionVector { return this.core.log.horizon(this.core.store) }

  /** How far a peer that holds `vv` is behind this replica: changes it lacks, and the age of the oldest (seconds). */
  lagOf (vv: VersionVector, nowMs = Date.now()): { changes: number, seconds: number } {
    const { changes, ms } = this.core.log.lag(this.core.store, vv, nowMs)
    return { changes, seconds: ms / 1000 }
  }

  /** The log's size: entries and their stored bytes. */
  logStats (): { entries: number, bytes: number } { return this.core.log.size() }

  /**
   * The signed changes this replica has beyond `vv`, as one frame for `applyChanges`. Each
   * author's run ends on a signed change, which vouches for the run through its hash chain.
   */
  changesSince (vv: VersionVector = {}): Uint8Array {
    const [batch] = this.changeBatches(vv, { maxBytes: Number.POSITIVE_INFINITY })
    return batch?.frame ?? encodeFrame(encodeChangeBatch([]), { type: FRAME_CHANGES })
  }

  /**
   * The changes beyond `vv` as a series of frames of about `maxBytes` each (default 1 MiB),
   * read from one snapshot. A frame is cut only after a signed change, so each frame can be
   * verified and applied on its own, in order. `upTo` is, per author, the last seq in it.
   * @throws BehindHorizonError when `vv` lacks changes this log no longer holds
   */
  * changeBatches (vv: VersionVector = {}, options: { maxBytes?: number } = {}): Generator<Batch> {
    this.checkOpen()
    const snapshot = this.core.store.snapshot()
    try {
      yield * this.core.log.batches(snapshot, vv, options.maxBytes ?? 1024 * 1024)
    } finally {
      snapshot.release()
    }
  }

  /**
   * Applies another replica's changes (bytes from `changesSince`). Verifies chains and
   * signatures first; duplicates are skipped; a bad run applies nothing from its first bad
   * change on and is reported in `rejected`; changes too far in the future are held.
   * Throws only when the bytes are not a change frame at all.
   */
  async applyChanges (bytes: Uint8Array): Promise<ApplyResult> {
    this.checkOpen()
    // a local API: allow big frames (sync itself sends bounded ones from changeBatches)
    const frame = decodeFrame(bytes, { maxPayloadBytes: 1024 * 1024 * 1024 })
    if (frame.type !== FRAME_CHANGES) throw new InvalidChangeError(`expected a change frame (type ${FRAME_CHANGES}), got type ${frame.type}; pass bytes from changesSince()`)
    return await this.applyChangeBatch(frame.payload)
  }

  /** Like `applyChanges`, for the payload of an already decoded change frame (protocols use it). */
  async applyChangeBatch (payload: Uint8Array): Promise<ApplyResult> {
    this.checkOpen()
    return await this.applier.applyEntries(decodeChangeBatch(payload))
  }

  /** Applies held changes whose clock is now within the allowed drift. */
  retryHeld (): Promise<number> { return this.applier.retryHeld() }

  /** SHA-256 (hex) of all document state and membership; equal on replicas that hold the same changes. */
  stateHash (): string {
    const snapshot = this.core.store.snapshot()
    try {
      const chunks: Uint8Array[] = []
      const add = (key: Uint8Array, canonical: Uint8Array): void => {
        const len = new Uint8Array(8)
        const view = new DataView(len.buffer)
        view.setUint32(0, key.length)
        view.setUint32(4, canonical.length)
        chunks.push(len, key, canonical)
      }
      add(metaKey('members'), this.core.members.encode())
      for (const { key, value } of snapshot.range(prefixRange(PREFIX.doc))) add(key, encode(stateToValue(this.core.stateOf(value))))
      return hexOf(sha256(...chunks))
    } finally {
      snapshot.release()
    }
  }

  stats (): Stats {
    return {
      changesLocal: this.counters.local,
      changesRemote: this.counters.remote,
      held: this.applier.heldCount(),
      authors: this.core.log.authors
    }
  }

  /**
   * Writes a backup of this replica to `file`: the store as of one snapshot, the identity and
   * key parameters, encrypted when the directory is (restore with `restoreBackup`). Writes
   * go on meanwhile; the backup holds what had committed when it started.
   */
  async backup (file: string, options: { onProgress?: Progress } = {}): Promise<{ entries: number, bytes: number }> {
    this.checkOpen()
    const location = this.location
    if (location === undefined) throw new InvalidArgumentError('an in-memory database has no data directory to back up; open it with { path }')
    await this.committer.idle()
    const snapshot = this.core.store.snapshot()
    try {
      return writeBackup({
        file,
        dir: location.path,
        dbId: this.id,
        reader: snapshot,
        entries: this.core.store.count({}),
        ...(location.sealKey === undefined ? {} : { key: backupKey(location.sealKey) }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress })
      })
    } finally {
      snapshot.release()
    }
  }

  /** Resolves once the store has durably taken a write now (a health check); rejects with why not. */
  async probe (): Promise<void> {
    this.checkOpen()
    const at = new Uint8Array(8)
    new DataView(at.buffer).setFloat64(0, Date.now())
    await this.committer.run((txn) => { txn.put(metaKey('probe'), at) })
  }

  /** @internal the device identity, for the node's libp2p peer key */
  deviceIdentity (): Identity { return this.core.identity }

  /** @internal the first change of a new database: its id commits to the owner's key */
  async writeGenesis (nonce: Uint8Array): Promise<void> {
    await this.writer.write(({ txn }) => {
      txn.put(metaKey('db'), this.core.dbId)
      return { ops: [{ op: 'genesis', nonce }], result: undefined }
    })
  }

  /** Waits for pending writes, then closes the store. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writer.close()
    await this.committer.idle()
    await this.core.store.close()
    this.listeners.clear()
    this.release()
  }
}

export { open } from './open.ts'
export { publicKeyFromPeerId }
