import assert from 'node:assert/strict'
import { arraySource, compileQuery, query, type Doc, type WhereOp } from '../../../engine/query/index.ts'

describe('query: the builder', () => {
  it('builds the same plan as the object form', () => {
    const built = query()
      .where('status', '==', 'open')
      .where('votes', '>', 3)
      .orderBy('votes', 'desc')
      .orderBy('id')
      .limit(20)
      .offset(10)
      .select(['title', 'votes'])
      .build()
    const spec = compileQuery({
      filter: { status: 'open', votes: { gt: 3 } },
      sort: [{ path: 'votes', dir: 'desc' }],
      limit: 20,
      offset: 10,
      select: ['title', 'votes']
    })
    assert.deepStrictEqual(built, spec)
    assert.deepStrictEqual(built.sargable, [{ path: 'status', op: 'eq', value: 'open' }, { path: 'votes', op: 'gt', value: 3 }])
  })

  it('maps every operator to its filter form', () => {
    const pairs: Array<[WhereOp, string, unknown]> = [
      ['==', 'eq', 1], ['!=', 'ne', 1], ['>', 'gt', 1], ['>=', 'gte', 1], ['<', 'lt', 1], ['<=', 'lte', 1],
      ['in', 'in', [1, 2]], ['nin', 'nin', [1]], ['exists', 'exists', false], ['contains', 'contains', 'x'], ['startsWith', 'startsWith', 'ab']
    ]
    for (const [op, name, value] of pairs) {
      assert.deepStrictEqual(
        query().where('a.b', op, value as never).build(),
        compileQuery({ filter: { 'a.b': { [name]: value } } }))
    }
  })

  it('mixes in filter objects, also reaching fields named like logical keys', () => {
    assert.deepStrictEqual(
      query().filter({ or: [{ a: 1 }, { b: 2 }] }).where('c', '<=', 3).build(),
      compileQuery({ filter: { or: [{ a: 1 }, { b: 2 }], c: { lte: 3 } } }))
    const docs: Doc[] = [{ id: '1', and: 'x' }, { id: '2', and: 'y' }]
    assert.deepEqual(query(arraySource(docs)).where('and', '==', 'y').run().map((d) => d.id), ['2'])
  })

  it('is immutable: refining a base query leaves it unchanged', () => {
    const base = query().where('a', '==', 1)
    const sorted = base.orderBy('b')
    assert.deepStrictEqual(base.build().sort, [])
    assert.deepStrictEqual(sorted.build().sort, [{ path: 'b', dir: 'asc' }, { path: 'id', dir: 'asc' }])
    assert.notDeepStrictEqual(base.limit(1).build(), base.build())
  })

  it('runs bound to a source: run, iterate, first, page, explain', () => {
    const source = arraySource([{ id: 'x', n: 2 }, { id: 'y', n: 1 }, { id: 'z', n: 3 }])
    const q = query(source).where('n', '>=', 2).orderBy('n', 'desc')
    assert.deepEqual(q.run().map((d) => d.id), ['z', 'x'])
    assert.deepEqual([...q.iterate()].map((d) => d.id), ['z', 'x'])
    assert.equal(q.first()?.id, 'z')
    assert.equal(query(source).where('n', '>', 9).first(), undefined)
    assert.deepEqual(q.limit(1).page().docs.map((d) => d.id), ['z'])
    assert.equal(q.explain().returned, 2)
  })

  it('rejects bad calls where they are made, with QueryErrors', () => {
    const q = query()
    const calls: Array<() => unknown> = [
      () => q.where('a', 'like' as WhereOp, 1),
      () => q.where('a', '=' as WhereOp, 1),
      () => q.where('', '==', 1),
      () => q.where('a', 'in', 1),
      () => q.where('a', 'exists', 1),
      () => q.filter({ a: { gtt: 1 } }),
      () => q.orderBy('a', 'down' as 'asc'),
      () => q.orderBy('a..b'),
      () => q.limit(-1),
      () => q.limit(1.5),
      () => q.offset(Number.NaN),
      () => q.select('title' as unknown as string[]),
      () => q.select(['']),
      () => q.after('not a cursor!').build(),
      () => q.run()
    ]
    for (const call of calls) assert.throws(call, { name: 'QueryError' }, call.toString())
  })
})
