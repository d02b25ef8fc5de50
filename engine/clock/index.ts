/**
 * Hybrid logical clock with an injectable time source.
 *
 * @example
 * const clock = new HybridClock({ now: () => 1_000 })
 * const a = clock.now(); const b = clock.now() // b > a, same millisecond, counter + 1
 */
export { HybridClock, makeHlc, hlcMs, hlcCounter, isHlc } from './hlc.ts'
export type { Hlc, HlcOptions } from './hlc.ts'
