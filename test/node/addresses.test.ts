import assert from 'node:assert/strict'
import type { NetworkInterfaceInfo } from 'node:os'
import type { Listener } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { InterfaceAddresses } from '../../node/addresses.ts'

const PEER = '12D3KooWGFthQMbxQBdJ6rJaXJAf28cwbsyojXDLDcAjjunXwgiz'

function iface (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo
}

/** A listener that reports what @libp2p/tcp would: the wildcard expanded, link-local skipped. */
function fakeListener (expanded: string[]): Listener & { close: () => void } {
  const target = new EventTarget()
  let bound: string[] = []
  return Object.assign(target, {
    listen: async (_ma: Multiaddr) => { bound = expanded },
    getAddrs: () => bound.map((a) => multiaddr(a)),
    updateAnnounceAddrs: () => {},
    close: () => { target.dispatchEvent(new Event('close')) }
  }) as unknown as Listener & { close: () => void }
}

const withPeer = (a: string): string => `${a}/p2p/${PEER}`

describe('addresses a node announces', () => {
  // a host with loopback, a link-local IPv4, a public IPv4, a link-local and a global IPv6
  const interfaces = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    eth0: [iface('169.254.7.9', 'IPv4'), iface('fe80::1', 'IPv6')],
    eth1: [iface('11.2.3.4', 'IPv4'), iface('2001:4860::5', 'IPv6')]
  })

  it('a wildcard listener announces every interface address (link-local and public), never loopback', async () => {
    const addrs = new InterfaceAddresses(PEER, interfaces)
    const l = addrs.watch(fakeListener(['/ip4/127.0.0.1/tcp/4001', '/ip4/11.2.3.4/tcp/4001']))
    await l.listen(multiaddr('/ip4/0.0.0.0/tcp/4001'))
    // what libp2p passes on: the verified ones (loopback and private), with our peer id
    const out = addrs.announceFilter([multiaddr(withPeer('/ip4/127.0.0.1/tcp/4001'))]).map(String).sort()
    assert.deepEqual(out, [withPeer('/ip4/11.2.3.4/tcp/4001'), withPeer('/ip4/169.254.7.9/tcp/4001')])
  })

  it('an IPv6 wildcard adds global IPv6 addresses, not fe80:: (undialable without the dialler\'s zone)', async () => {
    const addrs = new InterfaceAddresses(PEER, interfaces)
    const l = addrs.watch(fakeListener(['/ip6/::1/tcp/4002']))
    await l.listen(multiaddr('/ip6/::/tcp/4002'))
    const out = addrs.announceFilter([multiaddr(withPeer('/ip6/::1/tcp/4002'))]).map(String)
    assert.deepEqual(out, [withPeer('/ip6/2001:4860::5/tcp/4002')])
  })

  it('a listener on one address announces only it; loopback only when nothing else exists', async () => {
    const addrs = new InterfaceAddresses(PEER, interfaces)
    const l = addrs.watch(fakeListener(['/ip4/127.0.0.1/tcp/4003']))
    await l.listen(multiaddr('/ip4/127.0.0.1/tcp/4003'))
    const only = [multiaddr(withPeer('/ip4/127.0.0.1/tcp/4003'))]
    assert.deepEqual(addrs.announceFilter(only).map(String), only.map(String))
    const relayed = multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${PEER.replace('GF', 'GG')}/p2p-circuit/p2p/${PEER}`)
    assert.deepEqual(addrs.announceFilter([...only, relayed]).map(String), [relayed.toString()])
  })

  it('a closed wildcard listener is announced no more', async () => {
    const addrs = new InterfaceAddresses(PEER, interfaces)
    const l = addrs.watch(fakeListener(['/ip4/127.0.0.1/tcp/4004']))
    await l.listen(multiaddr('/ip4/0.0.0.0/tcp/4004'))
    assert.equal(addrs.announceFilter([]).length, 2)
    l.close()
    assert.deepEqual(addrs.announceFilter([]), [])
  })
})
