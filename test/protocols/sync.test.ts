import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { open, type Database } from '../../engine/index.ts'
import { SyncSession, ERROR_CODES } from '../../protocols/sync/index.ts'
import { encodeFrame } from '../../engine/codec/index.ts'
import { converged, until } from '../wait.ts'

describe('sync protocol over in-memory streams', function () {
  this.timeout(60_000)
  const dbs: Database[] = []
  const sessions: SyncSession[] = []
  async function db (options: Parameters<typeof open>[0] = {}): Promise<Database> {
    const d = await open(options)
    dbs.push(d)
    return d
  }
  async function member (owner: Database, role: 'writer' | 'admin' = 'writer'): Promise<Database> {
    const d = await db({ dbId: owner.id })
    await owner.members.grant(d.peerId, role)
    await d.applyChanges(owner.changesSince(d.versionVector()))
    return d
  }
  async function connect (a: Database, b: Database): Promise<[SyncSession, SyncSession]> {
    const [sa, sb] = await streamPair()
    const pair: [SyncSession, SyncSession] = [
      new SyncSession({ db: a, stream: sa, remotePeer: b.peerId }),
      new SyncSession({ db: b, stream: sb, remotePeer: a.peerId })
    ]
    sessions.push(...pair)
    return pair
  }
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map(async (s) => { await s.close(); await s.done }))
    await Promise.all(dbs.splice(0).map(async (d) => await d.close()))
  })

  it('catches up both ways, then pushes every new write live', async () => {
    const a = await db()
    const b = await member(a)
    for (let i = 0; i < 50; i++) await a.collection('x').insert({ id: `a${i}` })
    for (let i = 0; i < 50; i++) await b.collection('x').insert({ id: `b${i}` })
    await connect(a, b)
    await converged([a, b])
    assert.equal(a.collection('x').count(), 100)
    await a.collection('x').update('b3', { seen: true })
    await until(b, () => b.collection('x').get('b3')?.seen === true)
    await b.transaction(async (tx) => { await tx.collection('y').insert({ id: 'tx' }) })
    await until(a, () => a.collection('y').get('tx') !== undefined)
    assert.deepEqual(a.versionVector(), b.versionVector())
  })

  it('changes cross a multi-hop path A–B–C where A and C never connect', async () => {
    const a = await db()
    const b = await member(a)
    const c = await member(a)
    await b.applyChanges(a.changesSince(b.versionVector())) // b learns that c is a member
    await connect(a, b)
    await connect(b, c)
    await a.collection('x').insert({ id: 'from-a' })
    await c.collection('x').insert({ id: 'from-c' })
    await until(c, () => c.collection('x').get('from-a') !== undefined)
    await until(a, () => a.collection('x').get('from-c') !== undefined)
    await converged([a, b, c])
  })

  it('a large catch-up travels in bounded batches', async () => {
    const a = await db()
    const b = await member(a)
    for (let i = 0; i < 3000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, async (_, k) => await a.collection('x').insert({ id: `d${i + k}`, pad: 'x'.repeat(200) })))
    }
    const [sa, sb] = await streamPair()
    const sizes: number[] = []
    sessions.push(new SyncSession({ db: a, stream: sa, remotePeer: b.peerId, batchBytes: 64 * 1024, observer: { bytes: (d, n) => { if (d === 'out') sizes.push(n) } } }))
    sessions.push(new SyncSession({ db: b, stream: sb, remotePeer: a.peerId }))
    await converged([a, b])
    assert.equal(b.collection('x').count(), 3000)
    assert.ok(sizes.length > 3, 'sent in several batches')
    // a batch closes at the first signed change past the target size
    assert.ok(Math.max(...sizes) < 64 * 1024 * 4, `largest frame ${Math.max(...sizes)} bytes`)
  })

  it('a non-member is refused with a coded error', async () => {
    const a = await db()
    await a.collection('x').insert({ id: 'secret' })
    const stranger = await db({ dbId: a.id })
    await stranger.applyChanges(a.changesSince({})) // it even knows the members, but is none
    const [sa, ss] = await connect(a, stranger)
    await Promise.all([sa.done, ss.done])
    assert.equal((sa.error as { wireCode?: string }).wireCode, ERROR_CODES.notAMember)
    assert.equal((ss.error as { wireCode?: string }).wireCode, ERROR_CODES.notAMember)
  })

  it('a peer on another database is refused with a coded error', async () => {
    const a = await db()
    const other = await db()
    const [sa] = await connect(a, other)
    await sa.done
    assert.equal((sa.error as { wireCode?: string }).wireCode, ERROR_CODES.wrongDatabase)
  })

  it('malformed and oversized frames end the session with a typed error and change nothing', async () => {
    const a = await db()
    await a.collection('x').insert({ id: 'keep' })
    const hash = a.stateHash()
    for (const [bytes, code] of [
      [(() => { const f = encodeFrame(new Uint8Array(40).fill(7), { type: 16 }); f[f.length - 1]! ^= 1; return f })(), ERROR_CODES.malformed],
      [(() => { const f = encodeFrame(new Uint8Array(10), { type: 16 }); f[5] = 0x7f; return f })(), ERROR_CODES.tooLarge],
      [new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), ERROR_CODES.malformed]
    ] as const) {
      const [sa, raw] = await streamPair()
      const session = new SyncSession({ db: a, stream: sa, remotePeer: 'raw' })
      raw.send(bytes)
      await session.done
      assert.equal((session.error as { wireCode?: string }).wireCode, code)
      raw.abort(new Error('done'))
    }
    assert.equal(a.stateHash(), hash)
  })

  it('closing one side ends both sessions', async () => {
    const a = await db()
    const b = await member(a)
    const [sa, sb] = await connect(a, b)
    await a.collection('x').insert({ id: 'one' })
    await until(b, () => b.collection('x').get('one') !== undefined)
    await sa.close()
    await Promise.all([sa.done, sb.done])
    assert.equal(sa.error, undefined)
    assert.equal(sb.error, undefined)
  })

  it('a peer that never says hello is cut off after the timeout', async () => {
    const a = await db()
    const [sa, raw] = await streamPair()
    const session = new SyncSession({ db: a, stream: sa, remotePeer: 'silent', helloTimeoutMs: 200 })
    await session.done
    assert.equal((session.error as { wireCode?: string }).wireCode, ERROR_CODES.timeout)
    raw.abort(new Error('done'))
  })
})
