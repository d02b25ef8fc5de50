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
 * 5. On a relay (the Pi), a guest may open a circuit to a member — a new device pairing with
 *    a member it cannot dial (`relaying`). That circuit is bounded here: at most
 *    `relayCircuits` per guest connection, the connection lives `relayMs` from its first
 *    circuit (never extended), and what the guest sends into its circuits is capped at
 *    `relayBytes` in all (its connection is aborted past that, which ends the circuits). The
 *    member at the other end treats it as one of its own guests (1.–4.), so a relayed guest
 *    gets no more there than a direct one (and counts against its relay's address: at most
 *    `maxGuestsPerAddress` through one relay), and members are never crowded out on either node.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { Connection, Stream, StreamMessageEvent } from '@libp2p/interface'

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
  /** on a relay: circuits one guest connection may open to members; default 2 */
  relayCircuits?: number
  /** on a relay: how long a guest connection with a circuit lives, from its first circuit; default 30 s */
  relayMs?: number
  /** on a relay: bytes a guest may send into its circuits, in all; default 256 KiB (pairing needs a few KiB) */
  relayBytes?: number
}

interface Guest {
  connection: Connection
  address: string
  timer: NodeJS.Timeout
  answers: number
  circuits: number
  relayedBytes: number
  counted: WeakSet<Stream>
}

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
  private readonly relayCircuits: number
  private readonly relayMs: number
  private readonly relayBytes: number
  private readonly isPairing: () => boolean
  private readonly now: () => number

  constructor (options: { limits?: GuestLimits, isPairing: () => boolean, now?: () => number }) {
    const l = options.limits ?? {}
    this.maxGuests = l.maxGuests ?? 4
    this.maxPerAddress = l.maxGuestsPerAddress ?? 2
    this.pairingIdleMs = l.pairingIdleMs ?? 30_000
    this.refusedLingerMs = l.refusedLingerMs ?? 5_000
    this.logEveryMs = l.logEveryMs ?? 60_000
    this.relayCircuits = l.relayCircuits ?? 2
    this.relayMs = l.relayMs ?? 30_000
    this.relayBytes = l.relayBytes ?? 256 * 1024
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
    this.guests.set(peer, { connection, address, timer, answers: 0, circuits: 0, relayedBytes: 0, counted: new WeakSet() })
    return true
  }

  /**
   * For a relay's gater: may guest `peer` open one more circuit (to a member)? If so, its
   * connection now lives `relayMs` from its first circuit, and the bytes it sends on its
   * circuit (HOP) streams count against `relayBytes` (5. above). Non-guests get false: a
   * peer the gater does not know as a guest has no business relaying as a non-member.
   */
  relaying (peer: string): boolean {
    const g = this.guests.get(peer)
    if (g === undefined || g.circuits >= this.relayCircuits) return false
    g.circuits++
    if (g.circuits === 1) {
      clearTimeout(g.timer)
      g.timer = setTimeout(() => { void this.drop(peer) }, this.relayMs)
      g.timer.unref?.()
    }
    // the HOP stream asking for this circuit is open on the guest's connection now; once the
    // circuit is set up, everything the guest sends through it arrives on that stream
    for (const stream of g.connection.streams) {
      if (stream.protocol !== RELAY_V2_HOP_CODEC || g.counted.has(stream)) continue
      g.counted.add(stream)
      stream.addEventListener('message', (e: StreamMessageEvent) => {
        g.relayedBytes += e.data.byteLength
        if (g.relayedBytes > this.relayBytes) g.connection.abort(new Error(`a non-member sent more than ${this.relayBytes} bytes through this relay`))
      })
    }
    return true
  }

  /** Bytes guest `peer` has sent into its circuits through this relay (undefined: not a guest). */
  relayedBytes (peer: string): number | undefined { return this.guests.get(peer)?.relayedBytes }

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
