/**
 * Guests: connections from peers that are not members. A non-member is not reset at the
 * Noise handshake any more, so that it can be told why in words (the sync protocol's ERROR
 * frame) and so that a new device can reach the pairing protocol while a window is open.
 * What a hostile peer can get from that is bounded here:
 *
 * 1. At most `maxGuests` guest connections at once, and `maxGuestsPerAddress` from one remote
 *    IP; the gater refuses more right after the handshake (the peer id is only known then,
 *    and a fresh Ed25519 identity costs nothing, so per-peer caps alone would not hold).
 * 2. A guest connection lives at most `refusedLingerMs` (no pairing window) or
 *    `pairingIdleMs` (a window is open). It is not closed the moment its refusal has been
 *    sent: closing the connection can drop the ERROR frame before the peer has read it.
 * 3. Guests reach nothing but the refusal and the pairing protocol (which answers "not
 *    pairing" when no window is open); members are never counted here, so guests cannot
 *    crowd members out.
 * 4. A refusal is logged once per peer per `logEveryMs`, so a reconnecting peer cannot flood
 *    the log; a guest gets answers on a few streams, then resets (unless a window is open,
 *    where the pairing window's own tries and rate limit bound it).
 */
import type { Connection } from '@libp2p/interface'

export interface GuestLimits {
  /** guest connections at once; default 4 */
  maxGuests?: number
  /** guest connections from one remote IP at once; default 2 */
  maxGuestsPerAddress?: number
  /** how long a guest may stay while a pairing window is open; default 30 s */
  pairingIdleMs?: number
  /** how long a guest may stay otherwise (time to hear why it was refused); default 5 s */
  refusedLingerMs?: number
  /** one log line per refused peer per this; default 60 s */
  logEveryMs?: number
}

interface Guest { connection: Connection, address: string, timer: NodeJS.Timeout, answers: number }

/** streams a guest connection gets an answer on (a refusal, "not pairing"); later ones are reset */
const ANSWERS_PER_GUEST = 4

function ipOf (connection: Connection): string {
  return connection.remoteAddr.toString().split('/').slice(0, 3).join('/')
}

export class Guests {
  private readonly guests = new Map<string, Guest>()
  private readonly lastLogged = new Map<string, number>()
  private readonly maxGuests: number
  private readonly maxPerAddress: number
  private readonly pairingIdleMs: number
  private readonly refusedLingerMs: number
  private readonly logEveryMs: number
  private readonly isPairing: () => boolean
  private readonly now: () => number

  constructor (options: { limits?: GuestLimits, isPairing: () => boolean, now?: () => number }) {
    const l = options.limits ?? {}
    this.maxGuests = l.maxGuests ?? 4
    this.maxPerAddress = l.maxGuestsPerAddress ?? 2
    this.pairingIdleMs = l.pairingIdleMs ?? 30_000
    this.refusedLingerMs = l.refusedLingerMs ?? 5_000
    this.logEveryMs = l.logEveryMs ?? 60_000
    this.isPairing = options.isPairing
    this.now = options.now ?? Date.now
  }

  /** For the gater: may one more guest connection from `peer` be accepted? */
  hasRoom (peer: string): boolean {
    return this.guests.has(peer) || this.guests.size < this.maxGuests
  }

  /** A guest connection opened: keep it within the caps, and bound its life. Returns false if it was closed. */
  admit (connection: Connection): boolean {
    const peer = connection.remotePeer.toString()
    const address = ipOf(connection)
    const fromAddress = [...this.guests.values()].filter((g) => g.address === address).length
    if (this.guests.has(peer) || this.guests.size >= this.maxGuests || fromAddress >= this.maxPerAddress) {
      connection.abort(new Error('too many connections from non-members'))
      return false
    }
    const ms = this.isPairing() ? this.pairingIdleMs : this.refusedLingerMs
    const timer = setTimeout(() => { void this.drop(peer) }, ms)
    timer.unref?.()
    this.guests.set(peer, { connection, address, timer, answers: 0 })
    return true
  }

  /**
   * Whether a stream from this guest still gets an answer; a guest that keeps opening streams
   * within its short life gets resets after a few. Peers that are not guests (members) always do.
   */
  mayAnswer (peer: string): boolean {
    const g = this.guests.get(peer)
    if (g === undefined) return true
    return ++g.answers <= ANSWERS_PER_GUEST || this.isPairing()
  }

  isGuest (peer: string): boolean { return this.guests.has(peer) }

  /** The connection closed (or the peer became a member). */
  forget (peer: string): void {
    const g = this.guests.get(peer)
    if (g === undefined) return
    clearTimeout(g.timer)
    this.guests.delete(peer)
  }

  /** Whether a refusal of `peer` should be logged now (rate-limited per peer). */
  shouldLog (peer: string): boolean {
    const t = this.now()
    const last = this.lastLogged.get(peer)
    if (last !== undefined && t - last < this.logEveryMs) return false
    if (this.lastLogged.size > 1_000) this.lastLogged.clear()
    this.lastLogged.set(peer, t)
    return true
  }

  async stop (): Promise<void> {
    await Promise.all([...this.guests.keys()].map(async (p) => { await this.drop(p) }))
  }

  private async drop (peer: string): Promise<void> {
    const g = this.guests.get(peer)
    if (g === undefined) return
    this.forget(peer)
    try {
      await g.connection.close({ signal: AbortSignal.timeout(1_000) })
    } catch {
      g.connection.abort(new Error('guest connection closed'))
    }
  }
}
