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
 * - With an encryption key, LMDB's cache of decrypted pages could serve a page as it was
 *   before it was freed and rewritten; a ReusePin (lmdb-reuse-pin.ts) keeps LMDB from reusing
 *   pages while a cached copy of them may be left.
 * - The directory is checked before LMDB opens it (lmdb-files.ts), because opening an
 *   encrypted environment the wrong way crashes the process.
 */
import { open as openLmdb } from 'lmdb'
import { resolve } from 'node:path'
import { DatabaseLockedError, InvalidArgumentError } from '../errors.ts'
import { asyncFnError, checkKey, checkRange, checkValue, closedError, finishedError, isThenable, releasedError } from './checks.ts'
import { seal, unsealOwn } from './checksum.ts'
import { closeAll, closeIterator, Core, mapLmdbError, type Cursors, type LmdbDb, type ReadTxn } from './lmdb-core.ts'
import { checkEncryptionKey, checkKeyAgainstFiles } from './lmdb-files.ts'
import { ReusePin } from './lmdb-reuse-pin.ts'
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

/** Paths open in this process: lmdb-js shares one environment per path, so two stores would too. */
const openPaths = new Set<string>()

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
    const core = new Core(db, path)
    if (encryptionKey !== undefined) {
      try {
        core.pin = new ReusePin(db, () => core.closed || core.snapshots.size > 0 || core.cursors.size > 0)
      } catch (error) {
        void db.close().catch(noop)
        throw mapLmdbError(error, path)
      }
    }
    openPaths.add(path)
    return new LmdbStore(core)
  }

  get path (): string {
    return this.#core.path
  }

  /** LMDB's own count of entries, kept in its meta data (O(1)); `verify` checks it. */
  entryCount (): number {
    const core = this.#core
    core.checkOpen()
    try {
      return core.db.getStats().entryCount
    } catch (error) {
      throw core.mapError(error)
    }
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

  count (options: RangeOptions = {}): number {
    const core = this.#core
    core.checkOpen()
    const b = checkRange({ ...(options.gte === undefined ? {} : { gte: options.gte }), ...(options.lt === undefined ? {} : { lt: options.lt }) })
    if (b.empty) return 0
    // LMDB counts natively, without reading values (no checksums involved)
    return core.db.getKeysCount({ ...(b.gte === undefined ? {} : { start: b.gte }), ...(b.lt === undefined ? {} : { end: b.lt }) })
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
    const pin = core.pin
    // encrypted stores only: now and then, new transactions wait for those in flight (lmdb-reuse-pin.ts)
    const committed = pin?.mustWait() === true
      ? new Promise<T>((resolve) => { pin.wait(() => { resolve(this.#submit(fn)) }) })
      : this.#submit(fn)
    this.#last = committed
    return committed
  }

  #submit<T> (fn: (txn: StoreTxn) => T): Promise<T> {
    const core = this.#core
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
        try {
          txn.apply()
        } catch (error) {
          // LMDB marks its transaction failed, so the batch does not commit half of this
          throw core.mapError(error)
        }
        return result
      })
    } catch (error) {
      return Promise.reject(core.mapError(error))
    }
    core.pin?.wrote(committed)
    // Returned as is: a wrapping promise per transaction costs a third of the write rate.
    // Errors from the function arrive unchanged; LMDB errors from its reads are mapped
    // where they happen, and a failed commit (disk full…) is not damage.
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
          await this.#last.then(noop, noop)
          for (const snapshot of core.snapshots) snapshot.release()
          closeAll(core.cursors)
          core.pin?.close()
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
    this.#core.pin?.settle()
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

function noop (): void {}
