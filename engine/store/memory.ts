/**
 * An in-memory Store for tests and simulations: a persistent B+tree whose root is swapped
 * atomically when a transaction succeeds. Snapshots are old roots, so they cost nothing to
 * take and never see later writes.
 *
 * It behaves like `LmdbStore` where callers can tell: transaction functions run
 * asynchronously (in a later macrotask, batched like LMDB's write batches), values are
 * copied in and out, and closed or released handles throw the same errors.
 * "Durable" here means applied: nothing survives the process.
 */
import { InvalidArgumentError } from '../errors.ts'
import { EMPTY, insert, lookup, remove, scan, type Edit, type Node } from './btree.ts'
import { asyncFnError, checkKey, checkRange, checkValue, closedError, finishedError, isThenable, keyString, releasedError, stringKey, type Bounds } from './checks.ts'
import type { Bytes, Entry, RangeOptions, Store, StoreSnapshot, StoreTxn } from './types.ts'

interface Queued {
  fn: (txn: StoreTxn) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export class MemoryStore implements Store {
  #root: Node = EMPTY
  #queue: Queued[] = []
  #scheduled = false
  #closed = false
  #last: Promise<unknown> = Promise.resolve()
  readonly #snapshots = new Set<MemorySnapshot>()

  get (key: Bytes): Bytes | undefined {
    this.#checkOpen()
    checkKey(key)
    const value = lookup(this.#root, keyString(key))
    return value === undefined ? undefined : Buffer.from(value)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    this.#checkOpen()
    return rangeOf(this.#root, options, () => { this.#checkOpen() })
  }

  count (options: RangeOptions = {}): number {
    let n = 0
    for (const _ of this.range({ ...(options.gte === undefined ? {} : { gte: options.gte }), ...(options.lt === undefined ? {} : { lt: options.lt }) })) n++
    return n
  }

  snapshot (): StoreSnapshot {
    this.#checkOpen()
    const snapshot = new MemorySnapshot(this.#root, this.#snapshots, () => { this.#checkOpen() })
    this.#snapshots.add(snapshot)
    return snapshot
  }

  transact<T> (fn: (txn: StoreTxn) => T): Promise<T> {
    if (this.#closed) return Promise.reject(closedError())
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError('transact needs a function (txn) => result'))
    const promise = new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject })
    })
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => { this.#runBatch() })
    }
    this.#last = promise.then(noop, noop)
    return promise
  }

  async flushed (): Promise<void> {
    await this.#last
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#last
    for (const snapshot of this.#snapshots) snapshot.release()
    this.#root = EMPTY
  }

  #runBatch (): void {
    this.#scheduled = false
    const batch = this.#queue
    this.#queue = []
    for (const { fn, resolve, reject } of batch) {
      const txn = new MemoryTxn(this.#root)
      let result: unknown
      try {
        result = fn(txn)
        txn.finish()
        if (isThenable(result)) {
          Promise.resolve(result).catch(noop)
          throw asyncFnError()
        }
      } catch (error) {
        txn.finish()
        reject(error)
        continue
      }
      this.#root = txn.root
      resolve(result)
    }
  }

  #checkOpen (): void {
    if (this.#closed) throw closedError()
  }
}

class MemorySnapshot implements StoreSnapshot {
  #root: Node | undefined
  readonly #owner: Set<MemorySnapshot>
  readonly #checkStore: () => void

  constructor (root: Node, owner: Set<MemorySnapshot>, checkStore: () => void) {
    this.#root = root
    this.#owner = owner
    this.#checkStore = checkStore
  }

  get (key: Bytes): Bytes | undefined {
    const root = this.#open()
    checkKey(key)
    const value = lookup(root, keyString(key))
    return value === undefined ? undefined : Buffer.from(value)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    return rangeOf(this.#open(), options, () => { this.#open() })
  }

  release (): void {
    this.#root = undefined
    this.#owner.delete(this)
  }

  #open (): Node {
    this.#checkStore()
    if (this.#root === undefined) throw releasedError()
    return this.#root
  }
}

class MemoryTxn implements StoreTxn {
  root: Node
  #edit: Edit = {}
  #finished = false

  constructor (root: Node) {
    this.root = root
  }

  get (key: Bytes): Bytes | undefined {
    this.#checkActive()
    checkKey(key)
    const value = lookup(this.root, keyString(key))
    return value === undefined ? undefined : Buffer.from(value)
  }

  range (options: RangeOptions = {}): IterableIterator<Entry> {
    this.#checkActive()
    // Later writes of this transaction must not change the tree this range walks.
    this.#edit = {}
    return rangeOf(this.root, options, () => { this.#checkActive() })
  }

  put (key: Bytes, value: Bytes): void {
    this.#checkActive()
    checkKey(key)
    checkValue(value)
    this.root = insert(this.root, keyString(key), Buffer.from(value), this.#edit)
  }

  delete (key: Bytes): void {
    this.#checkActive()
    checkKey(key)
    this.root = remove(this.root, keyString(key), this.#edit)
  }

  finish (): void {
    this.#finished = true
  }

  #checkActive (): void {
    if (this.#finished) throw finishedError()
  }
}

function rangeOf (root: Node, options: RangeOptions, check: () => void): IterableIterator<Entry> {
  return entries(root, checkRange(options), check)
}

function * entries (root: Node, b: Bounds, check: () => void): Generator<Entry, undefined, undefined> {
  if (b.empty) return
  let left = b.limit
  const it = scan(root, b.gte === undefined ? undefined : keyString(b.gte), b.lt === undefined ? undefined : keyString(b.lt), b.reverse)
  for (;;) {
    check()
    const step = it.next()
    if (step.done === true) return
    const [k, v] = step.value
    yield { key: stringKey(k), value: Buffer.from(v) }
    if (--left <= 0) return
  }
}

function noop (): void {}
