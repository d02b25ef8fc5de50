import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Connection, Stream } from '@libp2p/interface'
import { open, type Database } from '../../engine/index.ts'
import { BlazeNode, type BlazeNodeOptions } from '../../node/blaze-node.ts'
import { createHost, type Host } from '../../node/host.ts'
import { ERROR_CODES, FRAME, PROTOCOL } from '../../protocols/sync/index.ts'
import { encodeHello, encodeVector, decodeError } from '../../protocols/sync/messages.ts'
import { encodeFrame, FrameDecoder, type Frame } from '../../engine/codec/index.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES } from '../../engine/log/entry.ts'
import { decodeFrame } from '../../engine/codec/index.ts'
import { identityFromSeed, type Identity } from '../../engine/crypto/identity.ts'
import { fakeClock, cleanupsAfterEach, diskDatabases } from '../engine/helpers.ts'
import { converged } from '../wait.ts'
import { nextEvent } from './events.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']
const MiB = 1024 * 1024

/** Sends and waits until the stream's buffer is empty (a 'drain' alone may come from the connection, not the stream). */
async function sendAll (stream: Stream, bytes: Uint8Array): Promise<void> {
  stream.send(bytes)
  if (stream.writeBufferLength > 0) await nextEvent(stream as unknown as EventTarget, 'idle', () => true, 30_000)
}

/** Whether this machine lets a socket bind `address` (all of 127/8 on Linux). */
async function canBind (address: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => { resolve(false) })
    server.listen(0, address, () => { server.close(() => { resolve(true) }) })
  })
}

/** The first frame the node sends on `stream`, within a bound. */
async function firstFrame (stream: Stream, timeoutMs = 10_000): Promise<Frame> {
  const decoder = new FrameDecoder()
  const signal = AbortSignal.timeout(timeoutMs)
  for await (const chunk of stream) {
    signal.throwIfAborted()
    const [frame] = decoder.push(chunk.subarray())
    if (frame !== undefined) return frame
  }
  throw new Error('stream ended before any frame')
}

describe('a node that a hostile member cannot exhaust (real TCP on loopback)', function () {
  this.timeout(60_000)
  const cleanup = cleanupsAfterEach()

  const database = diskDatabases(cleanup)
  async function node (db: Database, options: Partial<BlazeNodeOptions> = {}, bootstrap: BlazeNode[] = []): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, listen: LOOPBACK, mdns: false, bootstrap: bootstrap.flatMap((b) => b.multiaddrs()), backoffMs: 100, maxBackoffMs: 1_000, ...options })
    cleanup(async () => { await n.stop() })
    return n
  }
  /** A good member that joins, connects to `to` and syncs both ways. */
  async function goodMemberSyncs (owner: Database, to: BlazeNode): Promise<void> {
    const g = await database(owner.id)
    await owner.members.grant(g.peerId, 'writer')
    await node(g, {}, [to])
    await converged([owner, g])
    await g.collection('good').insert({ id: `from-good-${g.peerId.slice(-6)}` })
    await owner.collection('good').insert({ id: `from-owner-${g.peerId.slice(-6)}` })
    await converged([owner, g])
    assert.ok(owner.collection('good').get(`from-good-${g.peerId.slice(-6)}`))
  }
  /** A member (granted writer on `owner`) that runs a bare libp2p host of its own. */
  async function hostileMember (owner: Database): Promise<{ identity: Identity, seed: Uint8Array, host: Host }> {
    const seed = new Uint8Array(randomBytes(32))
    const identity = identityFromSeed(seed)
    await owner.members.grant(identity.peerId, 'writer')
    const host = await createHost({ identity, dbId: owner.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true, limits: { maxConnections: 200 } })
    cleanup(async () => { await host.stop() })
    return { identity, seed, host }
  }
  /** ~`kib` KiB of documents that do not compress, in transactions of 50. */
  async function fill (db: Database, kib: number, collection = 'x'): Promise<void> {
    for (let i = 0; i < kib; i += 50) {
      await db.transaction(async (tx) => {
        for (let k = i; k < Math.min(i + 50, kib); k++) await tx.collection(collection).insert({ id: `${collection}${k}`, pad: randomBytes(768).toString('base64') })
      })
    }
  }

  it('a member that sends and never reads: the node reads with bounded memory, answers nobody blocked, and a good member keeps syncing', async () => {
    const a = await database()
    await fill(a, 3 * 1024) // ~3 MiB the node will try to send: more than the member's receive window (≤ 2 MiB)
    const evil = await hostileMember(a)
    // the member's own changes, which the node already holds: replaying them costs it a read and an ACK each
    const mem = await open({ dbId: a.id, seed: evil.seed }) // in memory, with the member's key
    cleanup(async () => { await mem.close() })
    await mem.applyChanges(a.changesSince({}))
    await fill(mem, 200, 'evil')
    await a.applyChanges(mem.changesSince(a.versionVector()))
    const own = decodeChangeBatch(decodeFrame(mem.changesSince({ ...a.versionVector(), [evil.identity.peerId]: 0 })).payload)
    const replay = encodeFrame(encodeChangeBatch(own), { type: FRAME_CHANGES })
    assert.ok(replay.length > 100 * 1024, `replay frame is ${replay.length} bytes`)

    const na = await node(a, { peerLimits: { sendTimeoutMs: 60_000 } })
    const stream = await evil.host.dialProtocol(na.host.getMultiaddrs()[0]!, PROTOCOL)
    stream.pause() // never reads: the node's writes to it block once our receive window is full
    const blocked = nextEvent(na, 'session:blocked')
    stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: {} })) // "send me everything"
    await blocked

    // 32 MiB of replays while the node cannot write a byte to us; only the node reading them lets this finish
    const flood = 32 * MiB
    let sent = 0
    while (sent < flood) {
      sent += replay.length
      await sendAll(stream, replay)
    }
    const stats = na.stats()
    assert.ok(stats.bytesIn >= flood - 4 * MiB, `the node read ${stats.bytesIn} of ${flood} bytes`)
    // what the node held on its read side: one receive window and one frame, never the flood
    assert.ok(stats.readBufferPeakBytes <= 2 * 2 * MiB + replay.length, `read-side peak ${stats.readBufferPeakBytes} bytes`)
    assert.ok(na.peers().includes(evil.identity.peerId), 'the blocked session is still open (its timeout is 60 s)')

    await goodMemberSyncs(a, na)
    stream.abort(new Error('done'))
  })

  it('a member that stops reading is timed out: its session ends with SyncStalledError and the stream is reset', async () => {
    const a = await database()
    await fill(a, 3 * 1024)
    const evil = await hostileMember(a)
    const na = await node(a, { peerLimits: { sendTimeoutMs: 300 } })
    const stream = await evil.host.dialProtocol(na.host.getMultiaddrs()[0]!, PROTOCOL)
    stream.pause()
    const blocked = nextEvent(na, 'session:blocked')
    const ended = nextEvent<{ peer: string, error?: Error & { code?: string, wireCode?: string } }>(na, 'session:end', (d) => d.peer === evil.identity.peerId)
    const closed = nextEvent<Event>(stream as unknown as EventTarget, 'close')
    stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: {} }))
    await blocked
    const { error } = await ended
    assert.equal(error?.name, 'SyncStalledError')
    assert.equal(error?.code, 'ERR_SYNC_STALLED')
    assert.equal(error?.wireCode, ERROR_CODES.timeout)
    await closed
    assert.equal(stream.status, 'reset')
    await goodMemberSyncs(a, na)
  })

  it('idle half-open connections from a few addresses cannot lock members out', async function () {
    // the sockets come from 127.0.0.2–9: all of 127/8 is local on Linux, not on every system
    if (!await canBind('127.0.0.9')) {
      if (process.env.CI === 'true') throw new Error('cannot bind 127.0.0.9: the per-address test needs several loopback addresses')
      console.log('      skipped: cannot bind 127.0.0.9 (only 127.0.0.1 is local here)')
      this.skip()
    }
    const a = await database()
    await a.collection('x').insert({ id: 'one' })
    // a long upgrade timeout, so only the per-address cap (4 upgrading each) frees the way
    const na = await node(a, { limits: { upgradeTimeoutMs: 30_000 } })
    const port = Number(na.host.getMultiaddrs()[0]!.toString().split('/')[4])
    const sockets: net.Socket[] = []
    let refused = 0
    const allRefused = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`only ${refused} of 32 idle connections refused within 10 s`)) }, 10_000)
      for (let ip = 2; ip <= 9; ip++) {
        for (let k = 0; k < 8; k++) {
          // never says a word: no multistream-select, no Noise
          const s = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${ip}` })
          s.on('error', () => {})
          s.on('close', () => { if (++refused === 32) { clearTimeout(timer); resolve() } })
          sockets.push(s)
        }
      }
    })
    cleanup(() => { for (const s of sockets) s.destroy() })
    await allRefused // 8 addresses × 8 sockets: 4 of each still upgrading, 4 of each refused
    assert.equal(na.stats().connections.refusedPending, 32)
    await goodMemberSyncs(a, na)
    assert.equal(sockets.filter((s) => !s.destroyed).length, 32, 'the idle ones still hold their slots')
  })

  it('one member opening 60 connections is capped at 4, and another member still connects', async () => {
    const a = await database()
    await a.collection('x').insert({ id: 'one' })
    // a global cap that 60 connections of one peer would fill; libp2p's per-host rate (5/s) raised, as loopback is one host
    const na = await node(a, { limits: { maxConnections: 20, inboundPerHostPerSecond: 1_000 } })
    const evil = await hostileMember(a)
    const addr = na.host.getMultiaddrs()[0]!
    const outcomes: string[] = []
    for (let i = 0; i < 60; i++) {
      await evil.host.dial(addr, { force: true, signal: AbortSignal.timeout(10_000) }).then((c) => outcomes.push(c.id), (e: Error) => outcomes.push(e.name))
    }
    const peer = evil.host.peerId
    await new Promise<void>((resolve, reject) => {
      const check = (): void => { if (na.host.getConnections(peer).length <= 4) { clearTimeout(timer); na.host.removeEventListener('connection:close', check); resolve() } }
      const timer = setTimeout(() => { reject(new Error(`${na.host.getConnections(peer).length} connections of one peer after 10 s`)) }, 10_000)
      na.host.addEventListener('connection:close', check)
      check()
    })
    assert.equal(outcomes.length, 60)
    const { refusedPerPeer, pruned } = na.stats().connections
    assert.ok(refusedPerPeer + pruned > 0, 'the guard refused or pruned the surplus')
    await goodMemberSyncs(a, na)
    assert.ok(na.host.getConnections(peer).length <= 4)
  })

  it('near the connection cap, a peer holding more than one connection gives up its extras first', async () => {
    const a = await database()
    await a.collection('x').insert({ id: 'one' })
    const na = await node(a, { limits: { maxConnections: 6, inboundPerHostPerSecond: 1_000 } })
    const evil = await hostileMember(a)
    const addr = na.host.getMultiaddrs()[0]!
    for (let i = 0; i < 4; i++) await evil.host.dial(addr, { force: true, signal: AbortSignal.timeout(10_000) })
    const held = na.host.getConnections(evil.host.peerId).length
    assert.ok(held >= 2, `the peer holds ${held} connections`)
    const pruned = new Promise<void>((resolve, reject) => {
      const check = (): void => { if (na.host.getConnections(evil.host.peerId).length === 1) { clearTimeout(timer); na.host.removeEventListener('connection:close', check); resolve() } }
      const timer = setTimeout(() => { reject(new Error(`the peer still holds ${na.host.getConnections(evil.host.peerId).length} connections`)) }, 10_000)
      na.host.addEventListener('connection:close', check)
    })
    await goodMemberSyncs(a, na) // its connection brings the node to 5 of 6
    await pruned
    assert.ok(na.stats().connections.pruned >= held - 1)
    assert.ok(na.peers().length >= 1, 'the good member kept its session')
  })

  it('a member opening many streams gets one shared allowance of frames', async () => {
    const a = await database()
    const clock = fakeClock()
    // 50 frames/s, a burst of 100, on a clock that stands still until the test moves it
    const na = await node(a, { peerLimits: { framesPerSecond: 50, now: clock.now } })
    const evil = await hostileMember(a)
    const addr = na.host.getMultiaddrs()[0]!
    const ack = encodeVector(FRAME.ack, a.versionVector())
    const burst = new Uint8Array(Buffer.concat(Array.from({ length: 200 }, () => ack)))
    const conns: Connection[] = [await evil.host.dial(addr, { force: true }), await evil.host.dial(addr, { force: true })]
    const streams: Stream[] = []
    for (let i = 0; i < 4; i++) {
      // two sync streams per connection (the node's per-connection stream limit), each a fresh session
      const stream = await conns[i % 2]!.newStream(PROTOCOL)
      streams.push(stream)
      const throttled = nextEvent(na, 'session:throttled')
      stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: a.versionVector() }))
      stream.send(burst)
      await throttled
    }
    // 4 × 201 frames sent; a per-stream cap would have let them all through
    assert.equal(na.rateStats(evil.identity.peerId).frames, 100)
    await goodMemberSyncs(a, na) // other peers have buckets of their own
    const again = nextEvent(na, 'session:throttled', (d: { peer: string }) => d.peer === evil.identity.peerId)
    clock.advance(1_000)
    await again
    assert.equal(na.rateStats(evil.identity.peerId).frames, 150)
    for (const s of streams) s.abort(new Error('done'))
  })

  it('a member reopening sessions in a loop is refused with RATE_LIMITED; after a pause it may reconnect', async () => {
    const a = await database()
    const clock = fakeClock()
    const na = await node(a, { peerLimits: { sessionsPerMinute: 3, now: clock.now } })
    const evil = await hostileMember(a)
    const addr = na.host.getMultiaddrs()[0]!
    const session = async (): Promise<Frame> => {
      const stream = await evil.host.dialProtocol(addr, PROTOCOL)
      stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: a.versionVector() }))
      const frame = await firstFrame(stream)
      stream.abort(new Error('next one'))
      return frame
    }
    for (let i = 0; i < 3; i++) assert.equal((await session()).type, FRAME.hello)
    const refused = nextEvent<{ peer: string, error: Error }>(na, 'session:refused')
    const fourth = await session()
    assert.equal(fourth.type, FRAME.error)
    assert.equal(decodeError(fourth.payload).code, ERROR_CODES.rateLimited)
    assert.equal((await refused).error.name, 'SyncRateLimitedError')
    await goodMemberSyncs(a, na)
    clock.advance(20_000) // 3 a minute: one more after 20 s, as a reconnect after a drop would be
    assert.equal((await session()).type, FRAME.hello)
    assert.equal((await session()).type, FRAME.error)
  })
})
