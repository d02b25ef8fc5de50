import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { open, type Database } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { boundListen, LISTEN_FILE, PEERS_DIR, rememberedListen } from '../../node/remembered.ts'
import { tempDir } from '../engine/helpers.ts'

function port (node: BlazeNode): number {
  return Number(node.multiaddrs().find((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))!.split('/')[4])
}

describe('a node remembers its listen ports and peers in its data directory', function () {
  this.timeout(60_000)
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  async function database (dbId?: string): Promise<{ db: Database, dir: string }> {
    const dir = tempDir()
    const db = await open({ path: dir.path, ...(dbId === undefined ? {} : { dbId }) })
    cleanups.push(async () => { await db.close(); dir.cleanup() })
    return { db, dir: dir.path }
  }
  async function node (db: Database, dataDir: string, extra: { listen?: string[], log?: (l: string) => void } = {}): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, dataDir, mdns: false, ...extra })
    cleanups.push(async () => { await n.stop() })
    return n
  }

  it('restarts on the port it bound last time, unless listen is given', async () => {
    const { db, dir } = await database()
    const first = await node(db, dir, { listen: ['/ip4/127.0.0.1/tcp/0'] })
    const p = port(first)
    assert.deepEqual(JSON.parse(readFileSync(join(dir, LISTEN_FILE), 'utf8')), { listen: [`/ip4/127.0.0.1/tcp/${p}`] })
    assert.ok(existsSync(join(dir, PEERS_DIR)))
    await first.stop()
    const second = await node(db, dir)
    assert.equal(port(second), p)
    await second.stop()
    const third = await node(db, dir, { listen: ['/ip4/127.0.0.1/tcp/0'] })
    assert.notEqual(port(third), p)
  })

  it('falls back to a new port when the remembered one is taken, and says so', async () => {
    const { db, dir } = await database()
    const first = await node(db, dir, { listen: ['/ip4/127.0.0.1/tcp/0'] })
    const p = port(first)
    await first.stop()
    const squatter: Server = createServer()
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: p }, resolve))
    cleanups.push(() => new Promise<void>((resolve) => squatter.close(() => resolve())))
    const lines: string[] = []
    const second = await node(db, dir, { log: (l) => lines.push(l) })
    assert.notEqual(port(second), p)
    assert.ok(lines.some((l) => l.includes(`remembered port ${p}`) && l.includes('taken')), lines.join('\n'))
    // and the new port is what it remembers now
    assert.deepEqual(JSON.parse(readFileSync(join(dir, LISTEN_FILE), 'utf8')), { listen: [`/ip4/127.0.0.1/tcp/${port(second)}`] })
  })

  it('an unreadable listen file is ignored with a log line (the node then listens on its default and rewrites it)', () => {
    const dir = tempDir()
    cleanups.push(() => { dir.cleanup() })
    for (const bad of ['{"listen": 42', '{"listen": 42}', '{"listen": []}', '{"listen": ["not a multiaddr"]}']) {
      writeFileSync(join(dir.path, LISTEN_FILE), bad)
      const lines: string[] = []
      assert.equal(rememberedListen(dir.path, (l) => lines.push(l)), undefined, bad)
      assert.ok(lines.some((l) => l.startsWith(`ignoring ${join(dir.path, LISTEN_FILE)}`)), lines.join('\n'))
    }
    assert.equal(rememberedListen(join(dir.path, 'none'), () => {}), undefined)
  })

  it('remembers the peers it met: after a restart the peer store still has their addresses', async () => {
    const { db: a, dir } = await database()
    const { db: b } = await database(a.id)
    await a.members.grant(b.peerId, 'writer')
    const na = await node(a, dir, { listen: ['/ip4/127.0.0.1/tcp/0'] })
    const nb = await BlazeNode.start({ db: b, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, bootstrap: [] })
    cleanups.push(async () => { await nb.stop() })
    await na.host.dial(multiaddr(nb.multiaddrs()[0]!), { signal: AbortSignal.timeout(10_000) })
    await na.stop()
    const again = await node(a, dir)
    const known = await again.host.peerStore.get(nb.host.peerId)
    assert.ok(known.addresses.some((x) => x.multiaddr.toString() === nb.multiaddrs()[0]!.replace(/\/p2p\/.*$/, '')), known.addresses.map((x) => x.multiaddr.toString()).join(', '))
  })

  it('boundListen puts the bound port in place of 0, per address family and host', () => {
    const bound = ['/ip4/127.0.0.1/tcp/4001', '/ip4/192.168.1.2/tcp/4001', '/ip6/::1/tcp/4002'].map((a) => multiaddr(a))
    assert.deepEqual(boundListen(['/ip4/0.0.0.0/tcp/0', '/ip6/::/tcp/0', '/ip4/127.0.0.1/tcp/5000', '/memory/x'], bound),
      ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4002', '/ip4/127.0.0.1/tcp/5000', '/memory/x'])
  })
})
