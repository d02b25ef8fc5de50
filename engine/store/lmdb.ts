/**
 * The durable Store: LMDB through lmdb-js, optionally page-encrypted.
 *
 * - Reads are synchronous memory-mapped lookups; every value read is checked against the
 *   CRC32 stored with it (see checksum.ts) and copied out of LMDB's reused buffers.
 * - `transact` runs its function inside an lmdb-js transaction callback. lmdb-js batches the
 *   callbacks of one event turn into one LMDB write transaction, so the function's writes
 *   are held in an Overlay and written only once it has returned (overlay.ts says why).
 *   With `overlappingSync: false` the promise resolves after the commit is fsync'd.
 * - Snapshots are LMDB read transactions.
 * - The directory is checked before LMDB opens it (lmdb-files.ts), because opening an
 *   encrypted environment the wrong way crashes the process.
 */
import { open as openLmdb } from 'lmdb'
import { resolve } from 'node:path'
import { BlazeError, CorruptionError, DatabaseLockedError, InvalidArgumentError } from '../errors.ts'
import { asyncFnError, checkKey, checkRange, checkValue, closedError, finishedError, isThenable, releasedError, type Bounds } from './checks.ts'
import { seal, unsealCopy, unsealOwn, unsealView } from './checksum.ts'
import { checkEncryptionKey, checkKeyAgainstFiles } from './lmdb-files.ts'
import { ABSENT, merge, Overlay } from './overlay.ts'
import type { Bytes, Entry, RangeOptions, Store, StoreSnapshot, StoreTxn } from './types.ts'

export interface LmdbStoreOptions {
  /** directory of the environment (data.mdb, lock.mdb, key.check); created if missing */
  path: string
  /** exactly 32 printable ASCII characters (never a Buffer: lmdb-js aborts on one); default: not encrypted */
  encryptionKey?: string
  /** initial size of the memory map in bytes; default: lmdb-js's, which grows as needed */
  mapSize?: number
}

/** The part of lmdb-js's API this store uses, typed as it behaves with binary encodings. */
interface ReadTxn { done (): void }
interface LmdbRangeOptions {
  start?: Bytes
  end?: Bytes
  exclusiveStart?: boolean
  inclusiveEnd?: boolean
  reverse?: boolean
  limit?: number
  transaction?: ReadTxn
}
interface LmdbDb {
  getBinaryFast (key: Bytes, options?: { transaction: ReadTxn }): Buffer | undefined
  getRange (options: LmdbRangeOptions): Iterable<{ key: Buffer, value: Buffer }>
  put (key: Bytes, value: Bytes): unknown
  remove (key: Bytes): unknown
  transaction<T> (fn: () => T): Promise<T>
  useReadTransaction (): ReadTxn
  close (): Promise<void>
  env: { writeTxn: unknown }
}

/** LMDB return codes that mean the file is damaged (lmdb.h) */
const CORRUPTION_CODES = new Set([
  -30797, // MDB_PAGE_NOTFOUND
  -30796, // MDB_CORRUPTED
  -30795, // MDB_PANIC
  -30794, // MDB_VERSION_MISMATCH
  -30793, // MDB_INVALID
  -30778, // MDB_BAD_CHECKSUM
  -30777 // MDB_CRYPTO_FAIL
])
// "Invalid dupdata flag": a node claims duplicates in a database that has none (MDB_BAD_TXN)
const CORRUPTION_TEXT = /MDB_PAGE_NOTFOUND|MDB_CORRUPTED|MDB_PANIC|MDB_INVALID|MDB_VERSION_MISMATCH|Invalid key size|Invalid dupdata flag/

/** The smallest key: reverse ranges must name it, or lmdb-js stops before it. */
const FIRST_KEY = Buffer.of(0)

/** Paths open in this process: lmdb-js shares one environment per path, so two stores would too. */
const openPaths = new Set<string>()

type Cursors = Set<Iterator<unknown>>

/** State shared by a store and the snapshots and transactions it hands out. */
class Core {
  readonly db: LmdbDb
  readonly path: string
  closed = false
  /** LMDB range iterators in use by store.range, closed before the environment is */
  readonly cursors: Cursors = new Set()
  readonly snapshots = new Set<LmdbSnapshot>()

  constructor (db: LmdbDb, path: string) {
    this.db = db
    this.path = path
  }

  checkOpen (): void {
    if (this.closed) throw closedError()
  }

  read (key: Bytes, transaction: ReadTxn | undefined): Bytes | undefined {
    let raw: Buffer | undefined
    try {
      raw = transaction === undefined ? this.db.getBinaryFast(key) : this.#readIn(key, transaction)
    } catch (error) {
      throw this.mapError(error)
    }
    if (raw === undefined) return undefined
    const value = unsealCopy(key, raw)
    if (value === undefined) throw this.damagedValue()
    return value
  }

  /**
   * lmdb-js's get prefers the current write transaction over the one it is given, so a
   * snapshot read made inside a transaction function would see uncommitted writes.
   */
  #readIn (key: Bytes, transaction: ReadTxn): Buffer | undefined {
    const env = this.db.env
    const writeTxn = env.writeTxn
    if (writeTxn === null || writeTxn === undefined) return this.db.getBinaryFast(key, { transaction })
    env.writeTxn = null
    try {
      return this.db.getBinaryFast(key, { transaction })
    } finally {
      env.writeTxn = writeTxn
    }
  }

  /** Checked entries from LMDB; `check` runs before each step, so a closed handle throws. */
  * entries (b: Bounds, limit: number, transaction: ReadTxn | undefined, cursors: Cursors, check: () => void): Generator<Entry, undefined, undefined> {
    if (b.empty || limit <= 0) return
    const options: LmdbRangeOptions = {}
    if (!b.reverse) {
      if (b.gte !== undefined) options.start = b.gte
      if (b.lt !== undefined) options.end = b.lt
    } else {
      options.reverse = true
      if (b.lt !== undefined) {
        options.start = b.lt
        options.exclusiveStart = true
      }
      options.end = b.gte ?? FIRST_KEY
      options.inclusiveEnd = true
    }
    if (limit !== Infinity) options.limit = limit
    if (transaction !== undefined) options.transaction = transaction
    check()
    let inner: Iterator<{ key: Buffer, value: Buffer }>
    try {
      inner = this.db.getRange(options)[Symbol.iterator]()
    } catch (error) {
      throw this.mapError(error)
    }
    cursors.add(inner)
    try {
      for (;;) {
        check()
        let step: IteratorResult<{ key: Buffer, value: Buffer }>
        try {
          step = inner.next()
        } catch (error) {
          throw this.mapError(error)
        }
        if (step.done === true) return
        const { key, value: raw } = step.value
        const value = unsealView(key, raw)
        if (value === undefined) throw this.damagedValue()
        yield { key, value }
      }
    } finally {
      if (cursors.delete(inner)) closeIterator(inner)
    }
  }

  mapError (error: unknown): unknown {
    return mapLmdbError(error, this.path)
  }

  damagedValue (): Error {
    return new CorruptionError(`a value stored in ${this.path} failed its checksum, so the data file is damaged; restore the store from a replica or a backup`)
  }
}

export class LmdbStore implements Store {
  readonly #core: Core
  #last: Promise<unknown> = Promise.resolve()
  #closing: Promise<void> | undefined

  private constructor (core: Core) {
    this.#core = core
  }

  /**
   * Opens (creating if needed) the environment in `options.path`.
   * Throws WrongPassphraseError / PassphraseRequiredError / InvalidArgumentError when the
   * key does not fit the files, CorruptionError when they are damaged, DatabaseLockedError
   * when this process already has the path open.
   */
  static open (options: LmdbStoreOptions): LmdbStore {
    if (options === null || typeof options !== 'object' || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidArgumentError('LmdbStore.open needs { path } naming a directory')
    }
    const { encryptionKey, mapSize } = options
    if (encryptionKey !== undefined) checkEncryptionKey(encryptionKey)
    if (mapSize !== undefined && (!Number.isSafeInteger(mapSize) || mapSize <= 0)) {
      throw new InvalidArgumentError(`mapSize must be a positive number of bytes, got ${String(mapSize)}`)
    }
    const path = resolve(options.path)
    if (openPaths.has(path)) {
      throw new DatabaseLockedError(`the store at ${path} is already open in this process; close it first or share the open store`)
    }
    checkKeyAgainstFiles(path, encryptionKey)
    let db: LmdbDb
    try {
      db = openLmdb({
        path,
        noSubdir: false,
        keyEncoding: 'binary',
        encoding: 'binary',
        // commits resolve only once fsync'd: the durability transact promises
        overlappingSync: false,
        ...(encryptionKey === undefined ? {} : { encryptionKey }),
        ...(mapSize === undefined ? {} : { mapSize })
      }) as unknown as LmdbDb
    } catch (error) {
      throw mapLmdbError(error, path)
    }
    openPaths.add(path)
    return new LmdbStore(new Core(db, path))
  }

  get path (): string {
    return this.#core.path
  }

  get (key: Bytes): Bytes | undefined {
    this.#core.checkOpen()
    checkKey(key)
    return this.#core.read(key, undefined)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    const core = this.#core
    core.checkOpen()
    const b = checkRange(options)
    return core.entries(b, b.limit, undefined, core.cursors, () => { core.checkOpen() })
  }

  snapshot (): StoreSnapshot {
    const core = this.#core
    core.checkOpen()
    let txn: ReadTxn
    try {
      txn = core.db.useReadTransaction()
    } catch (error) {
      throw core.mapError(error)
    }
    const snapshot = new LmdbSnapshot(core, txn)
    core.snapshots.add(snapshot)
    return snapshot
  }

  transact<T> (fn: (txn: StoreTxn) => T): Promise<T> {
    const core = this.#core
    if (core.closed) return Promise.reject(closedError())
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError('transact needs a function (txn) => result'))
    let committed: Promise<T>
    try {
      committed = core.db.transaction(() => {
        const txn = new LmdbTxn(core)
        let result: T
        try {
          result = fn(txn)
        } finally {
          txn.finish()
        }
        if (isThenable(result)) {
          Promise.resolve(result).catch(noop)
          throw asyncFnError()
        }
        txn.apply()
        return result
      })
    } catch (error) {
      return Promise.reject(core.mapError(error))
    }
    // Returned as is: a wrapping promise per transaction costs a third of the write rate.
    // Errors from the function arrive unchanged; LMDB errors from its reads are mapped
    // where they happen, and a failed commit (disk full…) is not damage.
    this.#last = committed
    return committed
  }

  async flushed (): Promise<void> {
    await this.#last.then(noop, noop)
  }

  close (): Promise<void> {
    if (this.#closing === undefined) {
      const core = this.#core
      core.closed = true
      this.#closing = (async () => {
        try {
          await this.#last
          for (const snapshot of core.snapshots) snapshot.release()
          closeAll(core.cursors)
          await core.db.close()
        } finally {
          openPaths.delete(core.path)
        }
      })()
    }
    return this.#closing
  }
}

class LmdbSnapshot implements StoreSnapshot {
  readonly #core: Core
  #txn: ReadTxn | undefined
  readonly #cursors: Cursors = new Set()

  constructor (core: Core, txn: ReadTxn) {
    this.#core = core
    this.#txn = txn
  }

  get (key: Bytes): Bytes | undefined {
    const txn = this.#open()
    checkKey(key)
    return this.#core.read(key, txn)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    const txn = this.#open()
    const b = checkRange(options)
    return this.#core.entries(b, b.limit, txn, this.#cursors, () => { this.#open() })
  }

  release (): void {
    const txn = this.#txn
    if (txn === undefined) return
    this.#txn = undefined
    this.#core.snapshots.delete(this)
    // cursors first: lmdb-js may abort the read transaction under them in done()
    closeAll(this.#cursors)
    txn.done()
  }

  #open (): ReadTxn {
    this.#core.checkOpen()
    if (this.#txn === undefined) throw releasedError()
    return this.#txn
  }
}

class LmdbTxn implements StoreTxn {
  readonly #core: Core
  // both made on first use: most transactions are a few puts and no range
  #overlay: Overlay | undefined
  #cursors: Cursors | undefined
  #finished = false

  constructor (core: Core) {
    this.#core = core
  }

  get (key: Bytes): Bytes | undefined {
    this.#checkActive()
    checkKey(key)
    const own = this.#overlay === undefined ? ABSENT : this.#overlay.lookup(key)
    if (own === ABSENT) return this.#core.read(key, undefined)
    return own === undefined ? undefined : unsealOwn(own)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    this.#checkActive()
    const b = checkRange(options)
    const check = (): void => { this.#checkActive() }
    const ops = this.#overlay === undefined ? [] : this.#overlay.within(b)
    const cursors = this.#cursors ??= new Set()
    if (ops.length === 0) return this.#core.entries(b, b.limit, undefined, cursors, check)
    // Overlay deletes may hide LMDB entries, so LMDB's part cannot be cut at the limit.
    const base = this.#core.entries(b, Infinity, undefined, cursors, check)
    return guard(merge(base, ops, b.reverse, b.limit, unsealOwn), check)
  }

  put (key: Bytes, value: Bytes): void {
    this.#checkActive()
    checkKey(key)
    checkValue(value)
    const overlay = this.#overlay ??= new Overlay()
    overlay.record(Buffer.from(key), seal(key, value))
  }

  delete (key: Bytes): void {
    this.#checkActive()
    checkKey(key)
    const overlay = this.#overlay ??= new Overlay()
    overlay.record(Buffer.from(key), undefined)
  }

  /** Ends the function's access; open range cursors are closed before LMDB is written. */
  finish (): void {
    this.#finished = true
    if (this.#cursors !== undefined) closeAll(this.#cursors)
  }

  /** Writes the overlay into the current LMDB write transaction. */
  apply (): void {
    if (this.#overlay === undefined) return
    const db = this.#core.db
    for (const { key, sealed } of this.#overlay.ops) {
      if (sealed === undefined) db.remove(key)
      else db.put(key, sealed)
    }
  }

  #checkActive (): void {
    if (this.#finished) throw finishedError()
  }
}

/** LMDB's own reports of damage become CorruptionError; anything else passes unchanged. */
function mapLmdbError (error: unknown, path: string): unknown {
  if (error instanceof BlazeError || !(error instanceof Error)) return error
  const code = (error as { code?: unknown }).code
  if ((typeof code === 'number' && CORRUPTION_CODES.has(code)) || CORRUPTION_TEXT.test(error.message)) {
    return new CorruptionError(`LMDB reports damage in ${path} (${error.message}); restore the store from a replica or a backup`, { cause: error })
  }
  return error
}

function * guard (inner: Iterator<Entry>, check: () => void): Generator<Entry, undefined, undefined> {
  try {
    for (;;) {
      check()
      const step = inner.next()
      if (step.done === true) return
      yield step.value
    }
  } finally {
    closeIterator(inner)
  }
}

function closeAll (cursors: Cursors): void {
  if (cursors.size === 0) return
  for (const cursor of [...cursors]) {
    cursors.delete(cursor)
    closeIterator(cursor)
  }
}

function closeIterator (it: Iterator<unknown>): void {
  try {
    it.return?.()
  } catch {
    // closing is best effort; the handle is unusable either way
  }
}

function noop (): void {}
