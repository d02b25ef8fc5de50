import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { addressKey } from '../../node/peer-limits.ts'

describe('connection limits: which address a connection counts against', () => {
  it('an IPv4 address, an IPv6 /64, and no address for a relayed connection', () => {
    assert.equal(addressKey({ remoteAddr: multiaddr('/ip4/192.168.1.7/tcp/4001') }), '192.168.1.7')
    assert.equal(addressKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:2:aaaa:bbbb:cccc:dddd/tcp/4001') }), addressKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:2::1/tcp/9') }))
    assert.notEqual(addressKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:3::1/tcp/9') }), addressKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:2::1/tcp/9') }))
    assert.equal(addressKey({ remoteAddr: multiaddr('/ip6/2001:db8::1/tcp/9') }), '2001:db8:0:0::/64')
    assert.equal(addressKey({ remoteAddr: multiaddr('/ip6/2001:0db8:0:0:1::1/tcp/9') }), '2001:db8:0:0::/64')
    assert.equal(addressKey({ remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf/p2p-circuit') }), undefined)
  })
})
