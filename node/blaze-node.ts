/**
 * A mesh node: the engine plus a libp2p host that finds peers (mDNS, bootstrap), connects
 * to members, runs one sync session per connected member, and reconnects with backoff.
 *
 * One session per peer pair: the side with the smaller peer id opens the sync stream; the
 * other answers. Non-members get in only as a few short-lived guests (node/guests.ts): they
 * are told in words why they may not sync (node/refuse-sync.ts), and may pair while a
 * pairing window is open (`pair()`); the refusal is logged with their peer id.
 *
 * Members it has no address for (or whose addresses fail) are dialled through the relays it
 * is connected to, by peer id (relay.ts): at start, when a relay is met, on a grant, and on
 * every retry. Sync runs on relayed connections, limited ones included.
 */
import type { Connection, PeerId, PeerInfo, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Database, Rejection, VersionVector } from '../engine/index.ts'
import { PeerRateLimiter, type PeerRateStats, PROTOCOL, refuseSession, SyncRateLimitedError, SyncSession } from '../protocols/sync/index.ts'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { announcePairing, createHost, DEFAULT_MAX_CONNECTIONS, type Host, type HostLimits } from './host.ts'
import { connectedRelays, dialMember } from './relay.ts'
import { ConnectionGuard, type GuardStats, type PeerLimits } from './peer-limits.ts'
import { Guests, type GuestLimits } from './guests.ts'
import { refuseSync } from './refuse-sync.ts'
import { describeError } from './errors.ts'
import { openPairing, pairService, type PairOptions } from './pairing.ts'
import type { PairService, PairingOffer } from '../protocols/pair/index.ts'

export interface BlazeNodeOptions {
  db: Database
  /** multiaddrs to listen on; default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** multiaddrs (with /p2p/PEERID) of nodes to dial at start, e.g. an always-on Pi */
  bootstrap?: string[]
  /** LAN discovery; default true */
  mdns?: boolean
  limits?: HostLimits
  /** how many non-members may connect, and for how long (to hear why, or to pair) */
  guests?: GuestLimits
  /**
   * also run a circuit-relay-v2 server, so members that cannot dial each other connect
   * through this node (an always-on Pi); default false. Every node uses the relays it meets.
   */
  relay?: boolean
  /** per-peer limits: connections, frames/bytes per second, sessions per minute, send timeout (node/peer-limits.ts) */
  peerLimits?: PeerLimits
  /** first reconnect delay, doubled per failure up to maxBackoffMs; default 500 ms */
  backoffMs?: number
  maxBackoffMs?: number
  log?: (line: string) => void
}

export interface NodeStats {
  peers: string[]
  rejected: Record<string, number>
  applied: number
  bytesIn: number
  bytesOut: number
  /** read-side bytes the sessions hold now (received, not yet handled), and the most one session ever held */
  readBufferedBytes: number
  readBufferPeakBytes: number
  /** connections refused or pruned by the per-address / per-peer limits */
  connections: GuardStats
}

/**
 * Events (EventTarget): `session:start` / `session:end` (detail: { peer, error? }),
 * `dial:failed` (detail: { peer, error }), `rejected` (detail: Rejection & { via }),
 * `refused` (detail: { peer, reason: 'not-a-member' | 'wrong-database', theirDb? }): a
 * non-member was told it may not sync; `paired` (detail: { peer, role }),
 * `session:refused` (detail: { peer, error }: too many sessions), `session:blocked` (detail: { peer }:
 * our send buffer to it is full), `session:throttled` (detail: { peer, waitMs }: its rate buckets are empty).
 */
export class BlazeNode extends EventTarget {
  readonly db: Database
  readonly host: Host
  private readonly sessions = new Map<string, SyncSession>()
  private readonly opening = new Set<string>()
  private readonly retries = new Map<string, { delay: number, timer: NodeJS.Timeout | undefined }>()
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  private readonly log: (line: string) => void
  private readonly counters = { applied: 0, bytesIn: 0, bytesOut: 0, rejected: {} as Record<string, number> }
  private readonly peerVectors = new Map<string, VersionVector>()
  private unsubscribe: (() => void) | undefined
  private heldTimer: NodeJS.Timeout | undefined
  private stopped = false
  readonly guests: Guests
  readonly pairing: PairService
  private readonly guard: ConnectionGuard
  private readonly limiter: PeerRateLimiter
  private readonly sendTimeoutMs: number | undefined
  private readPeak = 0

  private constructor (db: Database, host: Host, guard: ConnectionGuard, guests: Guests, options: BlazeNodeOptions) {
    super()
    this.db = db
    this.host = host
    this.guard = guard
    this.guests = guests
    this.limiter = new PeerRateLimiter(options.peerLimits)
    this.sendTimeoutMs = options.peerLimits?.sendTimeoutMs
    this.backoffMs = options.backoffMs ?? 500
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000
    this.log = options.log ?? (() => {})
    this.pairing = pairService(this, this.log)
  }

  static async start (options: BlazeNodeOptions): Promise<BlazeNode> {
    const db = options.db
    let node: BlazeNode | undefined
    const guests = new Guests({ ...(options.guests === undefined ? {} : { limits: options.guests }), isPairing: () => node?.pairing.isOpen() ?? false })
    const guard = new ConnectionGuard(options.peerLimits, options.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS, (line) => { options.log?.(line) })
    const host = await createHost({
      guard: guard.gater,
      identity: db.deviceIdentity(),
      dbId: db.id,
      listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      bootstrap: options.bootstrap ?? [],
      mdns: options.mdns ?? true,
      pairingMdns: 'answer',
      allowPeer: (peer) => (node?.mayConnect(peer) ?? true) || guests.hasRoom(peer),
      isMember: (peer) => node?.mayConnect(peer) ?? true,
      relay: options.relay ?? false,
      ...(options.limits === undefined ? {} : { limits: options.limits })
    })
    node = new BlazeNode(db, host, guard, guests, options)
    guard.attach(host)
    await node.wire()
    return node
  }

  private async wire (): Promise<void> {
    const host = this.host
    // sync also runs over relayed connections (limited ones too, when a relay sets limits)
    await host.handle(PROTOCOL, (stream: Stream, connection: Connection) => { this.onInbound(stream, connection) }, { maxInboundStreams: 2, maxOutboundStreams: 2, runOnLimitedConnection: true })
    host.addEventListener('peer:discovery', (e) => { this.onDiscovered(e.detail) })
    host.addEventListener('connection:open', (e) => { this.onConnection(e.detail) })
    host.addEventListener('peer:disconnect', (e) => { this.onDisconnect(e.detail) })
    host.addEventListener('connection:close', (e) => { if (this.host.getConnections(e.detail.remotePeer).length === 0) this.guests.forget(e.detail.remotePeer.toString()) })
    await this.pairing.start({
      handle: async (protocol, handler, options) => {
        await host.handle(protocol, (stream: Stream, connection: Connection) => {
          const peer = connection.remotePeer.toString()
          if (this.mayConnect(peer) || this.guests.mayAnswer(peer)) handler(stream, peer)
          else stream.abort(new Error('too many pairing streams'))
        }, options)
      },
      unhandle: async (protocol) => { await host.unhandle(protocol) }
    })
    // a relay we just met can forward to members we have no address for; and once we hold a
    // reservation, members that tried us through it before we had one can be reached now
    host.addEventListener('peer:identify', (e) => {
      if (e.detail.protocols.includes(RELAY_V2_HOP_CODEC)) void this.dialKnownMembers()
    })
    let reserved = 0
    host.addEventListener('self:peer:update', () => {
      const now = this.multiaddrs().filter((a) => a.includes('/p2p-circuit')).length
      if (now > reserved) void this.dialKnownMembers()
      reserved = now
    })
    // a new grant may admit a peer we already know: try it
    this.unsubscribe = this.db.subscribe((event) => {
      if (event.ops.some((op) => op.op === 'grant')) void this.dialKnownMembers()
    })
    // changes held for clock drift apply once the local clock catches up
    this.heldTimer = setInterval(() => {
      if (this.db.stats().held > 0) {
        void this.db.retryHeld().then((n) => { if (n > 0) this.log(`applied ${n} held change(s)`) }, () => {})
      }
    }, 5_000)
    this.heldTimer.unref()
    await host.start()
    // answer pairing queries on the LAN only while a window is open
    await announcePairing(host, false)
    void this.dialKnownMembers()
  }

  /** Members only, once this replica knows its membership (a freshly joined one does not yet). */
  mayConnect (peer: string): boolean {
    if (this.db.members.list().length === 0) return true
    return this.db.members.roleOf(peer) !== null
  }

  /**
   * Opens a pairing window: a one-time code that lets one new device join with `role`
   * (default writer) within `ttlMs` (default 10 min). See node/pairing.ts.
   */
  pair (options: PairOptions = {}): PairingOffer {
    return openPairing(this, options)
  }

  get peerId (): string { return this.host.peerId.toString() }

  multiaddrs (): string[] { return this.host.getMultiaddrs().map((m) => m.toString()) }

  /** the version vector a peer last told us it holds (for sync lag) */
  peerVector (peer: string): VersionVector | undefined { return this.peerVectors.get(peer) }

  /** peers with a live sync session */
  peers (): string[] { return [...this.sessions.keys()] }

  stats (): NodeStats {
    let buffered = 0
    for (const s of this.sessions.values()) {
      const r = s.readBuffer()
      buffered += r.buffered
      this.readPeak = Math.max(this.readPeak, r.peak)
    }
    return {
      peers: this.peers(),
      rejected: { ...this.counters.rejected },
      applied: this.counters.applied,
      bytesIn: this.counters.bytesIn,
      bytesOut: this.counters.bytesOut,
      readBufferedBytes: buffered,
      readBufferPeakBytes: this.readPeak,
      connections: this.guard.stats()
    }
  }

  /** What the per-peer rate limits let through from `peer`, and how often they held it back. */
  rateStats (peer: string): PeerRateStats { return this.limiter.stats(peer) }

  private onDiscovered (info: PeerInfo): void {
    const peer = info.id.toString()
    if (peer === this.peerId || this.stopped) return
    if (!this.mayConnect(peer)) {
      this.log(`discovered ${peer}, not a member: ignored`)
      return
    }
    if (this.host.getConnections(info.id).length > 0) return
    this.log(`discovered ${peer}`)
    void this.dial(info.id)
  }

  private async dial (peer: PeerId): Promise<void> {
    if (this.stopped) return
    try {
      await dialMember(this.host, peer, { signal: AbortSignal.timeout(10_000) })
      this.retries.delete(peer.toString())
    } catch (error) {
      this.log(`dial ${peer.toString()} failed: ${describeError(error)}`)
      this.dispatchEvent(new CustomEvent('dial:failed', { detail: { peer: peer.toString(), error } }))
      this.scheduleRetry(peer)
    }
  }

  private scheduleRetry (peer: PeerId): void {
    const key = peer.toString()
    if (this.stopped || !this.mayConnect(key)) return
    const entry = this.retries.get(key) ?? { delay: this.backoffMs, timer: undefined }
    if (entry.timer !== undefined) return
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      entry.delay = Math.min(entry.delay * 2, this.maxBackoffMs)
      if (this.host.getConnections(peer).length === 0) void this.dial(peer)
      else if (!this.sessions.has(key)) void this.openSession(peer)
    }, entry.delay)
    entry.timer.unref?.()
    this.retries.set(key, entry)
  }

  private async dialKnownMembers (): Promise<void> {
    if (this.stopped) return
    for (const { peerId } of this.db.members.list()) {
      if (this.stopped) return
      if (peerId === this.peerId || this.sessions.has(peerId) || this.opening.has(peerId)) continue
      const id = peerIdFromString(peerId)
      if (this.host.getConnections(id).length > 0) {
        if (this.peerId < peerId) void this.openSession(id)
        continue
      }
      try {
        const known = await this.host.peerStore.get(id)
        if (known.addresses.length > 0) { void this.dial(id); continue }
      } catch {
        // never seen: a relay may know it, else discovery will bring it
      }
      if ((await connectedRelays(this.host, id)).length > 0) void this.dial(id)
    }
  }

  private onConnection (connection: Connection): void {
    const peer = connection.remotePeer
    if (!this.mayConnect(peer.toString())) {
      if (!this.guests.admit(connection)) return
      // if we are the opener, the guest would wait for us forever: tell it why now
      if (this.peerId < peer.toString()) void this.tellRefused(peer)
      return
    }
    if (this.peerId < peer.toString()) void this.openSession(peer)
  }

  private async tellRefused (peer: PeerId): Promise<void> {
    let stream: Stream
    try {
      stream = await this.host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(5_000) }) as unknown as Stream
    } catch {
      return // not a BlazeDB node, or a device that only pairs
    }
    await this.refuse(peer.toString(), stream, true)
  }

  private async refuse (peer: string, stream: Stream, opener: boolean): Promise<void> {
    const outcome = await refuseSync(stream, { dbId: this.db.id, opener })
    if ('said' in outcome && outcome.said !== 'nothing') {
      if (this.guests.shouldLog(peer)) {
        this.log(outcome.said === 'wrong-database'
          ? `refused ${peer}: it is on another database (${outcome.theirDb})`
          : `refused ${peer}: not a member of this database (grant it a role, or pair it with \`blaze pair\`)`)
      }
      this.dispatchEvent(new CustomEvent('refused', { detail: { peer, reason: outcome.said, ...(outcome.said === 'wrong-database' ? { theirDb: outcome.theirDb } : {}) } }))
    } else if ('heard' in outcome) {
      if (this.guests.shouldLog(peer)) this.log(`refused ${peer} (not a member); it answered: ${outcome.heard}`)
      this.dispatchEvent(new CustomEvent('refused', { detail: { peer, reason: outcome.code === 'WRONG_DATABASE' ? 'wrong-database' : 'not-a-member' } }))
    }
    // the guest connection is not closed here: that could drop the ERROR frame before the
    // peer reads it; its short lifetime (node/guests.ts) ends it
  }

  private async openSession (peer: PeerId): Promise<void> {
    const key = peer.toString()
    if (this.stopped || this.sessions.has(key) || this.opening.has(key) || !this.mayConnect(key)) return
    this.opening.add(key)
    try {
      const stream = await this.host.dialProtocol(peer, PROTOCOL, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
      this.run(key, stream as unknown as Stream)
    } catch (error) {
      this.log(`opening sync with ${key} failed: ${describeError(error)}`)
      this.scheduleRetry(peer)
    } finally {
      this.opening.delete(key)
    }
  }

  private onInbound (stream: Stream, connection: Connection): void {
    const key = connection.remotePeer.toString()
    if (!this.mayConnect(key)) {
      if (this.guests.mayAnswer(key)) void this.refuse(key, stream, false)
      else stream.abort(new Error('not a member'))
      return
    }
    // a peer reopening sessions in a loop would make us re-read and re-send the log each time
    if (!this.limiter.admitSession(key)) {
      const error = new SyncRateLimitedError(`${key} opened more than ${this.limiter.sessionsPerMinute} sync sessions in a minute; retry later, with backoff`)
      this.log(`refused a sync session from ${key}: ${error.message}`)
      this.dispatchEvent(new CustomEvent('session:refused', { detail: { peer: key, error } }))
      void refuseSession(stream, error)
      return
    }
    const old = this.sessions.get(key)
    // the opener (smaller id) starts afresh, e.g. after its session died: replace ours
    if (old !== undefined) void old.close()
    this.run(key, stream)
  }

  private run (peer: string, stream: Stream): void {
    const session = new SyncSession({
      db: this.db,
      stream,
      remotePeer: peer,
      limiter: this.limiter,
      ...(this.sendTimeoutMs === undefined ? {} : { sendTimeoutMs: this.sendTimeoutMs }),
      observer: {
        sendBlocked: () => { this.dispatchEvent(new CustomEvent('session:blocked', { detail: { peer } })) },
        throttled: (_p, waitMs) => { this.dispatchEvent(new CustomEvent('session:throttled', { detail: { peer, waitMs } })) },
        applied: (result) => {
          this.counters.applied += result.applied
          if (result.applied > 0) this.log(`applied ${result.applied} change(s) from ${peer}`)
        },
        rejected: (r: Rejection) => {
          this.counters.rejected[r.error.name] = (this.counters.rejected[r.error.name] ?? 0) + r.count
          this.log(`rejected ${r.count} change(s) from ${r.author ?? 'unknown author'} via ${peer}: ${r.error.name}: ${r.error.message}`)
          this.dispatchEvent(new CustomEvent('rejected', { detail: { ...r, via: peer } }))
        },
        bytes: (direction, n) => { if (direction === 'in') this.counters.bytesIn += n; else this.counters.bytesOut += n },
        peerVector: (p, vv) => { this.peerVectors.set(p, vv) }
      }
    })
    this.sessions.set(peer, session)
    this.log(`sync with ${peer} started`)
    this.dispatchEvent(new CustomEvent('session:start', { detail: { peer } }))
    void session.done.then(() => {
      this.readPeak = Math.max(this.readPeak, session.readBuffer().peak)
      if (this.sessions.get(peer) === session) this.sessions.delete(peer)
      this.log(`sync with ${peer} ended${session.error === undefined ? '' : `: ${session.error.message}`}`)
      this.dispatchEvent(new CustomEvent('session:end', { detail: { peer, error: session.error } }))
      if (!this.stopped && this.peerId < peer) this.scheduleRetry(peerIdFromString(peer))
    })
  }

  private onDisconnect (peer: PeerId): void {
    const key = peer.toString()
    const session = this.sessions.get(key)
    if (session !== undefined) void session.close()
    if (!this.stopped && this.mayConnect(key)) this.scheduleRetry(peer)
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe?.()
    if (this.heldTimer !== undefined) clearInterval(this.heldTimer)
    for (const r of this.retries.values()) if (r.timer !== undefined) clearTimeout(r.timer)
    await Promise.all([...this.sessions.values()].map(async (s) => { await s.close() }))
    await this.pairing.stop()
    await this.guests.stop()
    await this.host.stop()
  }
}
