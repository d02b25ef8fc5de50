/**
 * The ordered key-value interface every engine layer stores through.
 *
 * Keys and values are bytes; keys sort bytewise (unsigned, shorter prefix first).
 * Reads are synchronous (LMDB's read path is a memory-mapped lookup; a promise per read
 * would cost more than the read). Writes are grouped in `transact`, which runs its
 * function serialised with every other write, applies all of its puts and deletes
 * atomically or none of them (if the function throws), and resolves only when the
 * batch is durable.
 */
export type Bytes = Uint8Array

export interface RangeOptions {
  /** inclusive lower bound */
  gte?: Bytes
  /** exclusive upper bound */
  lt?: Bytes
  reverse?: boolean
  limit?: number
}

export interface Entry { key: Bytes, value: Bytes }

export interface StoreReader {
  get (key: Bytes): Bytes | undefined
  range (options: RangeOptions): IterableIterator<Entry>
}

/** A consistent view of the store as of when it was taken. Call `release()` when done. */
export interface StoreSnapshot extends StoreReader {
  release (): void
}

/**
 * The handle a `transact` function writes through. `get` sees this transaction's own
 * writes and those of every transaction committed or ordered before it; `range` sees the
 * store as of the start of the transaction function plus this transaction's own writes.
 */
export interface StoreTxn extends StoreReader {
  put (key: Bytes, value: Bytes): void
  delete (key: Bytes): void
}

export interface Store {
  get (key: Bytes): Bytes | undefined
  range (options: RangeOptions): IterableIterator<Entry>
  snapshot (): StoreSnapshot
  /** How many keys lie in the range (`reverse` and `limit` are ignored). */
  count (options: RangeOptions): number
  /**
   * Runs `fn` serialised with all other transactions. If `fn` throws (or returns a rejected
   * value), none of its writes happen and the promise rejects with that error. Otherwise the
   * writes are committed atomically and the promise resolves with `fn`'s result once they
   * are durable (survive a process kill and a power cut, as far as fsync promises).
   * `fn` must be synchronous.
   */
  transact<T> (fn: (txn: StoreTxn) => T): Promise<T>
  /** Resolves once every transaction started so far is durable. */
  flushed (): Promise<void>
  close (): Promise<void>
}
