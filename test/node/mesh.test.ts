import assert from 'node:assert/strict'
import { open, type Database } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { PROTOCOL } from '../../protocols/sync/index.ts'
import { encodeFrame } from '../../engine/codec/index.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES } from '../../engine/log/entry.ts'
import { decodeFrame } from '../../engine/codec/index.ts'
import { decodeChange, encodeChange } from '../../engine/log/change.ts'
import { encodeHello } from '../../protocols/sync/messages.ts'
import { createHost } from '../../node/host.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import { tempDir, cleanupsAfterEach } from '../engine/helpers.ts'
import { converged, until } from '../wait.ts'
import { nextEvent } from './events.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** The first `n` events of `type` on `target`, within a bound. */
function nEvents<T> (target: EventTarget, type: string, n: number, timeoutMs = 20_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const seen: T[] = []
    const timer = setTimeout(() => { target.removeEventListener(type, on); reject(new Error(`only ${seen.length} of ${n} ${type} events within ${timeoutMs} ms`)) }, timeoutMs)
    const on = (e: Event): void => {
      seen.push((e as CustomEvent<T>).detail)
      if (seen.length < n) return
      clearTimeout(timer)
      target.removeEventListener(type, on)
      resolve(seen)
    }
    target.addEventListener(type, on)
  })
}

describe('mesh: real nodes over TCP on loopback', function () {
  this.timeout(120_000)
  const cleanup = cleanupsAfterEach()

  async function database (options: { dbId?: string, seed?: Uint8Array } = {}): Promise<Database> {
    const dir = tempDir()
    const db = await open({ path: dir.path, ...(options.dbId === undefined ? {} : { dbId: options.dbId }) })
    cleanup(async () => { await db.close(); dir.cleanup() })
    return db
  }
  async function node (db: Database, bootstrap: BlazeNode[] = []): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, listen: LOOPBACK, mdns: false, bootstrap: bootstrap.flatMap((b) => b.multiaddrs()), backoffMs: 100, maxBackoffMs: 1_000 })
    cleanup(async () => { await n.stop() })
    return n
  }
  async function joined (owner: Database): Promise<Database> {
    const db = await database({ dbId: owner.id })
    await owner.members.grant(db.peerId, 'writer')
    return db
  }

  it('two nodes converge', async () => {
    const a = await database()
    const b = await joined(a)
    await a.collection('bugs').insert({ id: 'one', title: 'crash' })
    const na = await node(a)
    await node(b, [na])
    await converged([a, b])
    await b.collection('bugs').insert({ id: 'two' })
    await until(a, () => a.collection('bugs').get('two') !== undefined)
    assert.equal(a.stateHash(), b.stateHash())
  })

  it('three nodes in a line converge through the middle one', async () => {
    const a = await database()
    const b = await joined(a)
    const c = await joined(a)
    const na = await node(a)
    const nb = await node(b, [na])
    await converged([a, b])
    const nc = await node(c, [nb])
    await until(c, () => c.members.roleOf(c.peerId) === 'writer') // c learns its grant through b
    await a.collection('x').insert({ id: 'from-a' })
    await c.collection('x').insert({ id: 'from-c' })
    await until(c, () => c.collection('x').get('from-a') !== undefined)
    await until(a, () => a.collection('x').get('from-c') !== undefined)
    await converged([a, b, c])
    assert.ok(!na.peers().includes(nc.peerId), 'a and c never connected')
  })

  it('both sides write while disconnected, then reconnect and converge', async () => {
    const a = await database()
    const b = await joined(a)
    const na = await node(a)
    const nb = await node(b, [na])
    await converged([a, b])
    await nb.stop()
    await a.collection('x').insert({ id: 'a-offline', v: 1 })
    await a.collection('x').insert({ id: 'shared', owner: 'a' })
    await b.collection('x').insert({ id: 'b-offline', v: 2 })
    await b.collection('x').put({ id: 'shared', owner: 'b' })
    assert.notEqual(a.stateHash(), b.stateHash())
    await node(b, [na])
    await converged([a, b])
    assert.ok(a.collection('x').get('b-offline'))
    assert.ok(b.collection('x').get('a-offline'))
  })

  it('a non-member is refused and learns nothing', async () => {
    const a = await database()
    await a.collection('x').insert({ id: 'secret' })
    const na = await node(a)
    const stranger = await database({ dbId: a.id })
    const ns = await node(stranger)
    // the owner lets the stranger in only as a short-lived guest (node/guests.ts): it is told
    // why (test/node/pair.test.ts), and the connection is closed soon after; or the dial fails
    const closed = nextEvent(ns.host as unknown as EventTarget, 'connection:close')
    const conn = await ns.host.dial(na.host.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
    if (conn !== undefined) await closed
    assert.equal(na.peers().length, 0)
    assert.equal(na.host.getConnections(ns.host.peerId).length, 0)
    assert.equal(stranger.collection('x').get('secret'), undefined)
  })

  it('a forged, replayed or out-of-order change is rejected and the good ones around it still apply', async () => {
    const a = await database()
    const seed = new Uint8Array(32).fill(42)
    const evil = identityFromSeed(seed)
    await a.members.grant(evil.peerId, 'writer')
    const na = await node(a)

    // the hostile member writes real changes on its own replica…
    const mem = await open({ dbId: a.id, seed })
    cleanup(async () => { await mem.close() })
    await mem.applyChanges(a.changesSince({}))
    for (let i = 1; i <= 4; i++) await mem.collection('x').insert({ id: `good${i}` })
    const own = decodeChangeBatch(decodeFrame(mem.changesSince(a.versionVector())).payload)
    assert.equal(own.length, 4)
    // …then sends them with one forged (altered after signing), dialling the node directly
    const forged = { bytes: encodeChange({ ...decodeChange(own[2]!.bytes), ops: [{ op: 'set', c: 'x', id: 'forged', p: [], v: {} }] }), signature: own[2]!.signature }
    const host = await createHost({ identity: evil, dbId: a.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true })
    cleanup(async () => { await host.stop() })
    const stream = await host.dialProtocol(na.host.getMultiaddrs()[0]!, PROTOCOL)
    const firstTwo = nEvents<{ error: Error }>(na, 'rejected', 2)
    stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: a.versionVector() }))
    const frame = (entries: typeof own): Uint8Array => encodeFrame(encodeChangeBatch(entries), { type: FRAME_CHANGES })
    stream.send(frame([own[0]!, own[1]!, forged, own[3]!]))     // forged in the middle
    stream.send(frame([own[0]!]))                                // a replay
    // good1–2 apply; the forged change fails its signature, good4 no longer links to it
    await until(a, () => a.collection('x').get('good2') !== undefined)
    assert.deepEqual((await firstTwo).map((r) => r.error.name).sort(), ['BadSignatureError', 'BrokenChainError'])
    assert.equal(a.collection('x').get('forged'), undefined)
    const outOfOrder = nextEvent<{ error: Error }>(na, 'rejected')
    stream.send(frame([own[3]!]))                                // seq 4 before seq 3
    assert.equal((await outOfOrder).error.name, 'SequenceGapError')
    stream.send(frame([own[2]!, own[3]!]))                       // now in order
    await until(a, () => a.collection('x').get('good4') !== undefined)
    assert.ok(a.collection('x').get('good1'))
    assert.equal(a.collection('x').get('forged'), undefined)
    stream.abort(new Error('done'))
  })
})
