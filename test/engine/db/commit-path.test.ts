import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { type Database, type OpenOptions } from '../../../engine/index.ts'
import { FaultyStore, InjectedFault, hideKey, isDocKeyOf } from '../faulty-store.ts'
import { tempDir, trackedDatabases } from '../helpers.ts'
import { MAX_INDEXED_BYTES } from '../../../engine/index/key-encoding.ts'

/** What a database holds, in memory and on disk, in one comparable value. */
function fingerprint (db: Database): unknown {
  return {
    vv: db.versionVector(),
    state: db.stateHash(),
    log: createHash('sha256').update(db.changesSince({})).digest('hex'),
    logSize: db.logStats(),
    members: db.members.list(),
    indexes: db.indexes(),
    bugs: db.collection('bugs').count(),
    notes: db.collection('notes').count()
  }
}

async function sync (from: Database, to: Database): Promise<void> {
  const result = await to.applyChanges(from.changesSince(to.versionVector()))
  assert.deepEqual(result.rejected, [])
}

describe('the commit path: a failure leaves disk and memory as they were', () => {
  const db = trackedDatabases()
  const dirs: Array<() => void> = []
  afterEach(() => { for (const c of dirs.splice(0)) c() })

  async function faulty (options: OpenOptions = {}): Promise<{ db: Database, store: FaultyStore }> {
    let store: FaultyStore | undefined
    const d = await db({ ...options, wrapStore: (s) => (store = new FaultyStore(s)) })
    return { db: d, store: store! }
  }

  function onDisk (): string {
    const dir = tempDir()
    dirs.push(dir.cleanup)
    return join(dir.path, 'data')
  }

  it('a failed commit of local writes changes nothing, and the database keeps working (LMDB)', async () => {
    const path = onDisk()
    const { db: a, store } = await faulty({ path })
    const bugs = a.collection('bugs')
    await bugs.createIndex('status')
    await bugs.createSearchIndex('title')
    await bugs.insert({ id: 'b1', title: 'crash on sync', status: 'open' })
    const before = fingerprint(a)
    store.failCommits = 1
    const writes = [bugs.insert({ id: 'b2', title: 'lost write', status: 'open' }), bugs.update('b1', { status: 'closed' }), a.members.grant(a.peerId, 'owner')]
    for (const w of await Promise.allSettled(writes)) assert.equal(w.status === 'rejected' && (w.reason as Error).name, 'InjectedFault')
    assert.deepEqual(fingerprint(a), before)
    assert.equal(bugs.get('b2'), undefined)
    assert.deepEqual(bugs.find({ status: 'open' }).map((d) => d.id), ['b1'])
    assert.deepEqual(bugs.search('lost'), [])
    // and it goes on: the next write takes the seq the failed one would have had
    await bugs.insert({ id: 'b3', title: 'after the fault', status: 'open' })
    assert.equal(a.versionVector()[a.peerId], (before as { vv: Record<string, number> }).vv[a.peerId]! + 1)
    assert.deepEqual(bugs.search('fault').map((h) => h.doc.id), ['b3'])
    const other = await db({ dbId: a.id })
    await sync(a, other)
    assert.equal(other.stateHash(), a.stateHash())
    // the disk agrees with memory
    const expected = fingerprint(a)
    await a.close()
    const reopened = await db({ path })
    assert.deepEqual(fingerprint(reopened), expected)
  })

  it('a failed index build declares nothing', async () => {
    const { db: a, store } = await faulty()
    await a.collection('bugs').insert({ id: 'b1', status: 'open' })
    store.failCommits = 1
    await assert.rejects(a.collection('bugs').createIndex('status'), InjectedFault)
    assert.deepEqual(a.indexes(), [])
    assert.equal(a.collection('bugs').explain({ status: 'open' }).strategy, 'scan')
    await a.collection('bugs').createIndex('status')
    assert.equal(a.collection('bugs').explain({ status: 'open' }).strategy, 'index')
  })

  it('a failed commit of received changes changes nothing; the resend applies them all', async () => {
    const owner = await db()
    const { db: b, store } = await faulty({ dbId: owner.id })
    await owner.members.grant(b.peerId, 'writer')
    await sync(owner, b)
    for (let i = 0; i < 5; i++) await owner.collection('bugs').insert({ id: `b${i}`, title: `bug ${i}` })
    const before = fingerprint(b)
    store.failCommits = 1
    const frame = owner.changesSince(b.versionVector())
    await assert.rejects(b.applyChanges(frame), InjectedFault)
    assert.deepEqual(fingerprint(b), before)
    // not counted as duplicates: the heads did not move
    const result = await b.applyChanges(frame)
    assert.equal(result.applied, 5)
    assert.equal(result.duplicates, 0)
    assert.equal(b.stateHash(), owner.stateHash())
    // and later changes of that author still apply
    await owner.collection('bugs').insert({ id: 'b9' })
    await sync(owner, b)
    assert.equal(b.stateHash(), owner.stateHash())
  })

  it('an op that throws halfway fails its own write alone, leaving nothing of it; the rest of the group commits', async () => {
    const { db: a, store } = await faulty()
    const bugs = a.collection('bugs')
    await bugs.insert({ id: 'x', n: 0 })
    const before = fingerprint(a)
    store.poison = isDocKeyOf('poison')
    const writes = await Promise.allSettled([
      bugs.update('x', { n: 1 }),
      // a transaction: its first op merges, its second read throws
      a.transaction(async (tx) => {
        await tx.collection('bugs').update('x', { n: 99 })
        await tx.collection('notes').insert({ id: 'fine', text: 'would be lost too' })
        await tx.collection('bugs').put({ id: 'poison', n: 1 })
      }),
      bugs.insert({ id: 'y', n: 2 })
    ])
    store.poison = undefined
    assert.equal(writes[0]!.status, 'fulfilled')
    assert.equal(writes[1]!.status === 'rejected' && (writes[1].reason as Error).name, 'InjectedFault')
    assert.equal(writes[2]!.status, 'fulfilled')
    assert.deepEqual(bugs.get('x'), { id: 'x', n: 1 })
    assert.equal(a.collection('notes').get('fine'), undefined)
    assert.equal(bugs.get('poison'), undefined)
    // two changes, contiguous
    assert.equal(a.versionVector()[a.peerId], (before as { vv: Record<string, number> }).vv[a.peerId]! + 2)
    const other = await db({ dbId: a.id })
    await sync(a, other)
    assert.equal(other.stateHash(), a.stateHash())
  })

  it('a received change whose apply throws halfway fails the batch cleanly; once fixed, the resend applies', async () => {
    const owner = await db()
    const { db: b, store } = await faulty({ dbId: owner.id })
    await owner.members.grant(b.peerId, 'writer')
    await sync(owner, b)
    await owner.collection('bugs').insert({ id: 'ok', n: 1 })
    await owner.collection('bugs').insert({ id: 'poison', n: 2 })
    const before = fingerprint(b)
    store.poison = isDocKeyOf('poison')
    const frame = owner.changesSince(b.versionVector())
    await assert.rejects(b.applyChanges(frame), InjectedFault)
    assert.deepEqual(fingerprint(b), before)
    store.poison = undefined
    assert.equal((await b.applyChanges(frame)).applied, 2)
    assert.equal(b.stateHash(), owner.stateHash())
  })
})

describe('the log keeps its size', () => {
  const db = trackedDatabases()

  it('entries and bytes kept per commit equal a recount, through failed writes, received changes and a reopen', async () => {
    const dir = tempDir()
    try {
      const path = join(dir.path, 'data')
      const a = await db({ path })
      const owner = await db({ dbId: a.id })
      // the second database is not a member: its changes are refused and must not count
      await Promise.allSettled([a.collection('bugs').insert({ id: 'b1' }), a.collection('bugs').insert({ id: 'b1' }), a.collection('bugs').insert({ id: 'b2' })])
      await a.transaction(async (tx) => { await tx.collection('bugs').insert({ id: 'b3' }); await tx.collection('notes').insert({ text: 'x' }) })
      await owner.collection('bugs').insert({ id: 'o1' }).catch(() => {})
      const entries = Object.values(a.versionVector()).reduce((n, s) => n + s, 0)
      const kept = a.logStats()
      assert.equal(kept.entries, entries)
      await a.close()
      // reopened without the kept size, the log is counted from the entries themselves
      const hidden = await db({ path, wrapStore: (s) => hideKey(s, 'logsize') })
      assert.deepEqual(hidden.logStats(), kept)
    } finally {
      dir.cleanup()
    }
  })
})

describe('indexes never make a change invalid', () => {
  const db = trackedDatabases()
  const long = (n: number, c = 'a'): string => c.repeat(n)

  it('a 3,000-character title on an indexed field is stored, counted, indexed and replicated', async () => {
    const a = await db()
    const bugs = a.collection('bugs')
    await bugs.createIndex('title')
    const title = long(3000)
    const id = await bugs.insert({ title })
    assert.deepEqual(bugs.get(id), { id, title })
    assert.equal(bugs.count(), 1)
    assert.deepEqual(bugs.find({ title }).map((d) => d.id), [id])
    assert.equal(bugs.explain({ title }).strategy, 'index')
    // a replica with the same index receives it
    const b = await db({ dbId: a.id })
    await b.collection('bugs').createIndex('title')
    await sync(a, b)
    assert.equal(b.stateHash(), a.stateHash())
    assert.deepEqual(b.collection('bugs').find({ title }).map((d) => d.id), [id])
  })

  it('values at, just over and far over the kept length, sharing prefixes, query like an unindexed collection', async () => {
    const plain = await db()
    const indexed = await db({ dbId: plain.id })
    await indexed.collection('t').createIndex('s')
    await indexed.collection('t').createIndex(['s', 'n'])
    const base = long(MAX_INDEXED_BYTES - 1)
    const values = [
      base, `${base}a`, `${base}b`, `${base}ab`, `${base}aa${long(500, 'z')}`, `${base}a\u0000`, `${base}\u0000a`, `${base}ba${long(40)}`,
      long(MAX_INDEXED_BYTES), long(MAX_INDEXED_BYTES + 1), long(5000), `${long(MAX_INDEXED_BYTES - 2)}\u0000${long(300)}`, 'short', ''
    ]
    let n = 0
    for (const s of values) {
      await plain.collection('t').insert({ id: `d${n}`, s, n })
      n++
    }
    await sync(plain, indexed)
    const ids = (docs: Array<{ id: string }>): string[] => docs.map((d) => d.id)
    for (const s of values) {
      for (const filter of [{ s }, { s: { gt: s } }, { s: { gte: s } }, { s: { lt: s } }, { s: { lte: s } }, { s: { startsWith: s } }, { s, n: { gte: 0 } }]) {
        const want = ids(plain.collection('t').find(filter, { sort: [{ path: 'id', dir: 'asc' }] }))
        const got = ids(indexed.collection('t').find(filter, { sort: [{ path: 'id', dir: 'asc' }] }))
        assert.deepEqual(got, want, `filter ${JSON.stringify(filter).slice(0, 120)}`)
      }
    }
    for (const dir of ['asc', 'desc'] as const) {
      for (const limit of [1, 3, 7]) {
        const options = { sort: [{ path: 's', dir }, { path: 'id', dir }], limit }
        assert.deepEqual(ids(indexed.collection('t').find({ s: { gte: '' } }, options)), ids(plain.collection('t').find({ s: { gte: '' } }, options)), `${dir} ${limit}`)
      }
    }
    const groups = { groupBy: 's', aggregates: { c: { count: true as const } } }
    assert.deepEqual(indexed.collection('t').aggregate(groups), plain.collection('t').aggregate(groups))
  })

  it('ids and collection names are bounded in bytes, locally and on the wire', async () => {
    const a = await db()
    await assert.rejects(a.collection('bugs').insert({ id: 'é'.repeat(300) }), { name: 'InvalidArgumentError' })
    assert.throws(() => a.collection('c'.repeat(257)), { name: 'InvalidArgumentError' })
    const id = 'i'.repeat(512)
    await a.collection('c'.repeat(256)).insert({ id, v: 1 })
    assert.deepEqual(a.collection('c'.repeat(256)).get(id), { id, v: 1 })
  })
})
