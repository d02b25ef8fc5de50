import assert from 'node:assert/strict'
import fc from 'fast-check'
import { open, type Filter } from '../../../engine/index.ts'
import { tempDir, trackedDatabases } from '../helpers.ts'

describe('database: secondary indexes', () => {
  const db = trackedDatabases()

  it('builds for existing documents with progress, then serves equality and ranges', async () => {
    const d = await db()
    const bugs = d.collection('bugs')
    await Promise.all(Array.from({ length: 2500 }, async (_, i) => await bugs.insert({ id: `b${i}`, status: ['open', 'closed', 'review'][i % 3], votes: i % 50 })))
    const progress: number[] = []
    await bugs.createIndex('status', { onProgress: (done) => progress.push(done) })
    await bugs.createIndex('votes')
    assert.deepEqual(progress, [1000, 2000, 2500])
    const e = bugs.explain({ status: 'review' })
    assert.equal(e.strategy, 'index')
    assert.equal(e.index, 'status')
    assert.equal(e.examined, 833)
    assert.equal(e.returned, 833)
    const r = bugs.explain({ votes: { gte: 10, lt: 12 } })
    assert.equal(r.index, 'votes')
    assert.equal(r.examined, 100)
    // a sort served by the index order stops early: 20 rows, not all 11 × 50 candidates
    const top = bugs.explain({ votes: { gte: 10, lte: 20 } }, { sort: [{ path: 'votes', dir: 'desc' }], limit: 20 })
    assert.ok(top.examined <= 51, `examined ${top.examined}`)
    assert.deepEqual(bugs.find({ votes: { gte: 10, lte: 20 } }, { sort: [{ path: 'votes', dir: 'desc' }], limit: 3 }).map((b) => [b.votes, b.id]), [[20, 'b1020'], [20, 'b1070'], [20, 'b1120']])
    // ties in the index's own id order: it stops right after the rows it keeps
    const exact = bugs.explain({ votes: { gte: 10, lte: 20 } }, { sort: [{ path: 'votes', dir: 'desc' }, { path: 'id', dir: 'desc' }], limit: 20 })
    assert.equal(exact.examined, 20)
    assert.equal(bugs.explain({ title: 'x' }).strategy, 'scan')
    assert.deepEqual(d.indexes().map((i) => i.name), ['status', 'votes'])
  })

  it('is kept up to date by local writes, transactions and replicated changes', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    await b.applyChanges(a.changesSince({}))
    await a.collection('bugs').createIndex('status')
    await a.collection('bugs').insert({ id: 'x', status: 'open' })
    await a.collection('bugs').update('x', { status: 'closed' })
    await a.transaction(async (tx) => { await tx.collection('bugs').insert({ id: 'y', status: 'open' }) })
    await b.collection('bugs').insert({ id: 'z', status: 'open' })
    await a.applyChanges(b.changesSince(a.versionVector()))
    assert.deepEqual(a.collection('bugs').find({ status: 'open' }, { sort: ['id'] }).map((x) => x.id), ['y', 'z'])
    await a.collection('bugs').delete('y')
    assert.deepEqual(a.collection('bugs').find({ status: 'open' }).map((x) => x.id), ['z'])
    assert.equal(a.collection('bugs').explain({ status: 'open' }).strategy, 'index')
  })

  it('compound indexes: equality on the first field, a range on the second', async () => {
    const d = await db()
    const c = d.collection('c')
    for (let i = 0; i < 200; i++) await c.insert({ id: `d${i}`, team: i % 4 === 0 ? 'core' : 'edge', owner: { name: `u${i % 10}` }, n: i })
    await c.createIndex(['team', 'n'])
    const e = c.explain({ team: 'core', n: { gt: 100 } })
    assert.equal(e.index, 'team+n')
    assert.equal(e.examined, 24)
    await c.createIndex('owner.name')
    assert.equal(c.find({ 'owner.name': { startsWith: 'u1' } }).length, 20)
    assert.equal(c.explain({ 'owner.name': { in: ['u1', 'u2'] } }).examined, 40)
  })

  it('counts per group from the index, without reading every document, with the same rows (property)', async () => {
    const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', '', 'é', -0, Number.NaN, null, true, 2n, 2 ** 60), fc.constant(undefined),
      fc.integer({ min: 0, max: 2 }).map((n) => new Date(Date.UTC(2026, 0, 1 + n))), fc.constantFrom([1], { a: 1 }))
    await fc.assert(fc.asyncProperty(fc.array(value, { maxLength: 30 }), fc.boolean(), async (values, withHaving) => {
      const plain = await open()
      const indexed = await open()
      try {
        for (const [i, v] of values.entries()) {
          const body = v === undefined ? { id: `d${String(i).padStart(2, '0')}` } : { id: `d${String(i).padStart(2, '0')}`, s: v }
          await plain.collection('c').insert(body)
          await indexed.collection('c').insert(body)
        }
        await indexed.collection('c').createIndex('s')
        const spec = { groupBy: 's', aggregates: { n: { count: true as const } }, ...(withHaving ? { having: { n: { gte: 2 } } } : {}) }
        assert.deepEqual(indexed.collection('c').aggregate(spec), plain.collection('c').aggregate(spec))
      } finally {
        await plain.close()
        await indexed.close()
      }
    }), { numRuns: 150, seed: 5 })
  })

  it('persist across reopen and can be dropped', async () => {
    const dir = tempDir()
    try {
      const d = await open({ path: dir.path })
      await d.collection('c').insert({ id: '1', k: 'a' })
      await d.collection('c').createIndex('k')
      await d.close()
      const again = await open({ path: dir.path })
      assert.equal(again.collection('c').explain({ k: 'a' }).strategy, 'index')
      await again.collection('c').insert({ id: '2', k: 'a' })
      assert.equal(again.collection('c').find({ k: 'a' }).length, 2)
      await again.collection('c').dropIndex('k')
      assert.equal(again.collection('c').explain({ k: 'a' }).strategy, 'scan')
      await again.close()
    } finally {
      dir.cleanup()
    }
  })

  it('results with indexes, without indexes and from a scan are identical (property)', async () => {
    const value = fc.oneof(
      fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.5, -0, Number.NaN, 1e300, -Infinity), fc.bigInt({ min: -3n, max: 3n }),
      fc.constantFrom('', 'a', 'ab', 'abc', 'b', 'é', 'a\u0000b', 'z'), fc.constant(null), fc.boolean(),
      fc.integer({ min: 0, max: 3 }).map((n) => new Date(Date.UTC(2026, 0, 1 + n))), fc.constant(undefined)
    )
    const doc = fc.record({ x: value, y: value, g: fc.constantFrom('p', 'q', 'r') })
    const cond = fc.oneof(
      value.filter((v) => v !== undefined).map((v) => ({ eq: v })),
      fc.array(value.filter((v) => v !== undefined), { maxLength: 3 }).map((vs) => ({ in: vs })),
      fc.tuple(fc.constantFrom('gt', 'gte', 'lt', 'lte'), value.filter((v) => v !== undefined)).map(([op, v]) => ({ [op]: v })),
      fc.constantFrom('a', 'ab', '').map((p) => ({ startsWith: p })),
      fc.tuple(value.filter((v) => typeof v === 'number'), value.filter((v) => typeof v === 'number')).map(([lo, hi]) => ({ gte: lo, lt: hi }))
    )
    const filter = fc.oneof(
      cond.map((c) => ({ x: c })),
      fc.tuple(fc.constantFrom('p', 'q'), cond).map(([g, c]) => ({ g, y: c })),
      fc.tuple(cond, cond).map(([c1, c2]) => ({ x: c1, y: c2 }))
    )
    const sort = fc.constantFrom<Array<string | { path: string, dir: 'asc' | 'desc' }>>(['id'], [{ path: 'x', dir: 'asc' }], [{ path: 'x', dir: 'desc' }], [{ path: 'y', dir: 'desc' }], [{ path: 'y', dir: 'asc' }, { path: 'x', dir: 'desc' }], [{ path: 'x', dir: 'desc' }, { path: 'id', dir: 'desc' }], [{ path: 'x', dir: 'asc' }, { path: 'id', dir: 'asc' }], [{ path: 'x', dir: 'desc' }, { path: 'id', dir: 'asc' }])
    await fc.assert(fc.asyncProperty(fc.array(doc, { maxLength: 40 }), fc.array(filter, { minLength: 1, maxLength: 6 }), fc.constantFrom(undefined, 1, 3), sort, fc.nat(2), async (docs, filters, limit, sortBy, offset) => {
      const plain = await open()
      const indexed = await open()
      try {
        for (const [i, d] of docs.entries()) {
          const body = Object.fromEntries(Object.entries({ id: `d${i}`, ...d }).filter(([, v]) => v !== undefined))
          await plain.collection('c').insert(body)
          await indexed.collection('c').insert(body)
        }
        await indexed.collection('c').createIndex('x')
        await indexed.collection('c').createIndex(['g', 'y'])
        for (const f of filters) {
          const options = { sort: sortBy, offset, ...(limit === undefined ? {} : { limit }) }
          const want = plain.collection('c').find(f as Filter, options)
          const got = indexed.collection('c').find(f as Filter, options)
          assert.deepEqual(got.map((d) => d.id), want.map((d) => d.id), `filter ${JSON.stringify(f, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)}`)
        }
      } finally {
        await plain.close()
        await indexed.close()
      }
    }), { numRuns: 250, seed: 99 })
  })
})
