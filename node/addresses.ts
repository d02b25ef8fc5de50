/**
 * Which of its addresses a node tells other devices about.
 *
 * Two things in libp2p 3.x get this wrong for a LAN database, and this module fixes both:
 *
 * 1. A wildcard listener (`/ip4/0.0.0.0/tcp/N`) is expanded by `@libp2p/utils`'
 *    `getThinWaistAddresses` into every interface address *except link-local ones*
 *    (169.254.0.0/16, fe80::/10). A laptop and a phone joined only by a cable or an ad-hoc
 *    link have nothing but link-local addresses, so the node announced only 127.0.0.1 and
 *    the peer that found it by mDNS dialled its own loopback (ECONNREFUSED, forever).
 *    `tcpWithLinkLocal()` wraps the TCP transport so that a wildcard IPv4 listener also
 *    reports the interfaces' 169.254.x.y addresses, read afresh on every call (an address
 *    that appears after start is announced too).
 * 2. Loopback addresses are announced to everyone (mDNS answers, identify). A remote
 *    device that dials 127.0.0.1 reaches itself, or another program on that port.
 *    `announceFilter` drops loopback whenever the node has any other address; a node that
 *    only listens on loopback (tests, a single machine) still announces it.
 *
 * IPv6 link-local (fe80::) is not announced: such an address is only dialable with a zone
 * (`%eth0`) naming the *dialler's* interface, which the announcer cannot know, and
 * `@libp2p/tcp` drops `/ip6zone` when dialling.
 *
 * @example
 * ```ts
 * createLibp2p({ transports: [tcpWithLinkLocal()], addresses: { listen: ['/ip4/0.0.0.0/tcp/0'], announceFilter } })
 * ```
 */
import { networkInterfaces } from 'node:os'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import { isLoopback } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { CreateListenerOptions, Listener, Transport } from '@libp2p/interface'

type TcpComponents = Parameters<ReturnType<typeof tcp>>[0]

/** The IPv4 link-local (169.254.0.0/16) addresses of this host's interfaces, now. */
export function linkLocalIPv4 (interfaces = networkInterfaces()): string[] {
  const out: string[] = []
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && a.address.startsWith('169.254.')) out.push(a.address)
    }
  }
  return out
}

function isIPv4Wildcard (ma: Multiaddr): boolean {
  const [first] = ma.getComponents()
  return first?.name === 'ip4' && first.value === '0.0.0.0'
}

function tcpPort (ma: Multiaddr): number | undefined {
  const c = ma.getComponents().find((x) => x.name === 'tcp')
  return c?.value === undefined ? undefined : Number(c.value)
}

/** Adds the link-local addresses to what a wildcard listener reports. */
function withLinkLocal (listener: Listener, interfaces: () => string[]): Listener {
  const listen = listener.listen.bind(listener)
  const getAddrs = listener.getAddrs.bind(listener)
  let wildcard = false
  listener.listen = async (ma: Multiaddr): Promise<void> => {
    wildcard = isIPv4Wildcard(ma)
    await listen(ma)
  }
  listener.getAddrs = (): Multiaddr[] => {
    const addrs = getAddrs()
    if (!wildcard) return addrs
    // one wildcard socket: every expanded address carries its port (lo's 127.0.0.1 is always among them)
    const port = addrs.map(tcpPort).find((p) => p !== undefined)
    if (port === undefined) return addrs
    const have = new Set(addrs.map((a) => a.toString()))
    const extra = interfaces().map((ip) => multiaddr(`/ip4/${ip}/tcp/${port}`)).filter((a) => !have.has(a.toString()))
    return [...addrs, ...extra]
  }
  return listener
}

/** `@libp2p/tcp`, whose wildcard IPv4 listeners also report the host's link-local addresses. */
export function tcpWithLinkLocal (init: TCPOptions = {}, interfaces: () => string[] = linkLocalIPv4): (components: TcpComponents) => Transport {
  const factory = tcp(init)
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options: CreateListenerOptions): Listener => withLinkLocal(createListener(options), interfaces)
    return transport
  }
}

/** Loopback addresses only when there is nothing else: a remote device cannot dial them. */
export function announceFilter (addrs: Multiaddr[]): Multiaddr[] {
  const reachable = addrs.filter((a) => !isLoopback(a))
  return reachable.length > 0 ? reachable : addrs
}
