/**
 * A savepoint inside a store transaction: writes are held here and reach the parent
 * transaction only on `release()`; `rollback()` forgets them. The commit path gives every
 * local write of a group its own savepoint, so a write that throws halfway (an op the
 * merge refuses, a limit) leaves the group's transaction exactly as it was before it.
 *
 * Reads see the parent plus this savepoint's own writes, with the parent's semantics.
 */
import { checkKey, checkRange, checkValue, keyString } from './checks.ts'
import type { Bytes, Entry, RangeOptions, StoreTxn } from './types.ts'

interface Write { key: Bytes, value: Bytes | undefined }

export class Savepoint implements StoreTxn {
  readonly #parent: StoreTxn
  /** key (as a latin1 string, which sorts bytewise) → the last write to it */
  readonly #writes = new Map<string, Write>()

  constructor (parent: StoreTxn) {
    this.#parent = parent
  }

  get (key: Bytes): Bytes | undefined {
    const own = this.#writes.get(keyString(key))
    return own === undefined ? this.#parent.get(key) : own.value
  }

  put (key: Bytes, value: Bytes): void {
    // checked now, so a bad key fails the write that made it, not the whole group
    checkKey(key)
    checkValue(value)
    this.#writes.set(keyString(key), { key, value })
  }

  delete (key: Bytes): void {
    checkKey(key)
    this.#writes.set(keyString(key), { key, value: undefined })
  }

  * range (options: RangeOptions): IterableIterator<Entry> {
    const b = checkRange(options)
    if (b.empty) return
    const gte = b.gte === undefined ? undefined : keyString(b.gte)
    const lt = b.lt === undefined ? undefined : keyString(b.lt)
    const own = [...this.#writes].filter(([k]) => (gte === undefined || k >= gte) && (lt === undefined || k < lt))
    own.sort(b.reverse ? (x, y) => (x[0] < y[0] ? 1 : -1) : (x, y) => (x[0] < y[0] ? -1 : 1))
    const { limit: _limit, ...unlimited } = options
    let left = b.limit
    let o = 0
    for (const entry of this.#parent.range(unlimited)) {
      const k = keyString(entry.key)
      // own writes that sort before this parent entry come first
      while (o < own.length && (b.reverse ? own[o]![0] > k : own[o]![0] < k)) {
        const w = own[o++]![1]
        if (w.value !== undefined) { yield { key: w.key, value: w.value }; if (--left <= 0) return }
      }
      if (o < own.length && own[o]![0] === k) {
        const w = own[o++]![1]
        if (w.value === undefined) continue
        yield { key: w.key, value: w.value }
      } else {
        yield entry
      }
      if (--left <= 0) return
    }
    for (; o < own.length; o++) {
      const w = own[o]![1]
      if (w.value !== undefined) { yield { key: w.key, value: w.value }; if (--left <= 0) return }
    }
  }

  /** Hands the writes to the parent transaction. */
  release (): void {
    for (const { key, value } of this.#writes.values()) {
      if (value === undefined) this.#parent.delete(key)
      else this.#parent.put(key, value)
    }
    this.#writes.clear()
  }

  /** Forgets the writes. */
  rollback (): void {
    this.#writes.clear()
  }
}
