import assert from 'node:assert/strict'
import fc from 'fast-check'
import { open, type Database, type Document } from '../../../engine/index.ts'

/** Checks `predicate` now and after each call of a live query's listener, within a bound. */
function watcher (): { notify: () => void, until: (predicate: () => boolean, timeoutMs?: number) => Promise<void> } {
  let waiters: Array<() => void> = []
  return {
    notify: () => { const w = waiters; waiters = []; for (const f of w) f() },
    until: (predicate, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('live query did not deliver the expected results in time')), timeoutMs)
      const check = (): void => { if (predicate()) { clearTimeout(timer); resolve() } else waiters.push(check) }
      check()
    })
  }
}

describe('database: queries, joins, aggregations, live queries', () => {
  let db: Database
  beforeEach(async () => {
    db = await open()
    const bugs = db.collection('bugs')
    await db.collection('users').insert({ id: 'ada', name: 'Ada', team: 't1' })
    await db.collection('users').insert({ id: 'linus', name: 'Linus', team: 't2' })
    await db.collection('teams').insert({ id: 'x1', code: 't1', title: 'Storage' })
    for (const [i, [status, votes, author]] of ([['open', 5, 'ada'], ['open', 2, 'linus'], ['closed', 9, 'ada'], ['review', 7, 'nobody']] as const).entries()) {
      await bugs.insert({ id: `b${i}`, status, votes, author, meta: { tags: i % 2 === 0 ? ['ui'] : ['sync'] } })
    }
  })
  afterEach(async () => { await db.close() })

  it('filters with operators and nested paths, sorts, pages, projects', () => {
    const bugs = db.collection('bugs')
    assert.deepEqual(bugs.find({ votes: { gte: 5 } }, { sort: [{ path: 'votes', dir: 'desc' }] }).map((d) => d.id), ['b2', 'b3', 'b0'])
    assert.deepEqual(bugs.find({ or: [{ status: 'review' }, { 'meta.tags': { contains: 'sync' } }] }).map((d) => d.id).sort(), ['b1', 'b3'])
    assert.deepEqual(bugs.find({ status: { in: ['open'] } }, { sort: ['votes'], select: ['votes'] }), [{ id: 'b1', votes: 2 }, { id: 'b0', votes: 5 }])
    const first = bugs.findPage({}, { sort: ['votes'], limit: 2 })
    assert.deepEqual(first.docs.map((d) => d.id), ['b1', 'b0'])
    const second = bugs.findPage({}, { sort: ['votes'], limit: 2, after: first.next! })
    assert.deepEqual(second.docs.map((d) => d.id), ['b3', 'b2'])
    assert.deepEqual(bugs.query().where('status', '==', 'open').orderBy('votes', 'desc').run().map((d) => d.id), ['b0', 'b1'])
    assert.throws(() => bugs.find({ votes: { bigger: 3 } } as never), { name: 'QueryError' })
  })

  it('joins another collection by id and by any field', () => {
    const rows = db.collection('bugs').find({}, { sort: ['id'], join: { from: 'users', localField: 'author', as: 'user' } })
    assert.equal((rows[0]!.user as Document).name, 'Ada')
    assert.equal(rows[3]!.user, null)
    const withTeam = db.collection('users').find({}, { sort: ['id'], join: { from: 'teams', localField: 'team', foreignField: 'code', as: 'teamDoc' } })
    assert.equal((withTeam[0]!.teamDoc as Document).title, 'Storage')
    assert.equal(withTeam[1]!.teamDoc, null)
  })

  it('a join uses an index on the other side when there is one, with the same results', async () => {
    const spec = { sort: ['id'], join: { from: 'teams', localField: 'team', foreignField: 'code', as: 'teamDoc' } }
    const before = db.collection('users').find({}, spec)
    await db.collection('teams').createIndex('code')
    assert.equal(db.collection('teams').explain({ code: { eq: 't1' } }).strategy, 'index')
    assert.deepEqual(db.collection('users').find({}, spec), before)
  })

  it('aggregates, with groups and a filter on groups', () => {
    const rows = db.collection('bugs').aggregate({ groupBy: 'status', aggregates: { n: { count: true }, total: { sum: 'votes' }, best: { max: 'votes' } }, having: { n: { gte: 1 } }, sort: ['status'] })
    assert.deepEqual(rows, [
      { status: 'closed', n: 1, total: 9, best: 9 },
      { status: 'open', n: 2, total: 7, best: 5 },
      { status: 'review', n: 1, total: 7, best: 7 }
    ])
    assert.deepEqual(db.collection('bugs').aggregate({ aggregates: { avg: { avg: 'votes' } } }), [{ avg: 5.75 }])
  })

  it('queries inside a transaction see its own writes', async () => {
    await db.transaction(async (tx) => {
      await tx.collection('bugs').insert({ id: 'b9', status: 'open', votes: 1 })
      await tx.collection('bugs').delete('b0')
      assert.deepEqual(tx.collection('bugs').find({ status: 'open' }, { sort: ['id'] }).map((d) => d.id), ['b1', 'b9'])
    })
  })

  it('explain tells the strategy and how many documents were examined', () => {
    const e = db.collection('bugs').explain({ status: 'open' })
    assert.equal(e.strategy, 'scan')
    assert.equal(e.examined, 4)
    assert.equal(e.returned, 2)
  })

  it('a live query fires now, on changes that alter its results, and only then — local or remote', async () => {
    const other = await open({ dbId: db.id })
    try {
      await db.members.grant(other.peerId, 'writer')
      await other.applyChanges(db.changesSince({}))
      const results: string[][] = []
      const w = watcher()
      const stop = db.collection('bugs').live({ status: 'open' }, { sort: ['id'] }, (docs) => { results.push(docs.map((d) => d.id)); w.notify() })
      assert.deepEqual(results, [['b0', 'b1']])
      await db.collection('bugs').update('b2', { votes: 10 }) // closed bug: results unchanged
      await db.collection('bugs').update('b2', { status: 'open' })
      await w.until(() => results.length === 2)
      assert.deepEqual(results[1], ['b0', 'b1', 'b2'])
      await other.collection('bugs').insert({ id: 'b5', status: 'open' })
      await db.applyChanges(other.changesSince(db.versionVector()))
      await w.until(() => results.length === 3)
      assert.deepEqual(results[2], ['b0', 'b1', 'b2', 'b5'])
      stop()
      await db.collection('bugs').delete('b0')
      assert.equal(results.length, 3)
    } finally {
      await other.close()
    }
  })

  it('a live query always equals re-running the query after each change (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('put', 'update', 'delete'), fc.nat(5), fc.nat(10), fc.constantFrom('open', 'closed')), { minLength: 1, maxLength: 25 }), async (ops) => {
      const d = await open()
      try {
        const bugs = d.collection('bugs')
        let latest: Document[] = []
        let calls = 0
        const w = watcher()
        const spec = { filter: { status: 'open', votes: { gte: 3 } }, options: { sort: [{ path: 'votes', dir: 'desc' as const }], limit: 3 } }
        let repeated = false
        const stop = bugs.live(spec.filter, spec.options, (docs) => {
          if (calls > 0 && JSON.stringify(docs) === JSON.stringify(latest)) repeated = true // fired without a change
          latest = docs
          calls++
          w.notify()
        })
        for (const [kind, id, votes, status] of ops) {
          if (kind === 'put') await bugs.put({ id: `d${id}`, votes, status })
          else if (kind === 'update') await bugs.update(`d${id}`, { votes }).catch(() => {})
          else await bugs.delete(`d${id}`)
          const expected = bugs.find(spec.filter, spec.options)
          await w.until(() => JSON.stringify(latest) === JSON.stringify(expected))
        }
        stop()
        assert.equal(repeated, false, 'the live query fired although its results had not changed')
        assert.ok(calls <= ops.length + 1)
      } finally {
        await d.close()
      }
    }), { numRuns: 20, seed: 4242 })
  })
})
