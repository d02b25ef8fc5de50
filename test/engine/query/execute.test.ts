import assert from 'node:assert/strict'
import {
  arraySource, compileQuery, explain, iterate, query, run,
  type Doc, type DocSource, type QuerySpec
} from '../../../engine/query/index.ts'

const DOCS: Doc[] = [
  { id: 'd', votes: 2, owner: { name: 'ada', age: 36 }, title: 'four' },
  { id: 'b', votes: 5, owner: { name: 'linus' }, title: 'two' },
  { id: 'a', votes: 2, title: 'one' },
  { id: 'c', votes: '9', owner: 'ada' },
  { id: 'e', title: 'five' },
  { id: 'f', votes: 2n, title: 'six' }
]

const source = arraySource(DOCS)
const ids = (spec: QuerySpec, from: DocSource = source): string[] => run(compileQuery(spec), from).map((d) => d.id)

/** A source of `n` generated documents that counts what it yielded and whether it was closed. */
function counting (n: number): { source: DocSource, read: () => number, closed: () => boolean } {
  let read = 0
  let closed = false
  return {
    source: {
      * scan () {
        try {
          for (let i = 0; i < n; i++) {
            read++
            yield { id: `doc${String(i).padStart(7, '0')}`, n: i % 100, even: i % 2 === 0 }
          }
        } finally {
          closed = true
        }
      }
    },
    read: () => read,
    closed: () => closed
  }
}

describe('query: sorting, slicing, projection and streaming', () => {
  it('without a sort, keeps the source order', () => {
    assert.deepEqual(ids({}), ['d', 'b', 'a', 'c', 'e', 'f'])
    assert.deepEqual(ids({ limit: 2, offset: 1 }), ['b', 'a'])
  })

  it('sorts by the total order, breaking ties by id; desc reverses keys but not the id tie-break', () => {
    // missing < numbers (2 = 2n, tied: by id) < strings
    assert.deepEqual(ids({ sort: ['votes'] }), ['e', 'a', 'd', 'f', 'b', 'c'])
    assert.deepEqual(ids({ sort: [{ path: 'votes', dir: 'desc' }] }), ['c', 'b', 'a', 'd', 'f', 'e'])
    assert.deepEqual(ids({ sort: ['owner.name', { path: 'title', dir: 'desc' }] }), ['f', 'a', 'e', 'c', 'd', 'b'])
    assert.deepEqual(ids({ sort: [{ path: 'id', dir: 'desc' }, 'votes'] }), ['f', 'e', 'd', 'c', 'b', 'a'])
  })

  it('gives the same order whatever the source order (the order is total)', () => {
    const reversed = arraySource([...DOCS].reverse())
    for (const sort of [['votes'], ['owner.name'], [{ path: 'votes', dir: 'desc' as const }, 'title']]) {
      assert.deepEqual(ids({ sort }, reversed), ids({ sort }))
    }
  })

  it('limit and offset slice the sorted result', () => {
    assert.deepEqual(ids({ sort: ['votes'], limit: 3 }), ['e', 'a', 'd'])
    assert.deepEqual(ids({ sort: ['votes'], limit: 3, offset: 2 }), ['d', 'f', 'b'])
    assert.deepEqual(ids({ sort: ['votes'], offset: 5 }), ['c'])
    assert.deepEqual(ids({ sort: ['votes'], offset: 9 }), [])
    assert.deepEqual(ids({ sort: ['votes'], limit: 0 }), [])
    assert.deepEqual(ids({ filter: { votes: 2 }, sort: [{ path: 'id', dir: 'desc' }], limit: 2 }), ['f', 'd'])
  })

  it('projects listed paths, always with id, leaving out paths that do not exist', () => {
    const rows = run(compileQuery({ sort: ['id'], select: ['title', 'owner.name', 'nope', 'owner.age.x'] }), source)
    assert.deepStrictEqual(rows, [
      { id: 'a', title: 'one' },
      { id: 'b', title: 'two', owner: { name: 'linus' } },
      { id: 'c' },
      { id: 'd', title: 'four', owner: { name: 'ada' } },
      { id: 'e', title: 'five' },
      { id: 'f', title: 'six' }
    ])
    const whole = run(compileQuery({ filter: { id: 'd' }, select: ['owner.name', 'owner'] }), source)
    assert.deepStrictEqual(whole, [{ id: 'd', owner: { name: 'ada', age: 36 } }])
    assert.deepStrictEqual(DOCS[0], { id: 'd', votes: 2, owner: { name: 'ada', age: 36 }, title: 'four' }, 'the source is untouched')
  })

  it('streams without a sort: taking 5 of 200k documents reads 5 and closes the source', () => {
    const c = counting(200_000)
    const taken: Doc[] = []
    for (const doc of iterate(compileQuery({ filter: { even: true } }), c.source)) {
      taken.push(doc)
      if (taken.length === 5) break
    }
    assert.equal(taken.length, 5)
    assert.equal(c.read(), 9)
    assert.ok(c.closed(), 'the source iterator was returned')

    const limited = counting(200_000)
    assert.equal(run(compileQuery({ limit: 3, offset: 2 }), limited.source).length, 3)
    assert.equal(limited.read(), 5)
    assert.ok(limited.closed())

    const first = counting(200_000)
    assert.equal(query(first.source).where('n', '==', 42).first()?.id, 'doc0000042')
    assert.equal(first.read(), 43)
  })

  it('sorts with a limit in a heap of limit + offset documents', () => {
    const c = counting(20_000)
    const plan = compileQuery({ sort: [{ path: 'n', dir: 'desc' }], limit: 3, offset: 2 })
    assert.deepEqual(run(plan, c.source).map((d) => d.id), ['doc0000299', 'doc0000399', 'doc0000499'])
    const report = explain(plan, counting(20_000).source)
    assert.deepEqual(report, {
      strategy: 'scan', examined: 20_000, matched: 20_000, returned: 3, sort: 'in-memory', buffered: 5, sargable: []
    })
  })

  it('explains a scan: examined, matched, returned and the sargable conditions', () => {
    const plan = compileQuery({ filter: { votes: { gte: 2, lt: 5 }, title: { ne: 'x' }, or: [{ a: 1 }, { b: 1 }] }, limit: 1 })
    assert.deepEqual(explain(plan, source), {
      strategy: 'scan',
      examined: 6,
      matched: 0,
      returned: 0,
      sort: 'none',
      buffered: 0,
      sargable: [{ path: 'votes', op: 'gte', value: 2 }, { path: 'votes', op: 'lt', value: 5 }]
    })
    const streaming = explain(compileQuery({ filter: { votes: 2 }, limit: 1 }), source)
    assert.deepEqual([streaming.examined, streaming.matched, streaming.returned, streaming.sort], [1, 1, 1, 'none'])
  })

  it('rejects bad queries with QueryErrors', () => {
    const bad: unknown[] = [
      { sort: 'votes' },
      { sort: [{ path: 'votes', dir: 'up' }] },
      { sort: [3] },
      { limit: -1 },
      { limit: 2.5 },
      { offset: '1' },
      { select: 'title' },
      { select: ['a', ''] },
      { filter: { a: { bad: 1 } } },
      null
    ]
    for (const spec of bad) assert.throws(() => compileQuery(spec as QuerySpec), { name: 'QueryError' }, JSON.stringify(spec))
  })
})
