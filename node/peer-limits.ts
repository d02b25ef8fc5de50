/**
 * Connection limits per remote address and per peer, where libp2p has only global ones.
 *
 * libp2p 3.x counts pending upgrades globally (`maxIncomingPendingConnections`) and open
 * connections globally (`maxConnections`): 16 idle half-open sockets lock every member out,
 * and one member holding 60 connections fills the node. This guard adds, through the
 * connection gater and a `connection:open` listener:
 * - at most `maxPendingPerAddress` inbound connections still upgrading per remote address
 *   (an IPv4 address, or an IPv6 /64, which one host usually owns whole);
 * - at most `maxConnectionsPerPeer` connections per peer: a surplus inbound one is refused
 *   once upgraded, and if one slips through (both sides dialling at once) the peer's newest
 *   connections without a stream are closed;
 * - near the global cap, surplus connections of peers holding more than one are closed
 *   first, so a peer with its share (one) is never the one pruned.
 *
 * @example
 * const guard = new ConnectionGuard({ maxConnectionsPerPeer: 4 }, 64)
 * const host = await createHost({ ..., gater: guard.gater })
 * guard.attach(host)
 */
import type { Connection, ConnectionGater, Libp2p, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { tryGetNetConfig } from '@libp2p/utils'
import type { PeerRateLimits } from '../protocols/sync/index.ts'

export interface ConnectionLimits {
  /** connections per peer (both directions); default 4 */
  maxConnectionsPerPeer?: number
  /** inbound connections still upgrading per remote address (IPv4, or IPv6 /64); default 4 */
  maxPendingPerAddress?: number
}

/** Everything a node limits per peer: connections (here), rates and sessions (protocols/sync/rate-limit.ts), stalls. */
export interface PeerLimits extends ConnectionLimits, PeerRateLimits {
  /** ms our send buffer to a peer may stay full before its session is reset; default 30 s */
  sendTimeoutMs?: number
}

export const CONNECTION_LIMIT_DEFAULTS = { maxConnectionsPerPeer: 4, maxPendingPerAddress: 4 } as const

export interface GuardStats {
  /** inbound connections refused because their address had too many upgrading */
  refusedPending: number
  /** upgraded connections refused because their peer had too many */
  refusedPerPeer: number
  /** connections closed as a peer's surplus */
  pruned: number
}

/**
 * The remote address a connection counts against: the IPv4 address, or the IPv6 /64.
 * Relayed connections count against none: their address is the relay's, shared by every
 * peer that comes through it (the relay server limits its own circuits).
 */
export function addressKey (conn: Pick<MultiaddrConnection, 'remoteAddr'>): string | undefined {
  if (conn.remoteAddr.toString().includes('/p2p-circuit')) return undefined
  const config = tryGetNetConfig(conn.remoteAddr)
  if (config === null) return undefined
  if (config.type === 'ip6') return ip6Groups(config.host).slice(0, 4).join(':') + '::/64'
  return config.host
}

/** The 8 groups of an IPv6 address, '::' expanded (an embedded IPv4 tail counts as the last two). */
function ip6Groups (host: string): string[] {
  const [head = '', tail] = host.split('%')[0]!.split('::')
  const part = (s: string): string[] => s === '' ? [] : s.split(':').flatMap((g) => g.includes('.') ? ['v4', 'v4'] : [g.toLowerCase().replace(/^0+(?=.)/, '')])
  const left = part(head)
  const right = tail === undefined ? [] : part(tail)
  return [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
}

export class ConnectionGuard {
  readonly maxConnectionsPerPeer: number
  readonly maxPendingPerAddress: number
  private readonly pending = new Map<string, number>()
  private readonly tracked = new Map<MultiaddrConnection, string>()
  private readonly counters: GuardStats = { refusedPending: 0, refusedPerPeer: 0, pruned: 0 }
  private host: Libp2p | undefined
  private readonly maxConnections: number
  private readonly log: (line: string) => void

  /** `maxConnections`: the host's global cap (connectionManager.maxConnections) */
  constructor (limits: ConnectionLimits = {}, maxConnections = Infinity, log: (line: string) => void = () => {}) {
    this.maxConnections = maxConnections
    this.maxConnectionsPerPeer = limits.maxConnectionsPerPeer ?? CONNECTION_LIMIT_DEFAULTS.maxConnectionsPerPeer
    this.maxPendingPerAddress = limits.maxPendingPerAddress ?? CONNECTION_LIMIT_DEFAULTS.maxPendingPerAddress
    this.log = log
  }

  /** Gater hooks, to combine with the node's own (a connection is refused if either refuses). */
  readonly gater: Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'> = {
    denyInboundConnection: (maConn: MultiaddrConnection) => this.denyPending(maConn),
    denyInboundUpgradedConnection: (peer: PeerId, maConn: MultiaddrConnection) => this.denyUpgraded(peer, maConn)
  }

  /** Starts watching the host's connections (call once, after the host is created). */
  attach (host: Libp2p): void {
    this.host = host
    host.addEventListener('connection:open', (e) => { this.onOpen(e.detail) })
  }

  stats (): GuardStats { return { ...this.counters } }

  /** Inbound connections still upgrading, per remote address. */
  pendingByAddress (): Record<string, number> { return Object.fromEntries(this.pending) }

  private denyPending (maConn: MultiaddrConnection): boolean {
    const key = addressKey(maConn)
    if (key === undefined) return false
    const n = this.pending.get(key) ?? 0
    if (n >= this.maxPendingPerAddress) {
      this.counters.refusedPending++
      this.log(`refused a connection from ${key}: ${n} from there are still upgrading`)
      return true
    }
    this.pending.set(key, n + 1)
    this.tracked.set(maConn, key)
    // an upgrade that fails or times out closes the socket: the slot is free again
    maConn.addEventListener('close', () => { this.release(maConn) }, { once: true })
    return false
  }

  private release (maConn: MultiaddrConnection): void {
    const key = this.tracked.get(maConn)
    if (key === undefined) return
    this.tracked.delete(maConn)
    const n = (this.pending.get(key) ?? 1) - 1
    if (n <= 0) this.pending.delete(key)
    else this.pending.set(key, n)
  }

  private denyUpgraded (peer: PeerId, maConn: MultiaddrConnection): boolean {
    this.release(maConn)
    const open = this.host?.getConnections(peer).length ?? 0
    if (open >= this.maxConnectionsPerPeer) {
      this.counters.refusedPerPeer++
      this.log(`refused connection ${open + 1} of ${peer.toString()} (at most ${this.maxConnectionsPerPeer} per peer)`)
      return true
    }
    return false
  }

  private onOpen (connection: Connection): void {
    const host = this.host
    if (host === undefined) return
    this.trim(host.getConnections(connection.remotePeer), this.maxConnectionsPerPeer)
    // near the global cap: peers holding more than their share give up their extras first
    const all = host.getConnections()
    if (all.length < this.maxConnections - 1) return
    const byPeer = new Map<string, Connection[]>()
    for (const c of all) {
      const key = c.remotePeer.toString()
      byPeer.set(key, [...(byPeer.get(key) ?? []), c])
    }
    for (const conns of [...byPeer.values()].sort((a, b) => b.length - a.length)) {
      if (conns.length <= 1) break
      this.trim(conns, 1)
    }
  }

  /** Closes the newest connections without streams until `keep` remain (a connection carrying a session stays). */
  private trim (conns: Connection[], keep: number): void {
    const open = conns.filter((c) => c.status === 'open')
    if (open.length <= keep) return
    const surplus = open
      .filter((c) => c.streams.length === 0)
      .sort((a, b) => b.timeline.open - a.timeline.open)
      .slice(0, open.length - keep)
    for (const c of surplus) {
      this.counters.pruned++
      this.log(`closing surplus connection to ${c.remotePeer.toString()} (${open.length} open, ${keep} allowed)`)
      void c.close().catch((err: Error) => { c.abort(err) })
    }
  }
}
