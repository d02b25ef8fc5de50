/**
 * Circuit relay v2 for BlazeDB: the server an always-on node (the Pi) runs with
 * `blaze start --relay`, and how every node reaches a member it cannot dial directly.
 *
 * - Every node has the circuit-relay transport and listens on `/p2p-circuit`: once it is
 *   connected to a relay (a bootstrap address, a remembered peer), it reserves a slot
 *   there and becomes reachable as `/…/p2p/RELAY/p2p-circuit/p2p/SELF`.
 * - A node learns no relayed address of another device ahead of time, and needs none: a
 *   relay it is connected to forwards to any peer holding a reservation there, named by
 *   peer id. So `dialMember` tries the peer's known addresses first, then
 *   `/p2p/RELAY/p2p-circuit/p2p/PEER` through every relay it is connected to.
 * - The server applies no data or duration limit to relayed connections (libp2p's defaults,
 *   2 min and 128 KiB per connection, would cut a sync session off mid-catch-up), so a
 *   relayed connection is a full connection. Only members reach the relay at all (the
 *   connection gater), and the gater also refuses reservations and circuits for non-members.
 * - DCUtR (`@libp2p/dcutr`) upgrades a relayed connection to a direct one when the peers
 *   have public addresses; between private networks the connection stays relayed.
 */
import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { NoRouteError } from './errors.ts'

/** The listen address that asks the relay transport to reserve a slot on relays it meets. */
export const CIRCUIT_LISTEN = '/p2p-circuit'

export interface RelayServerLimits {
  /** peers that may hold a reservation at once; default 128 */
  maxReservations?: number
  /** simultaneous relayed connections being set up (HOP streams); default 64 */
  maxHopStreams?: number
}

/** A circuit-relay-v2 server sized for sync: no per-connection data or time limit. */
export function relayServer (limits: RelayServerLimits = {}): ReturnType<typeof circuitRelayServer> {
  return circuitRelayServer({
    reservations: {
      maxReservations: limits.maxReservations ?? 128,
      // the defaults (2 min, 128 KiB) end a relayed sync session; members relay for members
      applyDefaultLimit: false
    },
    maxInboundHopStreams: limits.maxHopStreams ?? 64,
    maxOutboundHopStreams: limits.maxHopStreams ?? 64
  })
}

/** The relay transport every node has; reservations are retried when a relay comes back. */
export function relayTransport (): ReturnType<typeof circuitRelayTransport> {
  return circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
}

/** Is this connection relayed (a `/p2p-circuit` address)? */
export function isRelayed (connection: Connection): boolean {
  return connection.remoteAddr.getComponents().some((c) => c.name === 'p2p-circuit')
}

/** Peers we hold a direct connection to that run a relay server (identify told us so). */
export async function connectedRelays (host: Libp2p, except?: PeerId): Promise<PeerId[]> {
  const relays: PeerId[] = []
  const seen = new Set<string>()
  for (const connection of host.getConnections()) {
    const peer = connection.remotePeer
    if (isRelayed(connection) || seen.has(peer.toString()) || (except?.equals(peer) ?? false)) continue
    seen.add(peer.toString())
    try {
      const known = await host.peerStore.get(peer)
      if (known.protocols.includes(RELAY_V2_HOP_CODEC)) relays.push(peer)
    } catch {
      // not in the peer store yet: identify has not run
    }
  }
  return relays
}

/** `/p2p/RELAY/p2p-circuit/p2p/PEER` for each relay. */
export function circuitAddresses (relays: PeerId[], peer: PeerId): Multiaddr[] {
  return relays.map((r) => multiaddr(`/p2p/${r.toString()}/p2p-circuit/p2p/${peer.toString()}`))
}

async function knownAddresses (host: Libp2p, peer: PeerId): Promise<number> {
  try {
    return (await host.peerStore.get(peer)).addresses.length
  } catch {
    return 0
  }
}

/** How long the direct attempt may take when a relay could be tried next (libp2p tries addresses one by one, 6 s each). */
export const DIRECT_FIRST_MS = 4_000

/**
 * Connects to a member: through its known addresses (direct, or relayed ones identify
 * told us about), else through each relay we are connected to, by peer id. When a relay
 * is there to fall back on, the direct attempt gets `DIRECT_FIRST_MS` (an address on a
 * network we are not on may swallow a SYN until the dial times out).
 * Throws `NoRouteError` when neither exists, else the last dial error.
 */
export async function dialMember (host: Libp2p, peer: PeerId, options: AbortOptions = {}): Promise<Connection> {
  let failure: unknown
  const relays = await connectedRelays(host, peer)
  if (await knownAddresses(host, peer) > 0) {
    const signal = relays.length === 0 ? options.signal : AbortSignal.any([AbortSignal.timeout(DIRECT_FIRST_MS), ...(options.signal === undefined ? [] : [options.signal])])
    try {
      return await host.dial(peer, { ...options, ...(signal === undefined ? {} : { signal }) })
    } catch (error) {
      if (options.signal?.aborted === true) throw error
      failure = error
    }
  }
  if (relays.length > 0) return await host.dial(circuitAddresses(relays, peer), options)
  throw failure ?? new NoRouteError(peer.toString())
}
