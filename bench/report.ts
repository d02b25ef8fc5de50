/**
 * Benchmarks print one JSON object per line:
 *   {"bench":"engine.insert","value":123456,"unit":"ops/s","baseline":"lmdb.put","ratio":0.41}
 * A comparison is always measured side by side in the same run.
 */
export interface Result {
  bench: string
  value: number
  unit: string
  baseline?: string
  ratio?: number
  /** the goal the issue sets, when there is one */
  goal?: number
  note?: string
}

export function report (result: Result): void {
  process.stdout.write(JSON.stringify(result) + '\n')
}

/** Reports `ours` with a ratio against `base` (both already measured in this run). */
export function compare (ours: Omit<Result, 'baseline' | 'ratio'>, base: Result, higherIsBetter = true): void {
  const ratio = higherIsBetter ? ours.value / base.value : base.value / ours.value
  report({ ...ours, baseline: base.bench, ratio: Math.round(ratio * 1000) / 1000 })
}

/** Runs `fn` `rounds` times and returns the median of the per-round values it returns. */
export async function median (rounds: number, fn: () => Promise<number> | number): Promise<number> {
  const values: number[] = []
  for (let i = 0; i < rounds; i++) values.push(await fn())
  values.sort((a, b) => a - b)
  return values[Math.floor(values.length / 2)]!
}

/** Operations per second of `count` operations taking `ms` milliseconds. */
export function perSecond (count: number, ms: number): number {
  return Math.round(count / (ms / 1000))
}

/**
 * Runs the measurements in turns (a, b, c, a, b, c, …) and returns each one's median, so
 * that a change of load on a shared machine hits them alike instead of one of them. The
 * first `warmup` turns are not counted: the JIT compiles the hot paths of a JavaScript-heavy
 * side (ours) over the first tens of thousands of operations, and a long-running process
 * is past that.
 */
export async function interleaved (rounds: number, fns: ReadonlyArray<() => Promise<number> | number>, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn()
  const values: number[][] = fns.map(() => [])
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < fns.length; k++) values[k]!.push(await fns[k]!())
  }
  return values.map((v) => {
    v.sort((a, b) => a - b)
    return v[Math.floor(v.length / 2)]!
  })
}
