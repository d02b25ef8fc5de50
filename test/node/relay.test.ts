import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { Database } from '../../engine/index.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { createHost, type Host } from '../../node/host.ts'
import { NoRouteError } from '../../node/errors.ts'
import { connectedRelays, dialMember, isRelayed } from '../../node/relay.ts'
import { cleanupsAfterEach, diskDatabases } from '../engine/helpers.ts'
import { converged, until } from '../wait.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** Resolves once `node` has a sync session with `peer`, within a bound. */
function sessionWith (node: BlazeNode, peer: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (node.peers().includes(peer)) { resolve(); return }
    const timer = setTimeout(() => { node.removeEventListener('session:start', on); reject(new Error(`no session with ${peer} within ${timeoutMs} ms`)) }, timeoutMs)
    const on = (e: Event): void => {
      if ((e as CustomEvent<{ peer: string }>).detail.peer !== peer) return
      clearTimeout(timer)
      node.removeEventListener('session:start', on)
      resolve()
    }
    node.addEventListener('session:start', on)
  })
}

/** Resolves once `check()` holds, re-checked on each `type` event of `target`, within a bound. */
function when (target: EventTarget, type: string, check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { target.removeEventListener(type, on); reject(new Error(`${what}: not within ${timeoutMs} ms`)) }, timeoutMs)
    const on = (): void => {
      void Promise.resolve(check()).then((ok) => {
        if (!ok) return
        clearTimeout(timer)
        target.removeEventListener(type, on)
        resolve()
      })
    }
    target.addEventListener(type, on)
    on()
  })
}

describe('relay: members reach each other through a circuit-relay-v2 server', function () {
  this.timeout(120_000)
  const cleanup = cleanupsAfterEach()

  const database = diskDatabases(cleanup)
  async function node (db: Database, bootstrap: string[]): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, listen: LOOPBACK, mdns: false, bootstrap, backoffMs: 100, maxBackoffMs: 1_000 })
    cleanup(async () => { await n.stop() })
    return n
  }

  it('two members that only know a relay connect through it by peer id and sync over the relayed connection, past the 128 KiB default limit', async () => {
    const laptop = await database()
    const phone = await database(laptop.id)
    // the relay here is a bare host (no replica): whatever the phone and laptop exchange
    // must cross the relayed connection, not wait on the relay
    const relayIdentity = identityFromSeed(new Uint8Array(32).fill(7))
    await laptop.members.grant(phone.peerId, 'writer')
    await laptop.members.grant(relayIdentity.peerId, 'reader')
    await phone.applyChanges(laptop.changesSince({})) // the phone knows the members (as after pairing)
    const relay: Host = await createHost({ identity: relayIdentity, dbId: laptop.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true, relay: true })
    cleanup(async () => { await relay.stop() })
    const relayAddr = relay.getMultiaddrs()[0]!.toString()

    const nl = await node(laptop, [relayAddr])
    const np = await node(phone, [relayAddr])
    // the laptop reserves a slot: it is reachable at /…/p2p/RELAY/p2p-circuit/p2p/LAPTOP
    await sessionWith(np, nl.peerId)
    assert.ok(nl.multiaddrs().some((a) => a.includes(`/p2p/${relay.peerId.toString()}/p2p-circuit/p2p/${nl.peerId}`)), nl.multiaddrs().join(' '))
    // both may have dialled at once: every connection between them goes through the relay, unlimited
    const relayed = (): boolean => {
      const conns = np.host.getConnections(peerIdFromString(nl.peerId))
      return conns.length > 0 && conns.every((c) => isRelayed(c) && c.limits === undefined && c.status === 'open')
    }
    assert.ok(relayed(), np.host.getConnections().map((c) => c.remoteAddr.toString()).join(' '))
    const ended: unknown[] = []
    np.addEventListener('session:end', (e) => { ended.push((e as CustomEvent).detail) })
    await laptop.collection('notes').insert({ id: 'l1', text: 'from the laptop' })
    await until(phone, () => phone.collection('notes').get('l1') !== undefined)
    await phone.collection('notes').insert({ id: 'p1', text: 'from the phone' })
    await until(laptop, () => laptop.collection('notes').get('p1') !== undefined)
    // ~1 MiB more, well past the 128 KiB a default relay reservation allows per connection
    for (let i = 0; i < 16; i++) await laptop.collection('blobs').insert({ id: `b${i}`, data: randomBytes(48 * 1024).toString('base64') })
    await converged([laptop, phone])
    assert.equal(phone.collection('blobs').get('b15') !== undefined, true)
    assert.ok(relayed(), 'still relayed and open')
    assert.deepEqual(ended, [], 'no session ended: the relay cut nothing off')
  })

  it('BlazeNode with relay: true (a reader) relays between members and holds what one wrote while the other was away', async () => {
    const laptop = await database()
    const phone = await database(laptop.id)
    const pi = await database(laptop.id)
    await laptop.members.grant(phone.peerId, 'writer')
    await laptop.members.grant(pi.peerId, 'reader')
    const npi = await BlazeNode.start({ db: pi, listen: LOOPBACK, mdns: false, relay: true, backoffMs: 100, maxBackoffMs: 1_000 })
    cleanup(async () => { await npi.stop() })
    const piAddr = npi.multiaddrs()[0]!
    const nl = await node(laptop, [piAddr])
    let np = await node(phone, [piAddr])
    // the phone learns the members from the Pi, then reaches the laptop through it
    await sessionWith(np, nl.peerId)
    assert.ok(np.host.getConnections(peerIdFromString(nl.peerId)).every(isRelayed))
    await laptop.collection('notes').insert({ id: 'l1' })
    await until(phone, () => phone.collection('notes').get('l1') !== undefined)
    // store-and-forward: the phone is away while the laptop writes, then the laptop is away
    await np.stop()
    await laptop.collection('notes').insert({ id: 'l2' })
    await until(pi, () => pi.collection('notes').get('l2') !== undefined)
    await nl.stop()
    np = await node(phone, [piAddr])
    await until(phone, () => phone.collection('notes').get('l2') !== undefined)
    assert.deepEqual(np.peers(), [npi.peerId])
  })

  it('over a relay that does limit relayed connections (libp2p\'s defaults), sync still runs: it may use limited connections', async () => {
    const laptop = await database()
    const phone = await database(laptop.id)
    const relayIdentity = identityFromSeed(new Uint8Array(32).fill(8))
    await laptop.members.grant(phone.peerId, 'writer')
    await laptop.members.grant(relayIdentity.peerId, 'reader')
    await phone.applyChanges(laptop.changesSince({}))
    const raw = new Uint8Array(64)
    raw.set(relayIdentity.seed)
    raw.set(relayIdentity.publicKey, 32)
    // someone else's relay, with circuit-relay-v2's default 2 min / 128 KiB limit per connection
    const relay = await createLibp2p({
      privateKey: privateKeyFromRaw(raw),
      addresses: { listen: LOOPBACK },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    cleanup(async () => { await relay.stop() })
    const relayAddr = relay.getMultiaddrs()[0]!.toString()
    const nl = await node(laptop, [relayAddr])
    const np = await node(phone, [relayAddr])
    await sessionWith(np, nl.peerId)
    const conns = np.host.getConnections(peerIdFromString(nl.peerId))
    assert.ok(conns.length > 0 && conns.every((c) => isRelayed(c) && c.limits !== undefined), conns.map((c) => c.remoteAddr.toString()).join(' '))
    await laptop.collection('notes').insert({ id: 'l1' })
    await until(phone, () => phone.collection('notes').get('l1') !== undefined)
    await phone.collection('notes').insert({ id: 'p1' })
    await until(laptop, () => laptop.collection('notes').get('p1') !== undefined)
  })

  it('a member whose known addresses swallow the handshake is still reached through the relay', async () => {
    const laptop = await database()
    const phone = await database(laptop.id)
    const relayIdentity = identityFromSeed(new Uint8Array(32).fill(10))
    await laptop.members.grant(phone.peerId, 'writer')
    await laptop.members.grant(relayIdentity.peerId, 'reader')
    const relay: Host = await createHost({ identity: relayIdentity, dbId: laptop.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true, relay: true })
    cleanup(async () => { await relay.stop() })
    const relayAddr = relay.getMultiaddrs()[0]!.toString()
    const nl = await node(laptop, [relayAddr])
    await when(nl.host as unknown as EventTarget, 'self:peer:update', () => nl.multiaddrs().some((a) => a.includes('/p2p-circuit')), 'the laptop reserving a slot')
    // stale addresses for the laptop that accept TCP and then never answer (like a SYN into the void)
    const sockets: Socket[] = []
    const silent: Server[] = []
    for (let i = 0; i < 2; i++) {
      const server = createServer((s) => { sockets.push(s) })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      silent.push(server)
    }
    cleanup(() => { for (const s of sockets) s.destroy(); for (const s of silent) s.close() })
    // the phone does not know the membership yet, so it dials nobody by itself
    const np = await node(phone, [relayAddr])
    await when(np.host as unknown as EventTarget, 'peer:identify', async () => (await connectedRelays(np.host)).length > 0, 'the phone meeting the relay')
    const laptopId = peerIdFromString(nl.peerId)
    await np.host.peerStore.merge(laptopId, { multiaddrs: silent.map((s) => multiaddr(`/ip4/127.0.0.1/tcp/${(s.address() as { port: number }).port}`)) })
    // two silent addresses would take libp2p 2 × 6 s, past the 10 s dial: the direct try is cut short
    const conn = await dialMember(np.host, laptopId, { signal: AbortSignal.timeout(10_000) })
    assert.ok(isRelayed(conn), conn.remoteAddr.toString())
    assert.equal(sockets.length > 0, true, 'the stale address was tried first')
  })

  it('a member with no known address and no relay: NoRouteError, which says what to do', async () => {
    const a = await database()
    const na = await node(a, [])
    const stranger = identityFromSeed(new Uint8Array(32).fill(9))
    await assert.rejects(dialMember(na.host, peerIdFromString(stranger.peerId)), (e: Error) => {
      assert.ok(e instanceof NoRouteError)
      assert.equal(e.name, 'NoRouteError')
      assert.equal((e as NoRouteError).code, 'ERR_NO_ROUTE')
      assert.match(e.message, /--relay/)
      return true
    })
  })
})
