/**
 * The best `k` of a stream of scored hits in O(n log k) time and O(k) memory: a binary heap
 * whose root is the worst hit kept, so a newcomer is compared with one hit and most are
 * turned away without touching the heap.
 */
import { compareUtf8 } from '../codec/index.ts'

export interface Ranked {
  readonly id: string
  readonly score: number
}

/**
 * The result order: higher score first, then id ascending (UTF-8 byte order, as the query
 * engine sorts strings). Ids are unique, so this is a total order.
 */
export function ranksBefore (a: Ranked, b: Ranked): boolean {
  return a.score > b.score || (a.score === b.score && compareUtf8(a.id, b.id) < 0)
}

export class TopK<T extends Ranked> {
  readonly #k: number
  readonly #heap: T[] = []

  constructor (k: number) {
    this.#k = k
  }

  get size (): number {
    return this.#heap.length
  }

  /**
   * Whether a hit with this score and id would be kept. Callers check before doing the
   * work a hit needs (reading its document, running the filter).
   */
  admits (score: number, id: string): boolean {
    if (this.#heap.length < this.#k) return true
    const worst = this.#heap[0]
    return worst !== undefined && ranksBefore({ id, score }, worst)
  }

  /** Keeps the hit if it ranks among the best `k` so far. */
  push (hit: T): void {
    const heap = this.#heap
    if (heap.length < this.#k) {
      heap.push(hit)
      this.#up(heap.length - 1)
    } else if (heap.length > 0 && ranksBefore(hit, heap[0]!)) {
      heap[0] = hit
      this.#down(0)
    }
  }

  /** The hits kept, best first. */
  sorted (): T[] {
    return this.#heap.slice().sort((a, b) => ranksBefore(a, b) ? -1 : 1)
  }

  // the heap property: a parent ranks after (is worse than) its children
  #up (i: number): void {
    const heap = this.#heap
    const hit = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!ranksBefore(heap[parent]!, hit)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = hit
  }

  #down (i: number): void {
    const heap = this.#heap
    const n = heap.length
    const hit = heap[i]!
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && ranksBefore(heap[child]!, heap[child + 1]!)) child++
      if (!ranksBefore(hit, heap[child]!)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = hit
  }
}
