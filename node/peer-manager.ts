/**
 * The peer manager: who dials whom and when. It keeps every member this node knows an
 * address for connected, with one sync session per pair, and keeps trying while a member
 * is away.
 *
 * Invariants (all decided in `evaluate(peer)`):
 * 1. Only members (`mayConnect`) are dialled or synced with; never this node itself.
 * 2. One session per pair: the side with the smaller peer id opens it, the other answers.
 * 3. A member that is not connected is dialled when it is reachable: the peer store holds
 *    an address for it (remembered from an earlier run, given as bootstrap, or discovered),
 *    or a relay we are connected to can forward to it; one that is neither waits for
 *    discovery (mDNS, bootstrap, identify) or a relay (`connectMembers()` again).
 * 4. A failed dial or open, a lost connection and an ended session schedule a retry after a
 *    backoff that doubles per failure up to a cap, forever while the member stays one: a
 *    member that is away is found again when it comes back.
 * 5. The backoff resets when a session ends cleanly or after it lasted a full maximum
 *    backoff (a peer that refuses us at once keeps backing off instead of being asked twice
 *    a second); at most one dial or open per peer is in flight.
 *
 * Events: `dial:failed` (detail: { peer, error }).
 */
import type { Connection, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { SyncService } from '../protocols/sync/index.ts'
import { describeError, InvalidNodeOptionError } from './errors.ts'

type Listener = (e: Event) => void

/** Something that emits events (libp2p's node, the sync service). */
export interface Listenable {
  addEventListener (type: string, listener: Listener): void
  removeEventListener (type: string, listener: Listener): void
}

/** The part of a libp2p node the peer manager uses (its events: connection:open, peer:disconnect, peer:discovery). */
export interface PeerHost extends Listenable {
  readonly peerId: PeerId
  getConnections (peer?: PeerId): Connection[]
}

export interface PeerManagerComponents {
  host: PeerHost
  sync: Pick<SyncService, 'open' | 'session'> & Listenable
  /** connects to a peer: its known addresses, or through a relay (node/relay.ts) */
  dial: (peer: PeerId, options: { signal: AbortSignal }) => Promise<Connection>
  /** is there any way to try `peer` now (a known address, a connected relay)? */
  reachable: (peer: PeerId) => Promise<boolean>
  /** peer ids of the members this replica knows (may include itself) */
  members: () => string[]
  /** may this peer connect and sync? */
  mayConnect: (peer: string) => boolean
  log?: (line: string) => void
  /** jitter source for backoffs, in [0, 1); default Math.random */
  random?: () => number
  /** clock; default Date.now */
  now?: () => number
}

export interface PeerManagerInit {
  /** first retry delay, doubled per failure up to maxBackoffMs; default 500 ms */
  backoffMs?: number
  /** default 60 s */
  maxBackoffMs?: number
  /** bound on one dial; default 10 s */
  dialTimeoutMs?: number
}

/** What BlazeNode needs of a peer manager. */
export interface PeerManager extends EventTarget {
  /** listens to the host (call before the host starts, or early discoveries are missed); dials nobody yet */
  start (): void
  stop (): void
  /** looks at every known member now: at start (once the host runs), after a grant admitted a new one… */
  connectMembers (): void
}

/** Throws InvalidNodeOptionError for a delay that is not a positive number, or a cap below the first delay. */
export function checkPeerManagerInit (init: PeerManagerInit): void {
  for (const key of ['backoffMs', 'maxBackoffMs', 'dialTimeoutMs'] as const) {
    const v = init[key]
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new InvalidNodeOptionError(`${key} must be a positive number of milliseconds, got ${v}; leave it out for the default`)
  }
  if ((init.maxBackoffMs ?? 60_000) < (init.backoffMs ?? 500)) {
    throw new InvalidNodeOptionError(`maxBackoffMs (${init.maxBackoffMs ?? 60_000}) is below backoffMs (${init.backoffMs ?? 500}); raise the cap or lower the first delay`)
  }
}

interface Retry { delay: number, timer: NodeJS.Timeout | undefined }

export class MeshPeerManager extends EventTarget implements PeerManager {
  private readonly c: PeerManagerComponents
  private readonly self: string
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  private readonly dialTimeoutMs: number
  private readonly log: (line: string) => void
  private readonly random: () => number
  private readonly now: () => number
  private readonly sessionStarts = new Map<string, number>()
  private readonly retries = new Map<string, Retry>()
  private readonly busy = new Set<string>()
  private readonly again = new Set<string>()
  private readonly listeners: Array<[Listenable, string, Listener]> = []
  private running = false

  constructor (components: PeerManagerComponents, init: PeerManagerInit = {}) {
    super()
    checkPeerManagerInit(init)
    this.c = components
    this.self = components.host.peerId.toString()
    this.backoffMs = init.backoffMs ?? 500
    this.maxBackoffMs = init.maxBackoffMs ?? 60_000
    this.dialTimeoutMs = init.dialTimeoutMs ?? 10_000
    this.log = components.log ?? (() => {})
    this.random = components.random ?? Math.random
    this.now = components.now ?? Date.now
  }

  start (): void {
    if (this.running) return
    this.running = true
    const { host, sync } = this.c
    this.listen(host, 'connection:open', (e: CustomEvent<Connection>) => { void this.evaluate(e.detail.remotePeer.toString()) })
    this.listen(host, 'peer:disconnect', (e: CustomEvent<PeerId>) => { this.onDisconnect(e.detail.toString()) })
    this.listen(host, 'peer:discovery', (e: CustomEvent<PeerInfo>) => { this.onDiscovered(e.detail.id.toString()) })
    this.listen(sync, 'session:start', (e: CustomEvent<{ peer: string }>) => { this.onSessionStart(e.detail.peer) })
    this.listen(sync, 'session:end', (e: CustomEvent<{ peer: string, error: Error | undefined }>) => { this.onSessionEnd(e.detail.peer, e.detail.error) })
  }

  stop (): void {
    this.running = false
    for (const [target, type, fn] of this.listeners.splice(0)) target.removeEventListener(type, fn)
    for (const r of this.retries.values()) if (r.timer !== undefined) clearTimeout(r.timer)
    this.retries.clear()
  }

  connectMembers (): void {
    for (const peer of this.c.members()) void this.evaluate(peer)
  }

  private listen<E extends Event> (target: Listenable, type: string, fn: (e: E) => void): void {
    target.addEventListener(type, fn as Listener)
    this.listeners.push([target, type, fn as Listener])
  }

  private onDiscovered (peer: string): void {
    if (peer === this.self || !this.running) return
    if (!this.c.mayConnect(peer)) {
      this.log(`discovered ${peer}, not a member: ignored`)
      return
    }
    if (this.connected(peer)) return
    this.log(`discovered ${peer}`)
    void this.evaluate(peer)
  }

  private onSessionStart (peer: string): void {
    this.sessionStarts.set(peer, this.now())
    const entry = this.retries.get(peer)
    if (entry?.timer !== undefined) clearTimeout(entry.timer)
    if (entry !== undefined) entry.timer = undefined
  }

  private onSessionEnd (peer: string, error: Error | undefined): void {
    const started = this.sessionStarts.get(peer) ?? this.now()
    this.sessionStarts.delete(peer)
    if (error === undefined || this.now() - started >= this.maxBackoffMs) this.reset(peer)
    this.schedule(peer)
  }

  private onDisconnect (peer: string): void {
    // the connection is gone: its session is too, even if its stream has not noticed yet
    void this.c.sync.session(peer)?.close()
    this.schedule(peer)
  }

  private connected (peer: string): boolean {
    return this.c.host.getConnections(peerIdFromString(peer)).length > 0
  }

  /** The one decision: what to do about `peer` now (see the invariants above). */
  private async evaluate (peer: string): Promise<void> {
    if (!this.running || peer === this.self) return
    if (!this.c.mayConnect(peer)) { this.reset(peer); return }
    if (this.c.sync.session(peer) !== undefined) return
    if (this.busy.has(peer)) { this.again.add(peer); return }
    const id = peerIdFromString(peer)
    this.busy.add(peer)
    try {
      if (!this.connected(peer)) {
        if (!await this.c.reachable(id)) return
        await this.c.dial(id, { signal: AbortSignal.timeout(this.dialTimeoutMs) })
        this.log(`dialled ${peer}`)
      }
      if (this.self < peer && this.c.sync.session(peer) === undefined) await this.c.sync.open(id)
    } catch (error) {
      if (!this.running) return
      const message = describeError(error)
      if (this.connected(peer)) {
        this.log(`opening sync with ${peer} failed: ${message}`)
      } else {
        this.log(`dial ${peer} failed: ${message}`)
        this.dispatchEvent(new CustomEvent('dial:failed', { detail: { peer, error } }))
      }
      this.schedule(peer)
    } finally {
      this.busy.delete(peer)
      // something happened meanwhile (a connection, a session's end): look again
      if (this.again.delete(peer)) void this.evaluate(peer)
    }
  }

  private schedule (peer: string): void {
    if (!this.running || peer === this.self || !this.c.mayConnect(peer)) return
    const entry = this.retries.get(peer) ?? { delay: this.backoffMs, timer: undefined }
    this.retries.set(peer, entry)
    if (entry.timer !== undefined) return
    // jitter keeps two sides of a pair (or a whole restarted mesh) from dialling in lockstep
    const wait = entry.delay * (0.75 + this.random() / 2)
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      entry.delay = Math.min(entry.delay * 2, this.maxBackoffMs)
      void this.evaluate(peer)
    }, wait)
    entry.timer.unref?.()
  }

  private reset (peer: string): void {
    const entry = this.retries.get(peer)
    if (entry?.timer !== undefined) clearTimeout(entry.timer)
    this.retries.delete(peer)
  }
}
