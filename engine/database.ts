/**
 * The facade: `open()` and the `Database` it returns.
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
import { randomBytes } from 'node:crypto'
import { decode, decodeFrame, encode, encodeFrame, StructureTable } from './codec/index.ts'
import { HybridClock } from './clock/hlc.ts'
import { identityFromSeed, publicKeyFromPeerId, type Identity, type PeerIdString } from './crypto/identity.ts'
import { sha256 } from './crypto/hash.ts'
import { MemoryStore } from './store/memory.ts'
import { LmdbStore } from './store/lmdb.ts'
import { verifyLmdbFiles } from './store/lmdb-verify.ts'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Store } from './store/types.ts'
import { prepareDataDir } from './data-dir.ts'
import { lockDir } from './db/lock.ts'
import { Core, hexOf, type ChangeEvent } from './db/core.ts'
import { stateToValue } from './crdt/state.ts'
import { LocalWriter } from './db/local-writer.ts'
import { RemoteApplier, type ApplyResult } from './db/remote-apply.ts'
import { Collection, DirectBackend, TxBackend, type CollectionContext } from './db/collection.ts'
import { newId } from './db/ids.ts'
import { decodeChangeBatch, decodeStoredEntry, encodeChangeBatch, FRAME_CHANGES, type SignedChange } from './log/entry.ts'
import type { VersionVector } from './log/version-vector.ts'
import { authorRange, collectionRange, docKeyParts, indexDefKey, logKey, metaKey, PREFIX, prefixRange, readU64, u64Bytes } from './keys.ts'
import { encodeDef, indexKey, indexRange, type IndexDef } from './index/indexes.ts'
import { checkName } from './db/patch.ts'
import { FullTextIndex } from './fulltext/index.ts'
import { decodeChange, ROLES, type Op, type Role } from './log/change.ts'
import { DatabaseClosedError, InvalidArgumentError, InvalidChangeError } from './errors.ts'

export interface OpenOptions {
  /** data directory; omitted: an in-memory database */
  path?: string
  /** encrypts everything at rest (scrypt-derived keys); needed again at every open */
  passphrase?: string
  /** join this existing database (hex id, as `db.id`) instead of creating a new one */
  dbId?: string
  /** wall clock in ms; default Date.now */
  now?: () => number
  /** how far ahead a remote change's clock may be before it is held; default 5 min */
  maxDriftMs?: number
  /** randomness for ids and keys; default crypto.randomBytes */
  random?: (n: number) => Uint8Array
  /** device seed for an in-memory database (a data directory keeps its own) */
  seed?: Uint8Array
  /**
   * Before opening an existing data directory, read all of it in a child process (default
   * true). LMDB has no page checksums: a damaged page can crash the reading process or hide
   * entries, so this turns such damage into a CorruptionError at open. Costs one full read.
   */
  verify?: boolean
}

export type ChangeListener = (event: ChangeEvent) => void

export interface Stats {
  changesLocal: number
  changesRemote: number
  held: number
  authors: number
}

export class Database {
  /** database id (hex), the same on every replica */
  readonly id: string
  /** this device's peer id */
  readonly peerId: PeerIdString
  private readonly core: Core
  private readonly writer: LocalWriter
  private readonly applier: RemoteApplier
  private readonly listeners = new Set<ChangeListener>()
  private readonly direct: DirectBackend
  private readonly collections = new Map<string, Collection>()
  private readonly context: CollectionContext
  private readonly release: () => void
  private readonly counters = { local: 0, remote: 0 }
  private closed = false

  /** @internal use `open()` */
  constructor (core: Core, makeId: () => string, release: () => void) {
    this.core = core
    this.id = hexOf(core.dbId)
    this.peerId = core.identity.peerId
    this.context = {
      makeId,
      collection: (name) => this.collection(name),
      subscribe: (listener) => this.subscribe(listener),
      createIndex: async (collection, fields, options) => { await this.createIndex(collection, fields, options) },
      dropIndex: async (collection, name) => { await this.dropIndex(collection, name) },
      createSearchIndex: async (collection, fields, options) => { await this.createSearchIndex(collection, fields, options) },
      searchIndex: (collection, name) => this.searchIndex(collection, name),
      indexedOn: (collection, field) => (this.core.indexes.get(collection) ?? []).some((d) => d.fields[0] === field)
    }
    this.release = release
    this.writer = new LocalWriter(core, (events) => this.emit(events))
    this.applier = new RemoteApplier(core, (events) => this.emit(events))
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
    checkName(collection, 'a collection name')
    if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== 'string' || f === '' || f.split('.').some((p) => p === ''))) {
      throw new InvalidArgumentError(`an index needs one or more field paths, such as "status" or ["status", "owner.name"], got ${JSON.stringify(fields)}`)
    }
    const name = options.name ?? fields.join('+')
    const existing = this.core.indexes.get(collection)?.find((d) => d.name === name)
    if (existing !== undefined) {
      if (existing.fields.join('\u0000') === fields.join('\u0000')) return
      throw new InvalidArgumentError(`${collection} already has an index named ${name} on other fields; drop it first or choose another name`)
    }
    const core = this.core
    await core.store.transact((txn) => {
      const seq = txn.get(metaKey('indexseq'))
      const id = (seq === undefined ? 0 : readU64(seq)) + 1
      const def: IndexDef = { id, collection, name, fields: [...fields] }
      txn.put(metaKey('indexseq'), u64Bytes(id))
      txn.put(indexDefKey(collection, name), encodeDef(def))
      const total = core.count(collection)
      const utf8 = new TextEncoder()
      let done = 0
      for (const { key, value } of txn.range(collectionRange(collection))) {
        const doc = core.docOf(value)
        if (doc !== undefined) {
          const id = docKeyParts(key).id
          txn.put(indexKey(def, id, doc), utf8.encode(id))
        }
        if (++done % 1000 === 0) options.onProgress?.(done, total)
      }
      options.onProgress?.(total, total)
      // from here on every transaction maintains it
      core.addIndex(def)
    })
  }

  /** @internal see Collection.createSearchIndex */
  async createSearchIndex (collection: string, fields: string[], options: { name?: string } = {}): Promise<void> {
    this.checkOpen()
    checkName(collection, 'a collection name')
    const name = options.name ?? fields.join('+')
    const existing = this.core.fulltext.get(collection)?.get(name)
    if (existing !== undefined) {
      if (existing.fields.join('\u0000') === fields.join('\u0000')) return
      throw new InvalidArgumentError(`${collection} already has a search index named ${name} on other fields; choose another name`)
    }
    const index = new FullTextIndex({ fields }) // validates the fields
    const core = this.core
    await core.store.transact((txn) => {
      txn.put(searchDefKey(collection, name), encode(fields))
      for (const { key, value } of txn.range(collectionRange(collection))) {
        const doc = core.docOf(value)
        if (doc !== undefined) index.add(docKeyParts(key).id, doc)
      }
      registerSearchIndex(core, collection, name, index)
    })
  }

  /** @internal see Collection.search */
  searchIndex (collection: string, name?: string): FullTextIndex | undefined {
    const all = this.core.fulltext.get(collection)
    if (all === undefined) return undefined
    return name === undefined ? all.values().next().value : all.get(name)
  }

  /** @internal see Collection.dropIndex */
  async dropIndex (collection: string, name: string): Promise<void> {
    this.checkOpen()
    const core = this.core
    const def = core.indexes.get(collection)?.find((d) => d.name === name)
    if (def === undefined) return
    await core.store.transact((txn) => {
      for (const { key } of txn.range(indexRange(def.id))) txn.delete(key)
      txn.delete(indexDefKey(collection, name))
      core.indexes.set(collection, (core.indexes.get(collection) ?? []).filter((d) => d.name !== name))
    })
  }

  /** The indexes declared on this replica. */
  indexes (): Array<{ collection: string, name: string, fields: string[] }> {
    return [...this.core.indexes.values()].flat().map((d) => ({ collection: d.collection, name: d.name, fields: [...d.fields] }))
  }

  /** Calls `listener` for every applied change, local or remote. Returns an unsubscribe. */
  subscribe (listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** For each author, the highest seq this replica holds (durably) without gaps. */
  versionVector (): VersionVector {
    const vv: VersionVector = {}
    for (const { key, value } of this.core.store.range(prefixRange(PREFIX.head))) {
      vv[this.core.peerIdOf(key.subarray(1))] = readU64(value)
    }
    return vv
  }

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
   */
  * changeBatches (vv: VersionVector = {}, options: { maxBytes?: number } = {}): Generator<{ frame: Uint8Array, upTo: VersionVector, count: number }> {
    this.checkOpen()
    const maxBytes = options.maxBytes ?? 1024 * 1024
    let entries: SignedChange[] = []
    let upTo: VersionVector = {}
    let bytes = 0
    const snapshot = this.core.store.snapshot()
    try {
      // authors in the order of their first missing change's clock, so that a grant reaches
      // the receiver before the changes of the member it admits
      const runs: Array<{ author: Uint8Array, from: number, hlc: bigint }> = []
      for (const { key, value } of snapshot.range(prefixRange(PREFIX.head))) {
        const author = key.slice(1)
        const have = vv[this.core.peerIdOf(author)] ?? 0
        if (have >= readU64(value)) continue
        const first = snapshot.get(logKey(author, have + 1))
        const hlc = first === undefined ? 0n : decodeChange(decodeStoredEntry(first).bytes).hlc
        runs.push({ author, from: have + 1, hlc })
      }
      runs.sort((a, b) => a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0)
      for (const { author, from } of runs) {
        const peerId = this.core.peerIdOf(author)
        let seq = from
        for (const entry of snapshot.range(authorRange(PREFIX.log, author, from))) {
          const e = decodeStoredEntry(entry.value)
          entries.push({ bytes: e.bytes, signature: e.signature })
          upTo[peerId] = seq++
          bytes += e.bytes.length + 69
          if (bytes >= maxBytes && e.signature !== null) {
            yield { frame: encodeFrame(encodeChangeBatch(entries), { type: FRAME_CHANGES }), upTo, count: entries.length }
            entries = []
            upTo = {}
            bytes = 0
          }
        }
      }
      if (entries.length > 0) yield { frame: encodeFrame(encodeChangeBatch(entries), { type: FRAME_CHANGES }), upTo, count: entries.length }
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
      authors: this.core.heads.size
    }
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
    await this.core.store.close()
    this.listeners.clear()
    this.release()
  }
}

const SEARCH_DEF = 'fts\u0000'
function searchDefKey (collection: string, name: string): Uint8Array { return metaKey(`${SEARCH_DEF}${collection}\u0000${name}`) }
function searchDefKeyEnd (): Uint8Array { return metaKey('fts\u0001') }

function registerSearchIndex (core: Core, collection: string, name: string, index: FullTextIndex): void {
  let all = core.fulltext.get(collection)
  if (all === undefined) core.fulltext.set(collection, all = new Map())
  all.set(name, index)
}

function parseDbId (dbId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(dbId)) throw new InvalidArgumentError(`a database id is 32 hex characters (as \`blaze id\` prints), got ${JSON.stringify(dbId)}`)
  return Uint8Array.from(Buffer.from(dbId, 'hex'))
}

/** Opens (or creates) a database. */
export async function open (options: OpenOptions = {}): Promise<Database> {
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
  const now = options.now ?? Date.now
  let store: Store
  let identity: Identity
  let release = (): void => {}
  if (options.path === undefined) {
    store = new MemoryStore()
    identity = identityFromSeed(options.seed ?? random(32))
  } else {
    const prepared = prepareDataDir(options.path, options.passphrase, random)
    release = lockDir(options.path)
    try {
      const storeOptions = prepared.storeKey === undefined ? { path: prepared.storePath } : { path: prepared.storePath, encryptionKey: prepared.storeKey }
      if (options.verify !== false && existsSync(join(prepared.storePath, 'data.mdb'))) await verifyLmdbFiles(storeOptions)
      store = await LmdbStore.open(prepared.storeKey === undefined ? { path: prepared.storePath } : { path: prepared.storePath, encryptionKey: prepared.storeKey })
    } catch (error) {
      release()
      throw error
    }
    identity = prepared.identity
  }
  try {
    const shapes: Array<{ id: number, keys: string[] }> = []
    for (const { key, value } of store.range(prefixRange(PREFIX.shape))) {
      shapes.push({ id: new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(1), keys: decode(value) as string[] })
    }
    const table = new StructureTable(shapes)
    const searchDefs: Array<{ collection: string, name: string, fields: string[] }> = []
    for (const { key, value } of store.range({ gte: searchDefKey('', ''), lt: searchDefKeyEnd() })) {
      const [collection, name] = Buffer.from(key.subarray(5)).toString('utf8').split('\u0000')
      searchDefs.push({ collection: collection!, name: name!, fields: decode(value) as string[] })
    }
    const clock = new HybridClock(options.maxDriftMs === undefined ? { now } : { now, maxDriftMs: options.maxDriftMs })
    const stored = store.get(metaKey('db'))
    const makeId = (): string => newId(now(), random)
    if (stored !== undefined) {
      if (options.dbId !== undefined && options.dbId !== hexOf(stored)) {
        throw new InvalidArgumentError(`this data directory holds database ${hexOf(stored)}, not ${options.dbId}; use another directory to join ${options.dbId}`)
      }
      const core = new Core(store, table, identity, stored.slice(), clock)
      // full-text indexes live in memory: rebuild them from the documents
      for (const def of searchDefs) {
        const index = new FullTextIndex({ fields: def.fields })
        for (const { key, value } of store.range(collectionRange(def.collection))) {
          const doc = core.docOf(value)
          if (doc !== undefined) index.add(docKeyParts(key).id, doc)
        }
        registerSearchIndex(core, def.collection, def.name, index)
      }
      return new Database(core, makeId, release)
    }
    if (options.dbId !== undefined) {
      const dbId = parseDbId(options.dbId)
      await store.transact((txn) => { txn.put(metaKey('db'), dbId) })
      return new Database(new Core(store, table, identity, dbId, clock), makeId, release)
    }
    // a new database: its id commits to the owner's key, so any replica can check the genesis
    const nonce = random(16)
    const dbId = sha256(identity.publicKey, nonce).slice(0, 16)
    const db = new Database(new Core(store, table, identity, dbId, clock), makeId, release)
    await db.writeGenesis(nonce)
    return db
  } catch (error) {
    await store.close()
    release()
    throw error
  }
}

export { publicKeyFromPeerId }
