import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { cli, loopbackPort, start, untilLog, type Running } from './blaze-process.ts'

const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0']

/**
 * Nodes that find each other again: real `blaze start` processes on 127.0.0.1, no mDNS, in
 * a line A–B–C (A knows only B's address, C knows only B's). What heals the line after B
 * comes back on a new port is B itself: it remembers A and C (its peer store in DATA/peers)
 * and dials them at start.
 */
describe('nodes find each other again after restarts (real processes)', function () {
  this.timeout(180_000)
  let dir: { path: string, cleanup: () => void }
  const running: Running[] = []
  beforeEach(() => { dir = tempDir() })
  afterEach(async () => {
    for (const n of running.splice(0)) await n.stop()
    dir.cleanup()
  })

  async function node (data: string, args: string[]): Promise<Running> {
    const n = await start(['--data', data, '--no-mdns', ...args])
    running.push(n)
    return n
  }
  async function stop (n: Running): Promise<void> {
    running.splice(running.indexOf(n), 1)
    await n.stop()
  }
  /** a put on `from` arrives on `to` (checked through `to`'s control API) */
  async function travels (from: string, to: string, toNodes: Running[], what: string): Promise<void> {
    const put = await cli('put', '--data', from, 'notes', JSON.stringify({ what }))
    assert.equal(put.code, 0, put.stderr)
    const id = put.stdout.trim()
    const doc = await untilLog(toNodes, async () => {
      const got = await cli('get', '--data', to, 'notes', id)
      return got.code === 0 ? JSON.parse(got.stdout) as Record<string, unknown> : undefined
    }, `${what} reaching ${to}`)
    assert.deepEqual(doc, { id, what })
  }
  async function line (): Promise<{ a: string, b: string, c: string, peers: { a: string, b: string, c: string } }> {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir.path, n)) as [string, string, string]
    const { dbId, peerId: pa } = JSON.parse((await cli('init', '--data', a)).stdout) as { dbId: string, peerId: string }
    const pb = (JSON.parse((await cli('init', '--data', b, '--db', dbId)).stdout) as { peerId: string }).peerId
    const pc = (JSON.parse((await cli('init', '--data', c, '--db', dbId)).stdout) as { peerId: string }).peerId
    for (const p of [pb, pc]) assert.equal((await cli('members', 'add', '--data', a, p, '--role', 'writer')).code, 0)
    return { a, b, c, peers: { a: pa, b: pb, c: pc } }
  }

  it('any node of the line restarts on a new port and the line heals: the mover dials whom it remembers (B: A and C)', async () => {
    const { a, b, c, peers } = await line()
    const na = await node(a, LOOPBACK)
    const nb = await node(b, [...LOOPBACK, '--bootstrap', na.ready.addresses[0]!])
    const nc = await node(c, [...LOOPBACK, '--bootstrap', nb.ready.addresses[0]!])
    await travels(a, c, [nc], 'before the restart')
    const oldPort = loopbackPort(nb)
    assert.ok(existsSync(join(b, 'peers')), 'B keeps a peer store in its data directory')

    await stop(nb)
    // a new port, and no bootstrap: only what B remembers can reconnect the line
    const nb2 = await node(b, LOOPBACK)
    assert.notEqual(loopbackPort(nb2), oldPort)
    await travels(a, c, [nb2, nc], 'after B moved')
    // B found both of them from its peer store (A and C only knew B's old address)
    assert.match(nb2.log(), new RegExp(`dialled ${peers.a}`))
    assert.match(nb2.log(), new RegExp(`dialled ${peers.c}`))
    await travels(c, a, [na], 'back from C')
    const status = JSON.parse((await cli('status', '--data', b)).stdout) as { peers: string[] }
    assert.deepEqual(status.peers.sort(), [peers.a, peers.c].sort())

    // either end moving heals the same way: it remembers B and dials it
    await stop(na)
    const na2 = await node(a, LOOPBACK)
    await travels(a, c, [nc], 'after A moved')
    assert.match(na2.log(), new RegExp(`dialled ${peers.b}`))
    await stop(nc)
    const nc2 = await node(c, LOOPBACK)
    await travels(c, a, [na2], 'after C moved')
    assert.match(nc2.log(), new RegExp(`dialled ${peers.b}`))
  })

  it('all three restart on their remembered ports with no bootstrap and heal; a stale remembered address does not stop a node', async () => {
    const { a, b, c, peers } = await line()
    let na = await node(a, LOOPBACK)
    let nb = await node(b, [...LOOPBACK, '--bootstrap', na.ready.addresses[0]!])
    let nc = await node(c, [...LOOPBACK, '--bootstrap', nb.ready.addresses[0]!])
    await travels(a, c, [nc], 'first run')
    const ports = [na, nb, nc].map(loopbackPort)
    assert.deepEqual(JSON.parse(readFileSync(join(b, 'listen.json'), 'utf8')), { listen: [`/ip4/127.0.0.1/tcp/${ports[1]}`] })
    for (const n of [na, nb, nc]) await stop(n)

    // no --listen, no --bootstrap, no mDNS: remembered ports and peer stores only
    na = await node(a, [])
    nb = await node(b, [])
    nc = await node(c, [])
    assert.deepEqual([na, nb, nc].map(loopbackPort), ports)
    await travels(a, c, [nc], 'second run')
    await travels(c, a, [na], 'second run, back')

    // C goes away for good: B's remembered address for it is stale
    await stop(nc)
    await stop(nb)
    nb = await node(b, [])
    await travels(a, b, [nb], 'with C gone')
    assert.match(nb.log(), new RegExp(`dial ${peers.c} failed`))
  })
})
