/**
 * What LmdbStore and its snapshots and transactions share: the lmdb-js handle, checked
 * reads (every value's CRC verified, copied out of LMDB's buffers), range cursors that are
 * closed before the environment is, and the mapping of LMDB's damage reports.
 */
import { BlazeError, CorruptionError } from '../errors.ts'
import { closedError, type Bounds } from './checks.ts'
import { unsealCopy, unsealView } from './checksum.ts'
import type { ReusePin } from './lmdb-reuse-pin.ts'
import type { Bytes, Entry } from './types.ts'

/** The part of lmdb-js's API this store uses, typed as it behaves with binary encodings. */
export interface ReadTxn { done (): void }
interface LmdbRangeOptions {
  start?: Bytes
  end?: Bytes
  exclusiveStart?: boolean
  inclusiveEnd?: boolean
  reverse?: boolean
  limit?: number
  transaction?: ReadTxn
}
export interface LmdbDb {
  getBinaryFast (key: Bytes, options?: { transaction: ReadTxn }): Buffer | undefined
  getRange (options: LmdbRangeOptions): Iterable<{ key: Buffer, value: Buffer }>
  getKeysCount (options: { start?: Bytes, end?: Bytes }): number
  put (key: Bytes, value: Bytes): unknown
  remove (key: Bytes): unknown
  transaction<T> (fn: () => T): Promise<T>
  useReadTransaction (): ReadTxn
  /** ends the shared read transaction unless a range iterator still holds it */
  resetReadTxn (): void
  close (): Promise<void>
  getStats (): { entryCount: number }
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

export type Cursors = Set<Iterator<unknown>>

/** State shared by a store and the snapshots and transactions it hands out. */
export class Core {
  readonly db: LmdbDb
  readonly path: string
  closed = false
  /** LMDB range iterators in use by store.range, closed before the environment is */
  readonly cursors: Cursors = new Set()
  readonly snapshots = new Set<{ release: () => void }>()
  /** encrypted environments only: told when writes start and read transactions end (lmdb-reuse-pin.ts) */
  pin: ReusePin | undefined

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
        const entry = step.value
        const value = unsealView(entry.key, entry.value)
        if (value === undefined) throw this.damagedValue()
        // lmdb-js makes a fresh entry (key and value copied) per step: reuse it
        entry.value = value
        yield entry
      }
    } finally {
      if (cursors.delete(inner)) closeIterator(inner)
      // a store range iterator has let go of its read transaction
      if (cursors === this.cursors) this.pin?.settle()
    }
  }

  mapError (error: unknown): unknown {
    return mapLmdbError(error, this.path)
  }

  damagedValue (): Error {
    return new CorruptionError(`a value stored in ${this.path} failed its checksum, so the data file is damaged; restore the store from a replica or a backup`)
  }
}

/** LMDB's own reports of damage become CorruptionError; anything else passes unchanged. */
export function mapLmdbError (error: unknown, path: string): unknown {
  if (error instanceof BlazeError || !(error instanceof Error)) return error
  const code = (error as { code?: unknown }).code
  if ((typeof code === 'number' && CORRUPTION_CODES.has(code)) || CORRUPTION_TEXT.test(error.message)) {
    return new CorruptionError(`LMDB reports damage in ${path} (${error.message}); restore the store from a replica or a backup`, { cause: error })
  }
  return error
}

export function closeAll (cursors: Cursors): void {
  if (cursors.size === 0) return
  for (const cursor of [...cursors]) {
    cursors.delete(cursor)
    closeIterator(cursor)
  }
}

export function closeIterator (it: Iterator<unknown>): void {
  try {
    it.return?.()
  } catch {
    // closing is best effort; the handle is unusable either way
  }
}
