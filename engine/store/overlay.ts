/**
 * The writes of one LMDB transaction function, held back until the function returns.
 *
 * lmdb-js batches the transaction callbacks of one event turn into one LMDB write
 * transaction and does not undo the puts of a callback that throws, so a callback that
 * wrote straight to LMDB and then threw would leave half of its writes in the batch.
 * Writes therefore go here first and reach LMDB only once the function has returned.
 */
import { keyString, type Bounds } from './checks.ts'
import type { Bytes, Entry } from './types.ts'

/** A put (`sealed` holds value ‖ checksum) or a delete (`sealed` undefined). */
export interface Op { key: Buffer, sealed: Buffer | undefined }

export const ABSENT: unique symbol = Symbol('absent')

/** Below this many writes a lookup scans them instead of keeping a Map. */
const SCAN_LIMIT = 8

export class Overlay {
  /** every write, in the order made; replayed in order, the last write to a key wins */
  readonly ops: Op[] = []
  /** key string → index in `ops` of the last write to that key; built on demand */
  #index: Map<string, number> | undefined

  record (key: Buffer, sealed: Buffer | undefined): void {
    this.ops.push({ key, sealed })
    this.#index?.set(keyString(key), this.ops.length - 1)
  }

  /** The sealed value written to `key`, undefined if deleted, ABSENT if untouched. */
  lookup (key: Bytes): Buffer | undefined | typeof ABSENT {
    const ops = this.ops
    if (ops.length === 0) return ABSENT
    if (this.#index === undefined && ops.length <= SCAN_LIMIT) {
      for (let i = ops.length - 1; i >= 0; i--) {
        const op = ops[i]!
        if (op.key.length === key.length && op.key.equals(key)) return op.sealed
      }
      return ABSENT
    }
    const i = this.#indexMap().get(keyString(key))
    return i === undefined ? ABSENT : ops[i]!.sealed
  }

  /** The last write to each key within the bounds, in range order. */
  within (b: Bounds): Op[] {
    if (this.ops.length === 0) return []
    const gte = b.gte === undefined ? undefined : keyString(b.gte)
    const lt = b.lt === undefined ? undefined : keyString(b.lt)
    const hits: Array<[string, Op]> = []
    for (const [k, i] of this.#indexMap()) {
      if ((gte === undefined || k >= gte) && (lt === undefined || k < lt)) hits.push([k, this.ops[i]!])
    }
    hits.sort(b.reverse ? (x, y) => (x[0] < y[0] ? 1 : -1) : (x, y) => (x[0] < y[0] ? -1 : 1))
    return hits.map((h) => h[1])
  }

  #indexMap (): Map<string, number> {
    if (this.#index === undefined) {
      this.#index = new Map()
      for (let i = 0; i < this.ops.length; i++) this.#index.set(keyString(this.ops[i]!.key), i)
    }
    return this.#index
  }
}

/**
 * Merges entries from LMDB (`base`, in range order) with overlay writes (`ops`, in the same
 * order); an overlay write replaces the LMDB entry of the same key, a delete hides it.
 */
export function * merge (base: Iterator<Entry>, ops: Op[], reverse: boolean, limit: number, value: (sealed: Buffer) => Bytes): Generator<Entry, undefined, undefined> {
  if (limit <= 0) return
  let left = limit
  let o = 0
  try {
    let next = base.next()
    while (next.done !== true || o < ops.length) {
      const op = ops[o]
      let order: number
      if (next.done === true) order = 1
      else if (op === undefined) order = -1
      else order = reverse ? Buffer.compare(op.key, next.value.key) : Buffer.compare(next.value.key, op.key)
      if (order < 0) {
        yield next.value as Entry
        next = base.next()
      } else {
        if (order === 0) next = base.next()
        o++
        if (op!.sealed === undefined) continue
        yield { key: Buffer.from(op!.key), value: value(op!.sealed) }
      }
      if (--left <= 0) return
    }
  } finally {
    base.return?.()
  }
}
