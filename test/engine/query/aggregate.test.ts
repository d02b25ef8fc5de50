import assert from 'node:assert/strict'
import { aggregate, arraySource, type AggregateSpec, type Doc } from '../../../engine/query/index.ts'

const DOCS: Doc[] = [
  { id: '1', status: 'open', votes: 3, owner: { name: 'ada' } },
  { id: '2', status: 'open', votes: 4, owner: { name: 'linus' } },
  { id: '3', status: 'closed', votes: 10, owner: { name: 'ada' } },
  { id: '4', status: 'open', votes: 'many', owner: { name: 'ada' } },
  { id: '5', status: 'closed', votes: 5n },
  { id: '6', votes: null },
  { id: '7', status: 'open', votes: 2n, owner: { name: 'ada' } }
]
const source = arraySource(DOCS)

describe('query: aggregate', () => {
  it('groups, counts, sums, averages, takes min and max', () => {
    const rows = aggregate(source, {
      groupBy: 'status',
      aggregates: { n: { count: true }, total: { sum: 'votes' }, avgVotes: { avg: 'votes' }, lo: { min: 'votes' }, hi: { max: 'votes' } }
    })
    // groups in key order: missing, then 'closed', 'open'; 'many' and null are not numbers
    assert.deepStrictEqual(rows, [
      { n: 1, total: 0, avgVotes: null, lo: null, hi: null },
      { status: 'closed', n: 2, total: 15, avgVotes: 7.5, lo: 5n, hi: 10 },
      { status: 'open', n: 4, total: 9, avgVotes: 3, lo: 2n, hi: 'many' }
    ])
  })

  it('without groupBy gives one row, even over nothing', () => {
    assert.deepStrictEqual(aggregate(source, { aggregates: { n: { count: true }, s: { sum: 'votes' } } }), [{ n: 7, s: 3 + 4 + 10 + 5 + 2 }])
    assert.deepStrictEqual(aggregate(source, { filter: { id: 'nope' }, aggregates: { n: { count: true }, a: { avg: 'votes' }, m: { max: 'votes' } } }),
      [{ n: 0, a: null, m: null }])
  })

  it('sums of bigints stay exact bigints', () => {
    const big = arraySource([{ id: 'a', v: 2n ** 62n }, { id: 'b', v: 2n ** 62n }, { id: 'c', v: 1n }])
    assert.deepStrictEqual(aggregate(big, { aggregates: { s: { sum: 'v' } } }), [{ s: 2n ** 63n + 1n }])
  })

  it('groups by nested and several paths; rows hold keys at their paths', () => {
    const rows = aggregate(source, { filter: { status: 'open' }, groupBy: ['owner.name', 'status'], aggregates: { n: { count: true } } })
    assert.deepStrictEqual(rows, [
      { owner: { name: 'ada' }, status: 'open', n: 3 },
      { owner: { name: 'linus' }, status: 'open', n: 1 }
    ])
  })

  it('puts equal keys of different types in one group (1 and 1n)', () => {
    const mixed = arraySource([{ id: 'a', k: 1 }, { id: 'b', k: 1n }, { id: 'c', k: '1' }])
    assert.deepStrictEqual(aggregate(mixed, { groupBy: 'k', aggregates: { n: { count: true } } }), [{ k: 1, n: 2 }, { k: '1', n: 1 }])
  })

  it('filters groups with having, sorts and limits them', () => {
    const spec: AggregateSpec = {
      groupBy: 'owner.name',
      aggregates: { n: { count: true }, top: { max: 'votes' } },
      having: { n: { gte: 1 }, 'owner.name': { exists: true } },
      sort: [{ path: 'n', dir: 'desc' }]
    }
    assert.deepStrictEqual(aggregate(source, spec), [{ owner: { name: 'ada' }, n: 4, top: 'many' }, { owner: { name: 'linus' }, n: 1, top: 4 }])
    assert.deepStrictEqual(aggregate(source, { ...spec, limit: 1, offset: 1 }), [{ owner: { name: 'linus' }, n: 1, top: 4 }])
    // without the exists condition the group of documents without an owner is back
    assert.deepStrictEqual(aggregate(source, { ...spec, having: { top: { gt: 4 } } }), [{ n: 2, top: 5n }])
  })

  it('rejects bad aggregations with QueryErrors', () => {
    const bad: unknown[] = [
      { aggregates: { n: { count: false } } },
      { aggregates: { n: { median: 'votes' } } },
      { aggregates: { n: { sum: 'votes', avg: 'votes' } } },
      { aggregates: { n: { sum: '' } } },
      { aggregates: { n: 'count' } },
      { aggregates: { 'a.b': { count: true } } },
      { groupBy: 'status', aggregates: { status: { count: true } } },
      { groupBy: ['owner', 'owner.name'], aggregates: {} },
      { groupBy: ['a', 'a'], aggregates: {} },
      { groupBy: 3, aggregates: {} },
      { aggregates: [] },
      { aggregates: {}, having: { n: { bad: 1 } } },
      { aggregates: {}, filter: { n: { bad: 1 } } },
      { aggregates: {}, sort: [{ path: 'n', dir: 'sideways' }] },
      { aggregates: {}, limit: -2 },
      null
    ]
    for (const spec of bad) assert.throws(() => aggregate(source, spec as AggregateSpec), { name: 'QueryError' }, JSON.stringify(spec))
  })
})
