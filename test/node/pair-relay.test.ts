/**
 * Pairing through a relay (the Pi): a new device that cannot dial the member joins over a
 * circuit the relay opens for it, a non-member, to the member; the relay bounds such circuits
 * (node/guests.ts, 5.) and the member treats the device as one of its guests.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { open, type Database } from '../../engine/index.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { joinDatabase } from '../../node/join.ts'
import { NoPairingPeerError } from '../../node/errors.ts'
import { createHost, type Host } from '../../node/host.ts'
import { isRelayed } from '../../node/relay.ts'
import { savedBootstrap } from '../../node/bootstrap-file.ts'
import { Guests, type GuestLimits } from '../../node/guests.ts'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { PROTOCOL as PAIR } from '../../protocols/pair/index.ts'
import { tempDir, cleanupsAfterEach } from '../engine/helpers.ts'
import { until } from '../wait.ts'
import { nextEvent } from './events.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']


describe('pairing through a relay (the Pi)', function () {
  this.timeout(60_000)
  const cleanup = cleanupsAfterEach()

  function dir (): string {
    const d = tempDir()
    cleanup(() => d.cleanup())
    return d.path
  }
  async function database (dbId?: string): Promise<Database> {
    const db = await open({ path: dir(), ...(dbId === undefined ? {} : { dbId }) })
    cleanup(async () => { await db.close() })
    return db
  }
  async function node (db: Database, options: { bootstrap?: string[], relay?: boolean, guests?: GuestLimits } = {}): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, listen: LOOPBACK, mdns: false, backoffMs: 100, maxBackoffMs: 1_000, ...options })
    cleanup(async () => { await n.stop() })
    return n
  }

  /** A laptop (owner) with a reservation on a Pi (reader, relay). */
  async function laptopAndPi (piGuests?: GuestLimits): Promise<{ laptop: Database, nl: BlazeNode, npi: BlazeNode, piAddress: string }> {
    const laptop = await database()
    const pi = await database(laptop.id)
    await laptop.members.grant(pi.peerId, 'reader')
    const npi = await node(pi, { relay: true, ...(piGuests === undefined ? {} : { guests: piGuests }) })
    const piAddress = npi.multiaddrs().find((a) => a.startsWith('/ip4/127.0.0.1/'))!
    const nl = await node(laptop, { bootstrap: [piAddress] })
    const reserved = (): boolean => nl.multiaddrs().some((a) => a.includes(`/p2p/${npi.peerId}/p2p-circuit`))
    if (!reserved()) await nextEvent(nl.host as unknown as EventTarget, 'self:peer:update', () => reserved(), 20_000, 'the laptop reserving a slot on the Pi')
    return { laptop, nl, npi, piAddress }
  }

  /** The connections a host opens, from now on. */
  function watch (host: Host): Connection[] {
    const seen: Connection[] = []
    host.addEventListener('connection:open', (e) => { seen.push(e.detail) })
    return seen
  }

  it('a new device with only the Pi\'s address and the relayed address `pair` printed (whose relay part it cannot reach) joins over a circuit, then syncs', async () => {
    const { laptop, nl, npi, piAddress } = await laptopAndPi()
    await laptop.collection('notes').insert({ id: 'n1', text: 'from the laptop' })
    const offer = nl.pair({ role: 'writer' })
    const printed = offer.addresses.find((a) => a.includes('/p2p-circuit/'))
    assert.ok(printed !== undefined, `pair prints a relayed address: ${offer.addresses.join(' ')}`)
    assert.ok(printed.endsWith(`/p2p/${npi.peerId}/p2p-circuit/p2p/${nl.peerId}`), printed)
    // as seen from a network with no route to where the laptop sees the Pi: port 1 refuses
    const unreachable = printed.replace(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\//, '/ip4/127.0.0.1/tcp/1/')
    const opened = watch(nl.host)
    const phoneDir = dir()
    const joined = await joinDatabase({ code: offer.code, dataDir: phoneDir, bootstrap: [piAddress, unreachable], mdns: false })
    assert.equal(joined.dbId, laptop.id)
    assert.equal(joined.role, 'writer')
    assert.equal(laptop.members.roleOf(joined.peerId), 'writer')
    const fromPhone = opened.filter((c) => c.remotePeer.toString() === joined.peerId)
    assert.ok(fromPhone.length > 0 && fromPhone.every(isRelayed), fromPhone.map((c) => c.remoteAddr.toString()).join(' '))
    // the first `blaze start` will reach the Pi: its address is saved first
    assert.equal(savedBootstrap(phoneDir)[0], piAddress)

    const phone = await open({ path: phoneDir, dbId: joined.dbId })
    cleanup(async () => { await phone.close() })
    const np = await node(phone, { bootstrap: savedBootstrap(phoneDir) })
    await until(phone, () => phone.collection('notes').get('n1') !== undefined, 20_000, 'the laptop\'s note on the phone')
    await phone.collection('notes').insert({ id: 'p1', text: 'from the phone' })
    await until(laptop, () => laptop.collection('notes').get('p1') !== undefined, 20_000, 'the phone\'s note on the laptop')
    assert.ok(np.peers().includes(npi.peerId))
  })

  it('a relayed address alone (its relay reachable) is enough', async () => {
    const { laptop, nl } = await laptopAndPi()
    const offer = nl.pair({ role: 'reader' })
    const printed = offer.addresses.filter((a) => a.includes('/p2p-circuit/'))
    const joined = await joinDatabase({ code: offer.code, dataDir: dir(), bootstrap: printed, mdns: false })
    assert.equal(joined.role, 'reader')
    assert.equal(laptop.members.roleOf(joined.peerId), 'reader')
  })

  it('a relayed address whose relay this device cannot reach, without the relay\'s own address: NoPairingPeerError, which says to add it', async () => {
    const { nl, npi } = await laptopAndPi()
    const offer = nl.pair({ role: 'writer' })
    const printed = offer.addresses.find((a) => a.includes('/p2p-circuit/'))!
    const unreachable = printed.replace(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\//, '/ip4/127.0.0.1/tcp/1/')
    await assert.rejects(joinDatabase({ code: offer.code, dataDir: dir(), bootstrap: [unreachable], mdns: false, timeoutMs: 10_000 }), (e: Error) => {
      assert.ok(e instanceof NoPairingPeerError)
      assert.equal(e.name, 'NoPairingPeerError')
      assert.ok(e.message.includes(`--bootstrap /ip4/203.0.113.7/tcp/4001/p2p/${npi.peerId}`), e.message)
      return true
    })
  })

  it('only the Pi\'s address (the Pi is not pairing): NoPairingPeerError, which says to pass the relayed address too', async () => {
    const { nl, piAddress } = await laptopAndPi()
    const offer = nl.pair({ role: 'writer' })
    await assert.rejects(joinDatabase({ code: offer.code, dataDir: dir(), bootstrap: [piAddress], mdns: false, timeoutMs: 10_000 }), (e: Error) => {
      assert.ok(e instanceof NoPairingPeerError)
      assert.equal(e.name, 'NoPairingPeerError')
      assert.match(e.message, /relayed address .*p2p-circuit/)
      return true
    })
  })

  it('a non-member gets no reservation on the relay (PERMISSION_DENIED), so nobody can reach it through the relay', async () => {
    const { npi, piAddress } = await laptopAndPi()
    const pi = npi.db
    // the Pi has learnt who the members are (before that, a fresh replica lets everyone in)
    await until(pi, () => pi.members.list().length > 0, 20_000, 'the Pi receiving the membership')
    const stranger: Host = await createHost({ identity: identityFromSeed(new Uint8Array(randomBytes(32))), dbId: undefined, listen: [], bootstrap: [], mdns: false, allowPeer: () => true, useRelays: false })
    cleanup(async () => { await stranger.stop() })
    await stranger.start()
    const signal = AbortSignal.timeout(10_000)
    const lp = lpStream(await stranger.dialProtocol(multiaddr(piAddress), RELAY_V2_HOP_CODEC, { signal }))
    // HopMessage { type: RESERVE } in circuit v2's protobuf: field 1 (varint) = 0
    await lp.write(Uint8Array.of(0x08, 0x00), { signal })
    const reply = (await lp.read({ signal })).subarray()
    // HopMessage { type: STATUS (2), status: PERMISSION_DENIED (202) }: field 1, then field 5
    assert.deepEqual([...reply], [0x08, 0x02, 0x28, 0xca, 0x01])
  })

  it('non-members holding circuits through the Pi to the laptop (as many as the guest limits allow) do not keep a member from reaching the laptop through the Pi', async () => {
    const { laptop, nl, npi, piAddress } = await laptopAndPi()
    const phone = await database(laptop.id)
    await laptop.members.grant(phone.peerId, 'writer')
    await until(npi.db, () => npi.db.members.roleOf(phone.peerId) === 'writer', 20_000, 'the Pi learning the phone is a member')
    const held: Connection[] = []
    for (let i = 0; i < 2; i++) {
      const stranger: Host = await createHost({ identity: identityFromSeed(new Uint8Array(randomBytes(32))), dbId: undefined, listen: [], bootstrap: [], mdns: false, allowPeer: () => true, useRelays: false })
      cleanup(async () => { await stranger.stop() })
      await stranger.start()
      held.push(await stranger.dial(multiaddr(`${piAddress}/p2p-circuit/p2p/${nl.peerId}`), { signal: AbortSignal.timeout(10_000) }))
    }
    assert.ok(held.every((c) => isRelayed(c) && c.status === 'open'))
    // the phone knows only the Pi: it reaches the laptop through it, by peer id
    const np = await node(phone, { bootstrap: [piAddress] })
    if (!np.peers().includes(nl.peerId)) await nextEvent<{ peer: string }>(np, 'session:start', (d) => d.peer === nl.peerId, 20_000, 'the phone in session with the laptop')
    assert.ok(np.host.getConnections(peerIdFromString(nl.peerId)).every(isRelayed))
  })

  it('a non-member that sends more than the relay allows through its circuit loses its connection to the relay; members keep syncing', async () => {
    const relayBytes = 32 * 1024
    const { laptop, nl, npi, piAddress } = await laptopAndPi({ relayBytes })
    const stranger: Host = await createHost({ identity: identityFromSeed(new Uint8Array(randomBytes(32))), dbId: undefined, listen: [], bootstrap: [], mdns: false, allowPeer: () => true, useRelays: false })
    cleanup(async () => { await stranger.stop() })
    await stranger.start()
    const piId: PeerId = peerIdFromString(npi.peerId)
    const toLaptop = await stranger.dial(multiaddr(`${piAddress}/p2p-circuit/p2p/${nl.peerId}`), { signal: AbortSignal.timeout(10_000) })
    assert.ok(isRelayed(toLaptop))
    // the laptop has no pairing window open: a pairing stream still gets opened, and the
    // stranger pushes 4 × the relay's cap into it
    const closed = nextEvent<Connection>(stranger as unknown as EventTarget, 'connection:close', (c) => c.remotePeer.equals(piId) && !isRelayed(c), 20_000, 'the relay closing the stranger\'s connection')
    const stream = await toLaptop.newStream(PAIR, { signal: AbortSignal.timeout(10_000) })
    const chunk = new Uint8Array(8 * 1024)
    try {
      for (let sent = 0; sent < 4 * relayBytes; sent += chunk.length) {
        if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
      }
    } catch {
      // the relay cut the circuit off mid-way: that is the point
    }
    await closed
    assert.equal(stranger.getConnections(piId).length, 0)
    // the members were not touched: a write still crosses
    const pi = npi.db
    await laptop.collection('notes').insert({ id: 'after', text: 'still syncing' })
    await until(pi, () => pi.collection('notes').get('after') !== undefined, 20_000, 'the laptop\'s write on the Pi')
  })
})

describe('Guests on a relay: what a non-member\'s circuits may cost', () => {
  function guestConnection (peer: string, streams: unknown[]): { connection: Connection, aborted: () => Error | undefined, closed: Promise<void> } {
    let aborted: Error | undefined
    let onClose: () => void = () => {}
    const closed = new Promise<void>((resolve) => { onClose = resolve })
    const connection = {
      remotePeer: { toString: () => peer },
      remoteAddr: { toString: () => '/ip4/10.0.0.9/tcp/4001' },
      streams,
      abort: (e: Error) => { aborted = e },
      close: async () => { onClose() }
    } as unknown as Connection
    return { connection, aborted: () => aborted, closed }
  }
  const hop = (): EventTarget & { protocol: string } => Object.assign(new EventTarget(), { protocol: RELAY_V2_HOP_CODEC })
  const message = (n: number): Event => Object.assign(new Event('message'), { data: new Uint8Array(n) })

  it('only a guest may relay, with at most relayCircuits circuits, and what it sends into them is capped', async () => {
    const guests = new Guests({ isPairing: () => false, limits: { relayCircuits: 2, relayBytes: 100 } })
    assert.equal(guests.relaying('stranger'), false, 'not a guest (not connected, or a member): no circuit as a non-member')
    const stream = hop()
    const g = guestConnection('stranger', [stream])
    assert.equal(guests.admit(g.connection), true)
    assert.equal(guests.relaying('stranger'), true)
    assert.equal(guests.relaying('stranger'), true)
    assert.equal(guests.relaying('stranger'), false, 'a third circuit at once')
    stream.dispatchEvent(message(60))
    assert.equal(g.aborted(), undefined)
    assert.equal(guests.relayedBytes('stranger'), 60)
    stream.dispatchEvent(message(60))
    assert.match(g.aborted()?.message ?? '', /more than 100 bytes/)
    await guests.stop()
  })

  it('a guest with a circuit lives relayMs from its first circuit, then its connection is closed', async () => {
    const guests = new Guests({ isPairing: () => false, limits: { relayMs: 50, refusedLingerMs: 60_000 } })
    const g = guestConnection('stranger', [hop()])
    guests.admit(g.connection)
    assert.equal(guests.relaying('stranger'), true)
    await Promise.race([g.closed, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5_000).unref())])
    assert.equal(guests.isGuest('stranger'), false)
    await guests.stop()
  })
})
