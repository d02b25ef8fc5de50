/**
 * A store wrapper for fault injection: commits that fail on demand (as a full disk would:
 * nothing of the transaction is written) and reads that throw for chosen keys (an op that
 * fails halfway through a change).
 */
import type { Bytes, Entry, RangeOptions, Store, StoreSnapshot, StoreTxn } from '../../engine/store/types.ts'

export class InjectedFault extends Error {
  constructor (what: string) {
    super(`injected fault: ${what}`)
    this.name = 'InjectedFault'
  }
}

export class FaultyStore implements Store {
  readonly inner: Store
  /** the next N commits fail */
  failCommits = 0
  /** reads inside a transaction throw for keys this accepts */
  poison: ((key: Bytes) => boolean) | undefined
  constructor (inner: Store) { this.inner = inner }

  get (key: Bytes): Bytes | undefined { return this.inner.get(key) }
  range (options: RangeOptions): IterableIterator<Entry> { return this.inner.range(options) }
  snapshot (): StoreSnapshot { return this.inner.snapshot() }
  count (options: RangeOptions): number { return this.inner.count(options) }
  flushed (): Promise<void> { return this.inner.flushed() }
  close (): Promise<void> { return this.inner.close() }

  transact<T> (fn: (txn: StoreTxn) => T): Promise<T> {
    const fail = this.failCommits > 0
    if (fail) this.failCommits--
    return this.inner.transact((txn) => {
      const result = fn(this.wrap(txn))
      // thrown after the function ran: the store applies none of its writes
      if (fail) throw new InjectedFault('commit failed (disk full)')
      return result
    })
  }

  private wrap (txn: StoreTxn): StoreTxn {
    const poison = this.poison
    if (poison === undefined) return txn
    return {
      get: (key) => { if (poison(key)) throw new InjectedFault('read failed'); return txn.get(key) },
      range: (options) => txn.range(options),
      put: (key, value) => { txn.put(key, value) },
      delete: (key) => { txn.delete(key) }
    }
  }
}

/** A store key that is the document key of `id` (any collection). */
export function isDocKeyOf (id: string): (key: Bytes) => boolean {
  const tail = Buffer.from(`\u0000${id}`)
  return (key) => key[0] === 0x44 && Buffer.from(key).subarray(key.length - tail.length).equals(tail)
}

/** The store without one metadata key (as a directory written before that key existed). */
export function hideKey (store: Store, name: string): Store {
  const key = Buffer.concat([Buffer.of(0x4d), Buffer.from(name)])
  const hidden = (k: Bytes): boolean => Buffer.compare(Buffer.from(k), key) === 0
  return {
    get: (k) => hidden(k) ? undefined : store.get(k),
    range: (o) => store.range(o),
    snapshot: () => store.snapshot(),
    count: (o) => store.count(o),
    transact: (fn) => store.transact(fn),
    flushed: () => store.flushed(),
    close: () => store.close()
  }
}
