/**
 * A small seeded PRNG (sfc32, seeded through splitmix32), so a simulation's world is a pure
 * function of its seed: the same seed gives the same topology, writes and faults.
 *
 * @example
 * const rng = new Prng(42)
 * rng.int(10)            // 0..9, the same on every run with seed 42
 * const child = rng.fork() // an independent stream, e.g. one per node
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = splitmix()
    this.b = splitmix()
    this.c = splitmix()
    this.d = splitmix()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** uniform 32-bit unsigned integer */
  u32 (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** uniform in [0, 1) */
  float (): number { return this.u32() / 2 ** 32 }

  /** uniform integer in [0, n) */
  int (n: number): number { return Math.floor(this.float() * n) }

  /** uniform integer in [lo, hi] */
  range (lo: number, hi: number): number { return lo + this.int(hi - lo + 1) }

  chance (p: number): boolean { return this.float() < p }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[this.int(items.length)]!
  }

  /** picks by weight: `{ insert: 3, delete: 1 }` */
  weighted<K extends string> (weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>
    let r = this.float() * entries.reduce((sum, [, w]) => sum + w, 0)
    for (const [key, w] of entries) {
      if ((r -= w) < 0) return key
    }
    return entries[entries.length - 1]![0]
  }

  /** a shuffled copy */
  shuffle<T> (items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  /** `k` distinct items */
  sample<T> (items: readonly T[], k: number): T[] { return this.shuffle(items).slice(0, k) }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }

  /** an independent generator, seeded from this one */
  fork (): Prng { return new Prng(this.u32()) }
}

/** A seed from `SIM_SEED` (decimal, or any string, hashed), else `fallback`. */
export function seedFromEnv (fallback: number, value = process.env.SIM_SEED): number {
  if (value === undefined || value === '') return fallback
  if (/^\d+$/.test(value)) return Number(BigInt(value) & 0xffffffffn)
  let h = 0x811c9dc5
  for (const ch of value) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
  return h
}
