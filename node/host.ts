/**
 * The libp2p host of a BlazeDB node: TCP (or the transports given), Noise, Yamux, identify,
 * ping, mDNS (on by default, one service tag per database so only its replicas find each
 * other), bootstrap addresses, the device identity as the peer key, a peer store on the
 * given datastore (remembered across restarts), extra services (sync), and limits that keep
 * a busy or hostile peer from taking the node down.
 */
import { createLibp2p, type Libp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { mdns } from '@libp2p/mdns'
import { bootstrap } from '@libp2p/bootstrap'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { ConnectionGater, PeerId, ServiceMap } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Identity } from '../engine/crypto/identity.ts'

export interface HostLimits {
  /** most open connections; default 64 */
  maxConnections?: number
  /** inbound connections accepted per second from one host; default 10 (libp2p's 5 is too few for a cluster test) */
  inboundPerHostPerSecond?: number
  /** inbound connections still upgrading; default 16 */
  maxPendingInbound?: number
  /** ms for a new inbound connection to finish its handshakes; default 10 s */
  upgradeTimeoutMs?: number
  /** ms between liveness pings on each connection; a failed ping closes it; default 10 s */
  pingIntervalMs?: number
}

export interface HostOptions {
  identity: Identity
  dbId: string
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  /** decides whether a peer may connect at all (members only, once membership is known) */
  allowPeer: (peerId: string) => boolean
  limits?: HostLimits
  /** libp2p transports; default [tcp()] */
  transports?: Transports
  /** where the peer store lives; default in memory (nothing remembered across restarts) */
  datastore?: Datastore
  /** start listening and dialling at once; default true */
  start?: boolean
}

export type Transports = NonNullable<Libp2pOptions['transports']>

/** Remembered peer addresses stay dialable this long (libp2p's default is one hour). */
export const ADDRESS_MAX_AGE_MS = 30 * 24 * 3600 * 1000

interface BaseServices { identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }
export type Host<S extends ServiceMap = Record<never, never>> = Libp2p<BaseServices & S>

export async function createHost<S extends ServiceMap = Record<never, never>> (options: HostOptions, services?: ServiceFactoryMap<S>): Promise<Host<S>> {
  const raw = new Uint8Array(64)
  raw.set(options.identity.seed)
  raw.set(options.identity.publicKey, 32)
  const privateKey = privateKeyFromRaw(raw)
  const limits = options.limits ?? {}
  const gater: ConnectionGater = {
    // the Noise handshake has proven who the peer is: refuse non-members right there
    denyInboundEncryptedConnection: (peer: PeerId) => !options.allowPeer(peer.toString()),
    denyOutboundEncryptedConnection: (peer: PeerId) => !options.allowPeer(peer.toString()),
    // loopback and LAN addresses are the point of this database
    denyDialMultiaddr: () => false
  }
  const discovery: Array<ReturnType<typeof mdns> | ReturnType<typeof bootstrap>> = []
  if (options.mdns) discovery.push(mdns({ serviceTag: `blazedb-${options.dbId.slice(0, 16)}.local`, interval: 5_000 }))
  if (options.bootstrap.length > 0) discovery.push(bootstrap({ list: options.bootstrap, timeout: 0 }))
  const host = await createLibp2p({
    privateKey,
    addresses: { listen: options.listen },
    transports: options.transports ?? [tcp()],
    ...(options.datastore === undefined ? {} : { datastore: options.datastore }),
    // a laptop that was off for a week must still find the members it knew
    peerStore: { maxAddressAge: ADDRESS_MAX_AGE_MS, maxPeerAge: ADDRESS_MAX_AGE_MS },
    start: options.start ?? true,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    connectionGater: gater,
    connectionManager: {
      maxConnections: limits.maxConnections ?? 64,
      inboundConnectionThreshold: limits.inboundPerHostPerSecond ?? 10,
      maxIncomingPendingConnections: limits.maxPendingInbound ?? 16,
      inboundUpgradeTimeout: limits.upgradeTimeoutMs ?? 10_000
    },
    // a peer that stops answering pings (gone, or stalled) loses its connection
    connectionMonitor: { enabled: true, pingInterval: limits.pingIntervalMs ?? 10_000, abortConnectionOnPingFailure: true },
    services: { identify: identify(), ping: ping(), ...services } as ServiceFactoryMap<BaseServices & S>
  })
  return host as unknown as Host<S>
}
