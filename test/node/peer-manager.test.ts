import assert from 'node:assert/strict'
import { open, type Database } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import type { InvalidNodeOptionError } from '../../node/errors.ts'
import { tempDir } from '../engine/helpers.ts'
import { until } from '../wait.ts'

/** The first `n` events of `type` on `target` matching `match`, within a bound. */
function nEvents<T> (target: EventTarget, type: string, n: number, match: (d: T) => boolean, timeoutMs = 20_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const seen: T[] = []
    const timer = setTimeout(() => { target.removeEventListener(type, on); reject(new Error(`only ${seen.length} of ${n} ${type} events within ${timeoutMs} ms`)) }, timeoutMs)
    function on (e: Event): void {
      const d = (e as CustomEvent<T>).detail
      if (!match(d)) return
      seen.push(d)
      if (seen.length < n) return
      clearTimeout(timer)
      target.removeEventListener(type, on)
      resolve(seen)
    }
    target.addEventListener(type, on)
  })
}

function port (node: BlazeNode): number {
  return Number(node.multiaddrs().find((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))!.split('/')[4])
}

describe('peer manager (real nodes over TCP on loopback)', function () {
  this.timeout(60_000)
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })
  async function database (dbId?: string): Promise<Database> {
    const dir = tempDir()
    const db = await open({ path: dir.path, ...(dbId === undefined ? {} : { dbId }) })
    cleanups.push(async () => { await db.close(); dir.cleanup() })
    return db
  }
  async function node (db: Database, options: { listen?: string[], bootstrap?: string[], log?: (l: string) => void } = {}): Promise<BlazeNode> {
    const n = await BlazeNode.start({ db, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, backoffMs: 20, maxBackoffMs: 200, ...options })
    cleanups.push(async () => { await n.stop() })
    return n
  }

  it('keeps redialling a member that went away, with backoff, and syncs again once it is back', async () => {
    const a = await database()
    const b = await database(a.id)
    await a.members.grant(b.peerId, 'writer')
    const na = await node(a)
    let nb = await node(b, { bootstrap: na.multiaddrs() })
    await until(b, () => b.members.roleOf(b.peerId) === 'writer')
    const p = port(nb)

    const failures = nEvents<{ peer: string }>(na, 'dial:failed', 3, (d) => d.peer === b.peerId)
    await nb.stop()
    await failures // a keeps trying while b is away
    await a.collection('x').insert({ id: 'while-away' })

    // b comes back on its port knowing no address of a (no data directory, no bootstrap):
    // only a's redialling can bring them together
    const lines: string[] = []
    nb = await node(b, { listen: [`/ip4/127.0.0.1/tcp/${p}`], log: (l) => lines.push(l) })
    await until(b, () => b.collection('x').get('while-away') !== undefined)
    assert.ok(!lines.some((l) => l.startsWith('dialled')), lines.join('\n'))
    assert.deepEqual(na.peers(), [b.peerId])
  })

  it('one session per pair, opened by the smaller peer id, also when both sides dial each other', async () => {
    const a = await database()
    const b = await database(a.id)
    await a.members.grant(b.peerId, 'writer')
    await b.applyChanges(a.changesSince(b.versionVector()))
    const starts: Array<{ on: string, peer: string, direction: string }> = []
    const record = (n: BlazeNode) => (e: Event): void => { starts.push({ on: n.peerId, ...(e as CustomEvent<{ peer: string, direction: string }>).detail }) }
    const na = await node(a)
    na.addEventListener('session:start', record(na))
    const nb = await node(b, { bootstrap: na.multiaddrs() })
    nb.addEventListener('session:start', record(nb))
    // and a dials b too: still one session each way, one connection's worth
    await na.host.dial(nb.host.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
    await a.collection('x').insert({ id: 'one' })
    await until(b, () => b.collection('x').get('one') !== undefined)
    assert.deepEqual(na.peers(), [b.peerId])
    assert.deepEqual(nb.peers(), [a.peerId])
    const smaller = a.peerId < b.peerId ? a.peerId : b.peerId
    assert.ok(starts.length >= 1)
    for (const s of starts) assert.equal(s.direction, s.on === smaller ? 'outbound' : 'inbound', JSON.stringify(starts))
  })

  it('refuses bad backoff options with a typed error before opening anything', async () => {
    const db = await database()
    for (const bad of [{ backoffMs: 0 }, { maxBackoffMs: -5 }, { backoffMs: Number.NaN }, { backoffMs: 1_000, maxBackoffMs: 10 }]) {
      await assert.rejects(BlazeNode.start({ db, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, ...bad }), (e: Error) => {
        assert.equal(e.name, 'InvalidNodeOptionError')
        assert.equal((e as InvalidNodeOptionError).code, 'ERR_INVALID_NODE_OPTION')
        return true
      }, JSON.stringify(bad))
    }
  })
})
