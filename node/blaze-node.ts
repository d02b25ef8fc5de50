/**
 * A mesh node: the engine plus a libp2p host that finds peers (mDNS, bootstrap, its peer
 * store), runs the sync protocol as a libp2p service, and leaves who dials whom to the peer
 * manager (node/peer-manager.ts: one session per pair, backoff, redial).
 *
 * With a data directory it remembers its peers' addresses (`DATA/peers/`) and its own listen
 * addresses with their real ports (`DATA/listen.json`), and dials the members it knows at
 * start, so a mesh whose nodes restart (on any port) heals by itself.
 * Non-members get in only as a few short-lived guests (node/guests.ts): they are told in
 * words why they may not sync (node/refuse-sync.ts), and may pair while a pairing window is
 * open (`pair()`); the refusal is logged with their peer id.
 *
 * Members it has no address for (or whose addresses fail) are dialled through the relays it
 * is connected to, by peer id (relay.ts): at start, when a relay is met, when it gains a
 * reservation, on a grant, and on every retry. Sync runs on relayed connections, limited
 * ones included.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { Datastore } from 'interface-datastore'
import type { LevelDatastore } from 'datastore-level'
import type { Database, Rejection, VersionVector } from '../engine/index.ts'
import { PeerRateLimiter, type PeerRateStats, PROTOCOL, syncService, type SyncService, type SyncSession } from '../protocols/sync/index.ts'
import { announcePairing, createHost, DEFAULT_MAX_CONNECTIONS, type Host, type HostLimits, type HostOptions, type Transports } from './host.ts'
import { ConnectionGuard, type GuardStats, type PeerLimits } from './peer-limits.ts'
import { checkPeerManagerInit, MeshPeerManager, type PeerHost, type PeerManager, type PeerManagerInit } from './peer-manager.ts'
import { boundListen, freeListen, openPeerDatastore, rememberedListen, rememberListen } from './remembered.ts'
import { connectedRelays, dialMember } from './relay.ts'
import { Guests, type GuestLimits } from './guests.ts'
import { refuseSync } from './refuse-sync.ts'
import { openPairing, pairService, type PairOptions } from './pairing.ts'
import type { PairService, PairingOffer } from '../protocols/pair/index.ts'

export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']

export interface BlazeNodeOptions {
  /** libp2p's own metrics, e.g. `libp2pMetrics(registry)` (node/metrics.ts) */
  libp2pMetrics?: HostOptions['metrics']
  db: Database
  /**
   * multiaddrs to listen on; default: those of the last run (from `dataDir`, same ports),
   * else ['/ip4/0.0.0.0/tcp/0']
   */
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
  /** direct libp2p transports (the relay transport is always added); default TCP */
  transports?: Transports
  /** where to remember peers (`DATA/peers/`) and listen ports across restarts; default: nowhere */
  dataDir?: string
  /** the peer store's datastore, kept by the caller (e.g. across restarts in one process); default: in `dataDir`, else in memory */
  datastore?: Datastore
  /** a further say on who may connect, on top of membership (e.g. a simulated partition); default: members may */
  allowPeer?: (peer: string) => boolean
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
  /** change frames: bytes on the wire (after compression) and before, per direction */
  changeBytes: { wireIn: number, rawIn: number, wireOut: number, rawOut: number }
  /** read-side bytes the sessions hold now (received, not yet handled), and the most one session ever held */
  readBufferedBytes: number
  readBufferPeakBytes: number
  /** connections refused or pruned by the per-address / per-peer limits */
  connections: GuardStats
}

type NodeHost = Host<{ sync: SyncService }>

/** A known address, or a connected relay that can forward to it. */
async function reachable (host: NodeHost, peer: PeerId): Promise<boolean> {
  try {
    if ((await host.peerStore.get(peer)).addresses.length > 0) return true
  } catch {
    // never seen
  }
  return (await connectedRelays(host, peer)).length > 0
}

function peerManagerInit (options: BlazeNodeOptions): PeerManagerInit {
  return {
    ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs })
  }
}

/**
 * Events (EventTarget): `session:start` (detail: { peer, direction }) / `session:end`
 * (detail: { peer, error? }), `session:refused` (detail: { peer, error }: too many sessions),
 * `session:blocked` (detail: { peer }: our send buffer to it is full), `session:throttled`
 * (detail: { peer, waitMs }: its rate buckets are empty), `refused` (detail: { peer, reason:
 * 'not-a-member' | 'wrong-database', theirDb? }): a non-member was told it may not sync;
 * `paired` (detail: { peer, role }),
 * `dial:failed` (detail: { peer, error }), `rejected` (detail: Rejection & { via }).
 */
export class BlazeNode extends EventTarget {
  readonly db: Database
  readonly host: NodeHost
  private readonly peerManager: PeerManager
  /** the datastore this node opened (and closes) */
  private readonly ownDatastore: LevelDatastore | undefined
  private readonly log: (line: string) => void
  private readonly allowPeer: ((peer: string) => boolean) | undefined
  private readonly counters = { applied: 0, bytesIn: 0, bytesOut: 0, rejected: {} as Record<string, number>, changeBytes: { wireIn: 0, rawIn: 0, wireOut: 0, rawOut: 0 } }
  private readonly peerVectors = new Map<string, VersionVector>()
  private unsubscribe: (() => void) | undefined
  private heldTimer: NodeJS.Timeout | undefined
  private stopped = false
  private readonly guard: ConnectionGuard
  private readonly limiter: PeerRateLimiter
  private readPeak = 0
  readonly guests: Guests
  readonly pairing: PairService

  private constructor (db: Database, host: NodeHost, parts: { ownDatastore: LevelDatastore | undefined, guard: ConnectionGuard, limiter: PeerRateLimiter, guests: Guests }, options: BlazeNodeOptions) {
    super()
    this.db = db
    this.host = host
    this.guard = parts.guard
    this.limiter = parts.limiter
    this.guests = parts.guests
    this.ownDatastore = parts.ownDatastore
    this.log = options.log ?? (() => {})
    this.allowPeer = options.allowPeer
    this.pairing = pairService(this, this.log)
    this.peerManager = new MeshPeerManager({
      host: host as unknown as PeerHost,
      sync: host.services.sync,
      dial: async (peer, opts) => await dialMember(host, peer, opts),
      reachable: async (peer) => await reachable(host, peer),
      members: () => db.members.list().map((m) => m.peerId),
      mayConnect: (peer) => this.mayConnect(peer),
      log: this.log
    }, peerManagerInit(options))
  }

  /** Bad options (InvalidNodeOptionError) are refused before anything is opened. */
  static async start (options: BlazeNodeOptions): Promise<BlazeNode> {
    checkPeerManagerInit(peerManagerInit(options))
    const log = options.log ?? (() => {})
    const own = options.datastore === undefined && options.dataDir !== undefined ? await openPeerDatastore(options.dataDir) : undefined
    const datastore = options.datastore ?? own
    try {
      const remembered = options.listen === undefined && options.dataDir !== undefined ? rememberedListen(options.dataDir, log) : undefined
      const listen = options.listen ?? (remembered === undefined ? DEFAULT_LISTEN : await freeListen(remembered, log))
      try {
        return await BlazeNode.startOn(listen, datastore, own, options)
      } catch (error) {
        if (remembered === undefined) throw error
        // taken between our check and libp2p's listen: any port beats not starting
        log(`listening on the remembered addresses failed (${(error as Error).message}): using new ports`)
        return await BlazeNode.startOn(remembered.map((a) => a.replace(/\/tcp\/\d+/, '/tcp/0')), datastore, own, options)
      }
    } catch (error) {
      await own?.close()
      throw error
    }
  }

  private static async startOn (listen: string[], datastore: Datastore | undefined, own: LevelDatastore | undefined, options: BlazeNodeOptions): Promise<BlazeNode> {
    const db = options.db
    let node: BlazeNode | undefined
    const guests = new Guests({ ...(options.guests === undefined ? {} : { limits: options.guests }), isPairing: () => node?.pairing.isOpen() ?? false })
    const guard = new ConnectionGuard(options.peerLimits, options.limits?.maxConnections ?? DEFAULT_MAX_CONNECTIONS, (line) => { options.log?.(line) })
    const limiter = new PeerRateLimiter(options.peerLimits)
    const sendTimeoutMs = options.peerLimits?.sendTimeoutMs
    const host = await createHost({
      guard: guard.gater,
      identity: db.deviceIdentity(),
      dbId: db.id,
      listen,
      bootstrap: options.bootstrap ?? [],
      mdns: options.mdns ?? true,
      pairingMdns: 'answer',
      allowPeer: (peer) => (node?.mayConnect(peer) ?? true) || guests.hasRoom(peer),
      isMember: (peer) => node?.mayConnect(peer) ?? true,
      // a non-member may pair through this relay with a member, within the guest limits
      relayGuest: (source) => guests.relaying(source),
      relay: options.relay ?? false,
      start: false,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.transports === undefined ? {} : { transports: options.transports }),
      ...(options.libp2pMetrics === undefined ? {} : { metrics: options.libp2pMetrics }),
      ...(datastore === undefined ? {} : { datastore })
    }, {
      sync: syncService({
        db,
        limiter,
        // non-members are told why (or aborted) by the node, not synced with
        admit: (peer, stream) => node?.admitStream(peer, stream) ?? false,
        ...(sendTimeoutMs === undefined ? {} : { sendTimeoutMs }),
        observer: {
          sendBlocked: (peer) => { node?.dispatchEvent(new CustomEvent('session:blocked', { detail: { peer } })) },
          throttled: (peer, waitMs) => { node?.dispatchEvent(new CustomEvent('session:throttled', { detail: { peer, waitMs } })) },
          applied: (result, peer) => { node?.onApplied(result.applied, peer) },
          rejected: (r, peer) => { node?.onRejected(r, peer) },
          bytes: (direction, n) => { if (node === undefined) return; if (direction === 'in') node.counters.bytesIn += n; else node.counters.bytesOut += n },
          changeFrame: (direction, wire, raw) => {
            const c = node?.counters.changeBytes
            if (c === undefined) return
            if (direction === 'in') { c.wireIn += wire; c.rawIn += raw } else { c.wireOut += wire; c.rawOut += raw }
          },
          peerVector: (p, vv) => { node?.peerVectors.set(p, vv) }
        }
      })
    })
    node = new BlazeNode(db, host, { ownDatastore: own, guard, limiter, guests }, options)
    guard.attach(host)
    try {
      await node.wire(listen, options.dataDir)
    } catch (error) {
      node.stopped = true
      node.peerManager.stop()
      try { await host.stop() } catch {}
      throw error
    }
    return node
  }

  private async wire (listen: string[], dataDir: string | undefined): Promise<void> {
    const host = this.host
    const sync = host.services.sync
    sync.addEventListener('session:start', (e) => {
      const { peer, direction } = (e as CustomEvent<{ peer: string, direction: 'inbound' | 'outbound' }>).detail
      this.log(`sync with ${peer} started`)
      this.dispatchEvent(new CustomEvent('session:start', { detail: { peer, direction } }))
    })
    sync.addEventListener('session:refused', (e) => {
      const { peer, error } = (e as CustomEvent<{ peer: string, error: Error }>).detail
      this.log(`refused a sync session from ${peer}: ${error.message}`)
      this.dispatchEvent(new CustomEvent('session:refused', { detail: { peer, error } }))
    })
    sync.addEventListener('session:end', (e) => {
      const { peer, session, error } = (e as CustomEvent<{ peer: string, session: SyncSession, error: Error | undefined }>).detail
      this.readPeak = Math.max(this.readPeak, session.readBuffer().peak)
      this.log(`sync with ${peer} ended${error === undefined ? '' : `: ${error.message}`}`)
      this.dispatchEvent(new CustomEvent('session:end', { detail: { peer, error } }))
    })
    this.peerManager.addEventListener('dial:failed', (e) => {
      this.dispatchEvent(new CustomEvent('dial:failed', { detail: (e as CustomEvent).detail }))
    })
    // a relay we just met can forward to members we have no address for; and once we hold a
    // reservation, members that tried us through it before we had one can be reached now
    host.addEventListener('peer:identify', (e) => {
      if (e.detail.protocols.includes(RELAY_V2_HOP_CODEC)) this.peerManager.connectMembers()
    })
    let reserved = 0
    host.addEventListener('self:peer:update', () => {
      const now = this.multiaddrs().filter((a) => a.includes('/p2p-circuit')).length
      if (now > reserved) this.peerManager.connectMembers()
      reserved = now
    })
    // non-members: a few get in as guests, to hear why they may not sync (or to pair)
    host.addEventListener('connection:open', (e) => { this.onConnection(e.detail) })
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
    const bound: Multiaddr[] = []
    host.addEventListener('transport:listening', (e) => { bound.push(...e.detail.getAddrs()) })
    // a new grant may admit a peer we already know: try it
    this.unsubscribe = this.db.subscribe((event) => {
      if (event.ops.some((op) => op.op === 'grant')) this.peerManager.connectMembers()
    })
    // changes held for clock drift apply once the local clock catches up
    this.heldTimer = setInterval(() => {
      if (this.db.stats().held > 0) {
        void this.db.retryHeld().then((n) => { if (n > 0) this.log(`applied ${n} held change(s)`) }, () => {})
      }
    }, 5_000)
    this.heldTimer.unref()
    // listening before the host starts: a bootstrap address is announced once, right at start
    this.peerManager.start()
    await host.start()
    // answer pairing queries on the LAN only while a window is open
    await announcePairing(host, false)
    if (dataDir !== undefined) rememberListen(dataDir, boundListen(listen, bound))
    // dial every member we know an address for (remembered from an earlier run)
    this.peerManager.connectMembers()
  }

  /** Members only, once this replica knows its membership (a freshly joined one does not yet). */
  mayConnect (peer: string): boolean {
    if (this.allowPeer !== undefined && !this.allowPeer(peer)) return false
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

  /** Inbound sync streams: members sync; a guest is told why not; anyone else is cut off. */
  private admitStream (peer: string, stream: Stream): boolean {
    if (this.mayConnect(peer)) return true
    if (this.guests.mayAnswer(peer)) void this.refuse(peer, stream, false)
    else stream.abort(new Error('not a member'))
    return false
  }

  private onConnection (connection: Connection): void {
    const peer = connection.remotePeer
    if (this.mayConnect(peer.toString())) return // the peer manager takes it from here
    if (!this.guests.admit(connection)) return
    // if we are the opener, the guest would wait for us forever: tell it why now
    if (this.peerId < peer.toString()) void this.tellRefused(peer)
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

  /** Looks at every known member again now (e.g. after `allowPeer` changed its mind) instead of at the next retry. */
  connectMembers (): void { this.peerManager.connectMembers() }

  get peerId (): string { return this.host.peerId.toString() }

  multiaddrs (): string[] { return this.host.getMultiaddrs().map((m) => m.toString()) }

  /** the version vector a peer last told us it holds (for sync lag) */
  peerVector (peer: string): VersionVector | undefined { return this.peerVectors.get(peer) }

  /** peers with a live sync session */
  peers (): string[] { return this.host.services.sync.peers() }

  stats (): NodeStats {
    const sync = this.host.services.sync
    let buffered = 0
    for (const peer of sync.peers()) {
      const r = sync.session(peer)?.readBuffer()
      if (r === undefined) continue
      buffered += r.buffered
      this.readPeak = Math.max(this.readPeak, r.peak)
    }
    return {
      peers: this.peers(),
      rejected: { ...this.counters.rejected },
      applied: this.counters.applied,
      bytesIn: this.counters.bytesIn,
      bytesOut: this.counters.bytesOut,
      changeBytes: { ...this.counters.changeBytes },
      readBufferedBytes: buffered,
      readBufferPeakBytes: this.readPeak,
      connections: this.guard.stats()
    }
  }

  /** What the per-peer rate limits let through from `peer`, and how often they held it back. */
  rateStats (peer: string): PeerRateStats { return this.limiter.stats(peer) }

  private onApplied (applied: number, peer: string): void {
    this.counters.applied += applied
    if (applied > 0) this.log(`applied ${applied} change(s) from ${peer}`)
  }

  private onRejected (r: Rejection, peer: string): void {
    this.counters.rejected[r.error.name] = (this.counters.rejected[r.error.name] ?? 0) + r.count
    this.log(`rejected ${r.count} change(s) from ${r.author ?? 'unknown author'} via ${peer}: ${r.error.name}: ${r.error.message}`)
    this.dispatchEvent(new CustomEvent('rejected', { detail: { ...r, via: peer } }))
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe?.()
    if (this.heldTimer !== undefined) clearInterval(this.heldTimer)
    this.peerManager.stop()
    await this.pairing.stop()
    await this.guests.stop()
    await this.host.stop()   // stops the sync service: every session closes
    await this.ownDatastore?.close()
  }
}
