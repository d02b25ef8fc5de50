/**
 * Hybrid logical clock: 48-bit wall-clock milliseconds + 16-bit counter, packed in a bigint
 * so that comparison is plain `<`. Time comes from an injectable source, so tests drive it.
 *
 * Drift rule (DESIGN.md): a remote timestamp more than `maxDriftMs` ahead of the local clock
 * is not observed (the change carrying it is held by the caller until it is within drift),
 * so one device with a fast clock cannot make its writes win every conflict.
 */
import { InvalidArgumentError } from '../errors.ts'

export type Hlc = bigint & { readonly __brand: 'Hlc' }

const COUNTER_BITS = 16n
const COUNTER_MAX = 0xffff
const MS_MAX = 2 ** 48 - 1

export function makeHlc (ms: number, counter: number): Hlc {
  if (!Number.isInteger(ms) || ms < 0 || ms > MS_MAX) throw new InvalidArgumentError(`HLC milliseconds out of range: ${ms}`)
  if (!Number.isInteger(counter) || counter < 0 || counter > COUNTER_MAX) throw new InvalidArgumentError(`HLC counter out of range: ${counter}`)
  return ((BigInt(ms) << COUNTER_BITS) | BigInt(counter)) as Hlc
}

export function hlcMs (hlc: Hlc): number { return Number(hlc >> COUNTER_BITS) }
export function hlcCounter (hlc: Hlc): number { return Number(hlc & 0xffffn) }

export function isHlc (value: unknown): value is Hlc {
  return typeof value === 'bigint' && value >= 0n && value < (1n << 64n)
}

export interface HlcOptions {
  /** wall-clock source in ms; default `Date.now` */
  now?: () => number
  /** how far ahead of the local clock a remote timestamp may be; default 5 minutes */
  maxDriftMs?: number
}

export class HybridClock {
  readonly maxDriftMs: number
  private readonly wall: () => number
  private ms = 0
  private counter = 0

  constructor (options: HlcOptions = {}) {
    this.wall = options.now ?? Date.now
    this.maxDriftMs = options.maxDriftMs ?? 5 * 60_000
  }

  /** A new timestamp for a local event, greater than every timestamp issued or observed. */
  now (): Hlc {
    const wall = Math.floor(this.wall())
    if (wall > this.ms) {
      this.ms = wall
      this.counter = 0
    } else if (this.counter < COUNTER_MAX) {
      this.counter++
    } else {
      // counter exhausted within one millisecond: borrow the next millisecond
      this.ms++
      this.counter = 0
    }
    return makeHlc(this.ms, this.counter)
  }

  /** Whether a remote timestamp is within the allowed drift of the local wall clock. */
  withinDrift (remote: Hlc): boolean {
    return hlcMs(remote) <= Math.max(this.wall(), this.ms) + this.maxDriftMs
  }

  /** Advances the clock past a remote timestamp; ignored (returns false) beyond the drift. */
  observe (remote: Hlc): boolean {
    if (!this.withinDrift(remote)) return false
    const ms = hlcMs(remote)
    const counter = hlcCounter(remote)
    if (ms > this.ms || (ms === this.ms && counter > this.counter)) {
      this.ms = ms
      this.counter = counter
    }
    return true
  }

  /**
   * Moves the clock up to a timestamp this replica itself stored (at open: the newest it
   * issued or observed before a restart). Unlike `observe`, no drift rule: it was accepted.
   */
  restore (stored: Hlc): void {
    const ms = hlcMs(stored)
    const counter = hlcCounter(stored)
    if (ms > this.ms || (ms === this.ms && counter > this.counter)) {
      this.ms = ms
      this.counter = counter
    }
  }

  /** The latest timestamp issued or observed. */
  last (): Hlc { return makeHlc(this.ms, this.counter) }
}
