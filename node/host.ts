/**
 * The libp2p host of a BlazeDB node: TCP (announcing its interfaces' addresses, link-local
 * and public ones included, never loopback to others: see addresses.ts), the circuit-relay
 * transport and DCUtR (relay.ts), Noise, Yamux, identify, ping, mDNS (on by default, one
 * service tag per database so only its replicas find each other), bootstrap addresses, the
 * device identity as the peer key, an optional circuit-relay server (`relay`), a peer store
 * on the given datastore (remembered across restarts), extra services (sync), and limits
 * that keep a busy or hostile peer from taking the node down. The direct transports are
 * injectable (default TCP; `@libp2p/memory` in simulations); the relay transport is always
 * there.
 */
import { createLibp2p, type Libp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { mdns } from '@libp2p/mdns'
import { bootstrap } from '@libp2p/bootstrap'
import { dcutr } from '@libp2p/dcutr'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ConnectionGater, MultiaddrConnection, PeerId, ServiceMap, Startable } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Identity } from '../engine/crypto/identity.ts'
import { InterfaceAddresses } from './addresses.ts'
import { CIRCUIT_LISTEN, relayServer, relayTransport } from './relay.ts'

export const DEFAULT_MAX_CONNECTIONS = 64

export interface HostLimits {
  /** most open connections; default 64 */
  maxConnections?: number
  /** inbound connections accepted per second from one host; default 10 (libp2p's 5 is too few for a cluster test) */
  inboundPerHostPerSecond?: number
  /** inbound connections still upgrading, from all addresses (peer-limits.ts caps each address); default 64 */
  maxPendingInbound?: number
  /** ms for a new inbound connection to finish its handshakes; default 3 s (an idle half-open socket holds a slot this long) */
  upgradeTimeoutMs?: number
  /** largest yamux receive window per stream: what a peer may send us before we read; default 2 MiB */
  maxStreamWindowBytes?: number
  /** ms between liveness pings on each connection; a failed ping closes it; default 10 s */
  pingIntervalMs?: number
}

/**
 * The mDNS service tag of pairing: a new device does not know the database id yet, so a member
 * answers on this database-agnostic tag too, and the device only asks (it never announces).
 */
export const PAIRING_SERVICE_TAG = 'blazedb-pair.local'

export interface HostOptions {
  /** libp2p's own metrics (e.g. NodeMetrics.libp2pMetrics()) */
  metrics?: Libp2pOptions['metrics']
  identity: Identity
  /** the database (its mDNS tag); undefined for a device that is still joining */
  dbId: string | undefined
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  /** with mdns: 'answer' also answers pairing queries (a member), 'ask' only asks on the pairing tag (a joining device) */
  pairingMdns?: 'answer' | 'ask'
  /** decides whether a peer may connect at all (members, and a few non-members as guests: node/guests.ts) */
  allowPeer: (peerId: string) => boolean
  /** members only (once membership is known), for what guests must not get: relay slots, circuits between non-members; default allowPeer */
  isMember?: (peerId: string) => boolean
  /** with `relay`: may non-member `source` open a circuit to member `destination` (to pair)? default: no */
  relayGuest?: (source: string, destination: string) => boolean
  limits?: HostLimits
  /** also run a circuit-relay-v2 server for the members (the Pi); default false */
  relay?: boolean
  /** reserve a slot on relays this node meets (listen on /p2p-circuit); default true unless `relay` */
  useRelays?: boolean
  /** more gater checks (per-address and per-peer limits, node/peer-limits.ts); a connection is refused if either refuses */
  guard?: Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'>
  /** direct libp2p transports (the relay transport is added to them); default [TCP] */
  transports?: Transports
  /** where the peer store lives; default in memory (nothing remembered across restarts) */
  datastore?: Datastore
  /** start listening and dialling at once; default true */
  start?: boolean
}

export type Transports = NonNullable<Libp2pOptions['transports']>

/** Remembered peer addresses stay dialable this long (libp2p's default is one hour). */
export const ADDRESS_MAX_AGE_MS = 30 * 24 * 3600 * 1000

/** yamux's own read buffer must hold a whole receive window, or a peer respecting the window gets reset while we are paused */
const MAX_READ_BUFFER_BYTES = 4 * 1024 * 1024

// a type, not an interface: libp2p's ServiceMap needs the implicit index signature
type BaseServices = { identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }
export type Host<S extends ServiceMap = Record<never, never>> = Libp2p<BaseServices & S>

type Services = NonNullable<Libp2pOptions['services']>

export async function createHost<S extends ServiceMap = Record<never, never>> (options: HostOptions, extra?: ServiceFactoryMap<S>): Promise<Host<S>> {
  const raw = new Uint8Array(64)
  raw.set(options.identity.seed)
  raw.set(options.identity.publicKey, 32)
  const privateKey = privateKeyFromRaw(raw)
  const limits = options.limits ?? {}
  const member = options.isMember ?? options.allowPeer
  const gater: ConnectionGater = {
    // the Noise handshake has proven who the peer is: refuse non-members right there, unless
    // the node lets a few in as guests (to tell them why, or to pair: node/guests.ts)
    denyInboundEncryptedConnection: (peer: PeerId) => !options.allowPeer(peer.toString()),
    denyOutboundEncryptedConnection: (peer: PeerId) => !options.allowPeer(peer.toString()),
    // loopback and LAN addresses are the point of this database
    denyDialMultiaddr: () => false,
    // a relay serves members: reservations only for them; circuits only to a member, from a
    // member, or from a non-member that `relayGuest` admits (a device pairing through the Pi,
    // bounded in time and bytes: node/guests.ts), whom the member's own guest limits then bound
    denyInboundRelayReservation: (peer: PeerId) => !member(peer.toString()),
    denyOutboundRelayedConnection: (source: PeerId, destination: PeerId) => !member(destination.toString()) ||
      (!member(source.toString()) && !(options.relayGuest?.(source.toString(), destination.toString()) ?? false)),
    // a relayed peer is let in like a direct one: members, and guests while there is room
    denyInboundRelayedConnection: (_relay: PeerId, remote: PeerId) => !options.allowPeer(remote.toString()),
    denyInboundConnection: async (maConn: MultiaddrConnection) => await options.guard?.denyInboundConnection?.(maConn) ?? false,
    denyInboundUpgradedConnection: async (peer: PeerId, maConn: MultiaddrConnection) => await options.guard?.denyInboundUpgradedConnection?.(peer, maConn) ?? false
  }
  const window = Math.min(limits.maxStreamWindowBytes ?? 2 * 1024 * 1024, MAX_READ_BUFFER_BYTES)
  const discovery: Array<ReturnType<typeof mdns> | ReturnType<typeof bootstrap>> = []
  if (options.mdns && options.dbId !== undefined) discovery.push(mdns({ serviceTag: `blazedb-${options.dbId.slice(0, 16)}.local`, interval: 5_000 }))
  // a joining device asks on the pairing tag every second and never answers
  if (options.mdns && options.pairingMdns === 'ask') discovery.push(mdns({ serviceTag: PAIRING_SERVICE_TAG, interval: 1_000, broadcast: false }))
  if (options.bootstrap.length > 0) discovery.push(bootstrap({ list: options.bootstrap, timeout: 0 }))
  const relay = options.relay ?? false
  const useRelays = options.useRelays ?? !relay
  const services: Services = { identify: identify(), ping: ping(), dcutr: dcutr(), ...extra }
  if (relay) services.relay = relayServer()
  // a member answers on the pairing tag: a service, started only while a pairing window is open (announcePairing)
  if (options.mdns && options.pairingMdns === 'answer') services.pairingMdns = mdns({ serviceTag: PAIRING_SERVICE_TAG, interval: 3_600_000 })
  const announce = new InterfaceAddresses(peerIdFromPrivateKey(privateKey).toString())
  const listen = useRelays && !options.listen.includes(CIRCUIT_LISTEN) ? [...options.listen, CIRCUIT_LISTEN] : options.listen
  const host = await createLibp2p({
    privateKey,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    addresses: { listen, announceFilter: announce.announceFilter },
    transports: [...(options.transports ?? [announce.tcp()]), relayTransport()],
    ...(options.datastore === undefined ? {} : { datastore: options.datastore }),
    // a laptop that was off for a week must still find the members it knew
    peerStore: { maxAddressAge: ADDRESS_MAX_AGE_MS, maxPeerAge: ADDRESS_MAX_AGE_MS },
    start: options.start ?? true,
    connectionEncrypters: [noise()],
    // a paused stream (we are handling a frame) grants no window: the peer stops after `window` bytes
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: Math.max(window, 256 * 1024), maxReadBufferLength: MAX_READ_BUFFER_BYTES } })],
    peerDiscovery: discovery,
    connectionGater: gater,
    connectionManager: {
      maxConnections: limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      inboundConnectionThreshold: limits.inboundPerHostPerSecond ?? 10,
      maxIncomingPendingConnections: limits.maxPendingInbound ?? 64,
      inboundUpgradeTimeout: limits.upgradeTimeoutMs ?? 3_000
    },
    // a peer that stops answering pings (gone, or stalled) loses its connection
    connectionMonitor: { enabled: true, pingInterval: limits.pingIntervalMs ?? 10_000, abortConnectionOnPingFailure: true },
    services
  })
  return host as unknown as Host<S>
}

/**
 * Starts or stops answering on the pairing mDNS tag. A member answers only while a pairing
 * window is open, so a LAN does not learn of BlazeDB nodes the rest of the time.
 */
export async function announcePairing (host: Host, on: boolean): Promise<void> {
  const service = (host.services as Record<string, unknown>).pairingMdns as Startable | undefined
  if (service === undefined) return
  if (on) await service.start()
  else await service.stop()
}
