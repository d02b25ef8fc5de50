/**
 * Opening a database: the data directory (identity, keys, the record of which database it
 * holds), the store (verified for damage first), the clock (restarted above everything this
 * replica issued or observed), and the genesis of a new database.
 *
 * Creating and opening are distinct: a directory that held a database and lost its store
 * is a StoreMissingError, never a new, empty database with a new id.
 */
import { randomBytes } from 'node:crypto'
import { decode, StructureTable } from './codec/index.ts'
import { HybridClock, type Hlc } from './clock/hlc.ts'
import { identityFromSeed, type Identity } from './crypto/identity.ts'
import { sha256 } from './crypto/hash.ts'
import { MemoryStore } from './store/memory.ts'
import { LmdbStore } from './store/lmdb.ts'
import { verifyLmdbFiles } from './store/lmdb-verify.ts'
import type { Store } from './store/types.ts'
import { prepareDataDir, readDatabaseRecord, storePresent, writeDatabaseRecord } from './data-dir.ts'
import { lockDir } from './db/lock.ts'
import { Core, hexOf } from './db/core.ts'
import { newId } from './db/ids.ts'
import { CLOCK_KEY } from './commit/committer.ts'
import { decodeChange } from './log/change.ts'
import { metaKey, PREFIX, prefixRange } from './keys.ts'
import { CorruptionError, InvalidArgumentError, NoDatabaseError, StoreMissingError } from './errors.ts'
import { Database } from './database.ts'

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
  /**
   * Whether a directory with no database may get a new one (default true). Never creates
   * where a database was: a directory whose store is missing or empty is a StoreMissingError.
   */
  create?: boolean
  /** @internal fault injection in tests: wraps the store the database writes through */
  wrapStore?: (store: Store) => Store
}

function parseDbId (dbId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(dbId)) throw new InvalidArgumentError(`a database id is 32 hex characters (as \`blaze id\` prints), got ${JSON.stringify(dbId)}`)
  return Uint8Array.from(Buffer.from(dbId, 'hex'))
}

function missingStore (path: string, dbId: string): Error {
  return new StoreMissingError(`${path} held database ${dbId}, but its store (${path}/db) is missing or empty; restore the directory from a backup, or move it aside and join the database again from a replica (blaze join)`)
}

/** Opens a database (creating a new one in a new directory, unless `create: false`). */
export async function open (options: OpenOptions = {}): Promise<Database> {
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
  const now = options.now ?? Date.now
  let store: Store
  let identity: Identity
  let release = (): void => {}
  let record: { dbId: string } | undefined
  let location: { path: string, sealKey?: Uint8Array } | undefined
  const path = options.path
  if (path === undefined) {
    store = new MemoryStore()
    identity = identityFromSeed(options.seed ?? random(32))
  } else {
    record = readDatabaseRecord(path)
    const present = storePresent(path)
    if (record !== undefined && !present) throw missingStore(path, record.dbId)
    if (record === undefined && !present && options.create === false) {
      throw new NoDatabaseError(`${path} holds no database; create one with \`blaze init --data ${path}\`, or join one with \`blaze join CODE --data ${path}\``)
    }
    const prepared = prepareDataDir(path, options.passphrase, random)
    release = lockDir(path)
    try {
      const storeOptions = prepared.storeKey === undefined ? { path: prepared.storePath } : { path: prepared.storePath, encryptionKey: prepared.storeKey }
      if (options.verify !== false && present) await verifyLmdbFiles(storeOptions)
      store = await LmdbStore.open(storeOptions)
    } catch (error) {
      release()
      throw error
    }
    identity = prepared.identity
    location = prepared.sealKey === undefined ? { path } : { path, sealKey: prepared.sealKey }
  }
  if (options.wrapStore !== undefined) store = options.wrapStore(store)
  try {
    const shapes: Array<{ id: number, keys: string[] }> = []
    for (const { key, value } of store.range(prefixRange(PREFIX.shape))) {
      shapes.push({ id: new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(1), keys: decode(value) as string[] })
    }
    const table = new StructureTable(shapes)
    const clock = new HybridClock(options.maxDriftMs === undefined ? { now } : { now, maxDriftMs: options.maxDriftMs })
    const stored = store.get(metaKey('db'))
    const makeId = (): string => newId(now(), random)
    if (stored !== undefined) {
      const dbId = hexOf(stored)
      if (record !== undefined && record.dbId !== dbId) {
        throw new CorruptionError(`${path!}/database.json says this directory holds database ${record.dbId}, but its store holds ${dbId}; restore the directory from a backup`)
      }
      if (options.dbId !== undefined && options.dbId !== dbId) {
        throw new InvalidArgumentError(`this data directory holds database ${dbId}, not ${options.dbId}; use another directory to join ${options.dbId}`)
      }
      if (path !== undefined && record === undefined) writeDatabaseRecord(path, dbId)
      const core = new Core(store, table, identity, stored.slice(), clock)
      restoreClock(core)
      return new Database(core, makeId, release, location)
    }
    if (record !== undefined) throw missingStore(path!, record.dbId)
    let db: Database
    if (options.dbId !== undefined) {
      const dbId = parseDbId(options.dbId)
      await store.transact((txn) => { txn.put(metaKey('db'), dbId) })
      db = new Database(new Core(store, table, identity, dbId, clock), makeId, release, location)
    } else {
      // a new database: its id commits to the owner's key, so any replica can check the genesis
      const nonce = random(16)
      const dbId = sha256(identity.publicKey, nonce).slice(0, 16)
      db = new Database(new Core(store, table, identity, dbId, clock), makeId, release, location)
      await db.writeGenesis(nonce)
    }
    if (path !== undefined) writeDatabaseRecord(path, db.id)
    return db
  } catch (error) {
    await store.close()
    release()
    throw error
  }
}

/** Starts the clock above every timestamp this replica issued or observed (stored at each commit). */
function restoreClock (core: Core): void {
  const raw = core.store.get(CLOCK_KEY)
  if (raw !== undefined) core.clock.restore(new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getBigUint64(0) as Hlc)
  // directories written before the clock was stored: an author's clock only grows, so its
  // newest change carries its newest timestamp
  for (const head of core.log.heads()) {
    const entry = core.log.entry(core.store, head.author, head.seq)
    if (entry !== undefined) core.clock.restore(decodeChange(entry.bytes).hlc)
  }
}
