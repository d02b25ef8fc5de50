import assert from 'node:assert/strict'
import { open, type Database, type ChangeEvent } from '../../../engine/index.ts'

describe('database: documents', () => {
  let db: Database
  beforeEach(async () => { db = await open() })
  afterEach(async () => { await db.close() })

  it('inserts, gets, updates nested fields, deletes, counts', async () => {
    const bugs = db.collection('bugs')
    const id = await bugs.insert({ title: 'crash', status: 'open', stats: { views: 1, likes: 2 } })
    assert.equal(typeof id, 'string')
    assert.deepEqual(bugs.get(id), { id, title: 'crash', status: 'open', stats: { views: 1, likes: 2 } })
    await bugs.update(id, { status: 'closed', stats: { views: 5 } })
    assert.deepEqual(bugs.get(id), { id, title: 'crash', status: 'closed', stats: { views: 5, likes: 2 } })
    await bugs.update(id, { title: undefined })
    assert.equal(bugs.get(id)!.title, undefined)
    assert.equal(bugs.count(), 1)
    assert.equal(await bugs.delete(id), true)
    assert.equal(bugs.get(id), undefined)
    assert.equal(await bugs.delete(id), false)
    assert.equal(bugs.count(), 0)
  })

  it('uses the document\'s own id and refuses a duplicate insert', async () => {
    const c = db.collection('c')
    assert.equal(await c.insert({ id: 'a', n: 1 }), 'a')
    await assert.rejects(c.insert({ id: 'a', n: 2 }), { name: 'AlreadyExistsError' })
    assert.equal(c.get('a')!.n, 1)
  })

  it('update of a missing document is NotFoundError', async () => {
    await assert.rejects(db.collection('c').update('nope', { a: 1 }), { name: 'NotFoundError' })
  })

  it('rejects bad input with typed errors', async () => {
    const c = db.collection('c')
    await assert.rejects(c.insert([] as unknown as Record<string, unknown>), { name: 'InvalidArgumentError' })
    await assert.rejects(c.insert({ f: () => 1 }), { name: 'UnencodableValueError' })
    assert.throws(() => db.collection(''), { name: 'InvalidArgumentError' })
    assert.equal(c.count(), 0)
  })

  it('keeps every value type', async () => {
    const c = db.collection('types')
    const doc = { id: 'x', s: 'é✓', i: -42, f: 1.5, big: 2n ** 60n, t: true, n: null, b: new Uint8Array([1, 2]), d: new Date(1700000000000), a: [1, 'two', [3]], m: { k: { j: 1 } } }
    await c.insert(doc)
    assert.deepEqual(c.get('x'), doc)
  })

  it('finds by equality on fields and nested paths', async () => {
    const c = db.collection('c')
    await c.insert({ id: '1', status: 'open', owner: { name: 'ada' } })
    await c.insert({ id: '2', status: 'closed', owner: { name: 'ada' } })
    await c.insert({ id: '3', status: 'open', owner: { name: 'linus' } })
    assert.deepEqual(c.find({ status: 'open' }).map((d) => d.id), ['1', '3'])
    assert.deepEqual(c.find({ status: 'open', 'owner.name': 'ada' }).map((d) => d.id), ['1'])
    assert.equal(c.find().length, 3)
  })

  it('counters sum concurrent increments and a later set resets them', async () => {
    const c = db.collection('c')
    await c.insert({ id: 'p', views: 0 })
    await Promise.all([c.increment('p', 'views'), c.increment('p', 'views', 2), c.increment('p', 'views')])
    assert.equal(c.get('p')!.views, 4)
    await c.set('p', 'views', 10)
    await c.increment('p', 'views')
    assert.equal(c.get('p')!.views, 11)
  })

  it('a transaction is one atomic change; a throwing one writes nothing', async () => {
    const events: ChangeEvent[] = []
    db.subscribe((e) => events.push(e))
    const before = events.length
    await db.transaction(async (tx) => {
      const a = tx.collection('a')
      await a.insert({ id: '1', v: 1 })
      await a.update('1', { w: 2 })
      assert.deepEqual(a.get('1'), { id: '1', v: 1, w: 2 })
      assert.equal(a.count(), 1)
      await tx.collection('b').insert({ id: '2' })
    })
    assert.equal(events.length - before, 1)
    assert.equal(events.at(-1)!.ops.length, 3)
    assert.equal(events.at(-1)!.origin, 'local')
    assert.deepEqual(db.collection('a').get('1'), { id: '1', v: 1, w: 2 })

    await assert.rejects(db.transaction(async (tx) => {
      await tx.collection('a').insert({ id: '9' })
      await tx.collection('a').delete('1')
      throw new Error('changed my mind')
    }), /changed my mind/)
    assert.equal(db.collection('a').get('9'), undefined)
    assert.deepEqual(db.collection('a').get('1'), { id: '1', v: 1, w: 2 })
    assert.equal(events.length - before, 1)
  })

  it('many concurrent writes each become their own change, and all land', async () => {
    const c = db.collection('c')
    const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => c.insert({ i })))
    assert.equal(new Set(ids).size, 500)
    assert.equal(c.count(), 500)
    assert.equal(db.versionVector()[db.peerId], 501) // + genesis
  })

  it('operations after close fail with DatabaseClosedError', async () => {
    const other = await open()
    await other.close()
    assert.throws(() => other.collection('x'), { name: 'DatabaseClosedError' })
  })
})
