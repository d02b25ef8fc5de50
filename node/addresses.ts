/**
 * Which of its addresses a node tells other devices about (mDNS answers, identify, the
 * ready line): the addresses of the interfaces it listens on, never loopback to others.
 *
 * libp2p 3.x, left to itself, gets this wrong for a database of devices:
 *
 * 1. A wildcard listener (`/ip4/0.0.0.0/tcp/N`) is expanded by `@libp2p/utils`'
 *    `getThinWaistAddresses` into the interface addresses *except link-local ones*
 *    (169.254.0.0/16, fe80::/10). A laptop and a phone joined by a cable or an ad-hoc link
 *    have nothing else, so the node announced only 127.0.0.1 and the peer that found it by
 *    mDNS dialled its own loopback (ECONNREFUSED, forever).
 * 2. The address manager hides every public (non-private) address until something (AutoNAT)
 *    has verified it from outside: a Pi on a public IP announced only 127.0.0.1, and DCUtR,
 *    which upgrades only to public addresses, had nothing to upgrade to.
 * 3. Loopback is announced to everyone; a remote device that dials 127.0.0.1 reaches itself.
 *
 * `InterfaceAddresses` wraps the TCP transport to learn which listeners are wildcards (and
 * their ports), and its `announceFilter` adds, for each, the current IPv4 (and, for `::`,
 * global IPv6) addresses of the host's interfaces, read afresh on every call (an address that
 * appears after start is announced too), and drops loopback whenever anything else remains.
 * A node that listens on loopback only (tests, one machine) still announces loopback.
 *
 * IPv6 link-local (fe80::) is not announced: it is dialable only with a zone (`%eth0`)
 * naming the *dialler's* interface, which the announcer cannot know, and `@libp2p/tcp`
 * drops `/ip6zone` when it dials.
 *
 * @example
 * ```ts
 * const addrs = new InterfaceAddresses(peerId)
 * createLibp2p({ transports: [addrs.tcp()], addresses: { listen: ['/ip4/0.0.0.0/tcp/0'], announceFilter: addrs.announceFilter } })
 * ```
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import { isLoopback } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { CreateListenerOptions, Listener, Transport } from '@libp2p/interface'

type TcpComponents = Parameters<ReturnType<typeof tcp>>[0]
type Interfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>

/** The addresses a wildcard of `family` covers on this host now, loopback excluded. */
export function interfaceAddresses (family: 'ip4' | 'ip6', interfaces: Interfaces = networkInterfaces): string[] {
  const out: string[] = []
  for (const addrs of Object.values(interfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue
      if (family === 'ip4' && a.family === 'IPv4') out.push(a.address)
      // link-local IPv6 needs the dialler's zone: see the module comment
      if (family === 'ip6' && a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80')) out.push(a.address)
    }
  }
  return out
}

function wildcardFamily (ma: Multiaddr): 'ip4' | 'ip6' | undefined {
  const [first, second] = ma.getComponents()
  if (second?.name !== 'tcp') return undefined
  if (first?.name === 'ip4' && first.value === '0.0.0.0') return 'ip4'
  if (first?.name === 'ip6' && first.value === '::') return 'ip6'
  return undefined
}

function tcpPort (ma: Multiaddr): number | undefined {
  const c = ma.getComponents().find((x) => x.name === 'tcp')
  return c?.value === undefined ? undefined : Number(c.value)
}

export class InterfaceAddresses {
  private readonly peerId: string
  private readonly interfaces: Interfaces
  private readonly wildcards = new Map<Listener, 'ip4' | 'ip6'>()

  constructor (peerId: string, interfaces: Interfaces = networkInterfaces) {
    this.peerId = peerId
    this.interfaces = interfaces
  }

  /** `@libp2p/tcp`, reporting its wildcard listeners to this object. */
  tcp (init: TCPOptions = {}): (components: TcpComponents) => Transport {
    const factory = tcp(init)
    return (components) => {
      const transport = factory(components)
      const createListener = transport.createListener.bind(transport)
      transport.createListener = (options: CreateListenerOptions): Listener => this.watch(createListener(options))
      return transport
    }
  }

  /** Notes whether `listener` listens on a wildcard address (the TCP wrapper calls this for each). */
  watch (listener: Listener): Listener {
    const listen = listener.listen.bind(listener)
    listener.listen = async (ma: Multiaddr): Promise<void> => {
      await listen(ma)
      const family = wildcardFamily(ma)
      if (family !== undefined) this.wildcards.set(listener, family)
    }
    listener.addEventListener('close', () => { this.wildcards.delete(listener) })
    return listener
  }

  /** The addresses libp2p would announce, plus every interface address of our wildcard listeners, minus loopback. */
  readonly announceFilter = (addrs: Multiaddr[]): Multiaddr[] => {
    const out = [...addrs]
    const have = new Set(addrs.map((a) => a.toString()))
    for (const [listener, family] of this.wildcards) {
      // one wildcard socket: every expanded address carries its port (lo's is always among them)
      const port = listener.getAddrs().map(tcpPort).find((p) => p !== undefined)
      if (port === undefined) continue
      for (const ip of interfaceAddresses(family, this.interfaces)) {
        const a = multiaddr(`/${family}/${ip}/tcp/${port}/p2p/${this.peerId}`)
        if (!have.has(a.toString())) { have.add(a.toString()); out.push(a) }
      }
    }
    const reachable = out.filter((a) => !isLoopback(a))
    return reachable.length > 0 ? reachable : out
  }
}
