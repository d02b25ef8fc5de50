/**
 * The k smallest items of a stream under a comparator, holding at most k at a time: a
 * binary max-heap whose root is the largest kept item, evicted when a smaller one comes.
 */
export class TopK<T> {
  private readonly items: T[] = []
  private readonly k: number
  private readonly cmp: (a: T, b: T) => number

  constructor (k: number, cmp: (a: T, b: T) => number) {
    this.k = k
    this.cmp = cmp
  }

  get size (): number { return this.items.length }

  /** whether k items are kept */
  get full (): boolean { return this.items.length >= this.k }

  /** the largest kept item (the first to be evicted) */
  worst (): T | undefined { return this.items[0] }

  add (item: T): void {
    const h = this.items
    if (h.length < this.k) {
      h.push(item)
      this.up(h.length - 1)
    } else if (h.length > 0 && this.cmp(item, h[0]!) < 0) {
      h[0] = item
      this.down(0)
    }
  }

  /** The kept items, smallest first (the heap is consumed). */
  drain (): T[] {
    return this.items.sort(this.cmp)
  }

  private up (i: number): void {
    const h = this.items
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.cmp(h[i]!, h[parent]!) <= 0) return
      swap(h, i, parent)
      i = parent
    }
  }

  private down (i: number): void {
    const h = this.items
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let top = i
      if (l < h.length && this.cmp(h[l]!, h[top]!) > 0) top = l
      if (r < h.length && this.cmp(h[r]!, h[top]!) > 0) top = r
      if (top === i) return
      swap(h, i, top)
      i = top
    }
  }
}

function swap<T> (h: T[], i: number, j: number): void {
  const t = h[i]!
  h[i] = h[j]!
  h[j] = t
}
