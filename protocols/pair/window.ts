/**
 * One pairing window on the member: a one-time code, the role it grants, its expiry, and the
 * tries left. It is the single owner of that state; the responder asks it for admission before
 * each exchange and reports how the exchange ended.
 *
 * Invariants:
 * 1. At most one exchange runs at a time; a START while one runs is refused (BUSY).
 * 2. Every admitted exchange counts as a try until it succeeds — an abandoned one too — so a
 *    peer gets one online guess per try, and `maxTries` failures close the window.
 * 3. After the n-th failure the next try is accepted only `tryDelayMs · n` later.
 * 4. Success uses the code up: the window is done, `joined` resolves. Expiry, too many tries
 *    or cancel make `joined` reject; the window never reopens.
 */
import { MAX_TRIES, TRY_DELAY_MS } from './constants.ts'
import { PairingClosedError, PairingCodeUsedError, PairingExpiredError, PairingRateLimitedError, type PairingError } from './errors.ts'
import { ERROR_CODES } from './constants.ts'

export type PairRole = 'admin' | 'writer' | 'reader'
export interface Joined { peerId: string, role: PairRole }
export type WindowState = 'open' | 'used' | 'expired' | 'closed'

export interface WindowInit {
  code: string
  role: PairRole
  expiresAt: number
  now: () => number
  maxTries?: number
  tryDelayMs?: number
}

export class PairingWindow {
  readonly code: string
  readonly role: PairRole
  readonly expiresAt: number
  /** resolves with the device that joined; rejects with a PairingError when the window closes unused */
  readonly joined: Promise<Joined>
  private stateValue: WindowState = 'open'
  private closeReason: PairingError | undefined
  private failures = 0
  private busy = false
  private nextTryAt = 0
  private readonly now: () => number
  private readonly maxTries: number
  private readonly tryDelayMs: number
  private resolve!: (j: Joined) => void
  private reject!: (e: Error) => void
  private timer: NodeJS.Timeout | undefined

  constructor (init: WindowInit) {
    this.code = init.code
    this.role = init.role
    this.expiresAt = init.expiresAt
    this.now = init.now
    this.maxTries = init.maxTries ?? MAX_TRIES
    this.tryDelayMs = init.tryDelayMs ?? TRY_DELAY_MS
    this.joined = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject })
    // nobody has to await `joined`; an unobserved rejection must not crash the process
    this.joined.catch(() => {})
    this.timer = setTimeout(() => { this.expireIfDue() }, Math.max(0, init.expiresAt - init.now()))
    this.timer.unref?.()
  }

  get state (): WindowState {
    this.expireIfDue()
    return this.stateValue
  }

  get triesLeft (): number { return this.maxTries - this.failures }

  /** Admits one exchange, or throws the typed error that tells the joiner why not. */
  admit (): void {
    const state = this.state
    if (state !== 'open') throw this.refusal()
    if (this.busy) throw new PairingRateLimitedError('another device is pairing with this code right now; try again in a moment', ERROR_CODES.busy)
    const wait = this.nextTryAt - this.now()
    if (wait > 0) throw new PairingRateLimitedError(`too many tries in a row: wait ${Math.ceil(wait / 1000)} s and try again`)
    this.busy = true
  }

  /** The exchange failed (wrong code, abandoned, malformed). Returns whether the window is still open. */
  fail (): boolean {
    this.busy = false
    if (this.stateValue !== 'open') return false
    this.failures++
    this.nextTryAt = this.now() + this.tryDelayMs * this.failures
    if (this.failures >= this.maxTries) {
      this.end('closed', new PairingClosedError())
      return false
    }
    return true
  }

  succeed (peerId: string): void {
    this.busy = false
    if (this.stateValue !== 'open') return
    this.end('used', new PairingCodeUsedError())
    this.resolve({ peerId, role: this.role })
  }

  /** Closes the window unused (a new code replaced it, the node stops, the user gave up). */
  cancel (reason: PairingError = new PairingClosedError('the pairing window was closed: ask for a new code with `blaze pair`')): void {
    if (this.stateValue !== 'open') return
    this.end('closed', reason)
  }

  /** The error a joiner gets from this window once it is no longer open. */
  refusal (): PairingError {
    return this.closeReason ?? new PairingClosedError()
  }

  private expireIfDue (): void {
    if (this.stateValue === 'open' && this.now() >= this.expiresAt) this.end('expired', new PairingExpiredError())
  }

  private end (state: WindowState, reason: PairingError): void {
    this.stateValue = state
    this.closeReason = reason
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (state !== 'used') this.reject(reason)
  }
}
