import assert from 'node:assert/strict'
import type { Value } from '../../../engine/codec/index.ts'
import { arraySource, compileFilter, compileQuery, run, type Doc, type Filter } from '../../../engine/query/index.ts'

const DOCS: Doc[] = [
  { id: 'a', status: 'open', votes: 5, owner: { name: 'ada', age: 36 }, tags: ['x', 'y'], title: 'alpha' },
  { id: 'b', status: 'closed', votes: 2n, owner: { name: 'linus' }, tags: [], title: 'beta' },
  { id: 'c', status: 'open', votes: '7', tags: ['y', [1, 2]], title: 'gamma' },
  { id: 'd', status: null, votes: 3.5, owner: 'ada' },
  { id: 'e', votes: null, created: new Date(1000), blob: Uint8Array.of(1, 2), meta: { tags: { x: 1 } } }
]

const ids = (filter: Filter): string[] => run(compileQuery({ filter }), arraySource(DOCS)).map((d) => d.id)

describe('query: filter operators', () => {
  it('eq: shorthand and explicit, nested paths, null is not missing, numbers equal bigints', () => {
    assert.deepEqual(ids({ status: 'open' }), ['a', 'c'])
    assert.deepEqual(ids({ status: { eq: 'open' } }), ['a', 'c'])
    assert.deepEqual(ids({ 'owner.name': 'ada' }), ['a']) // d's owner is a string: no owner.name
    assert.deepEqual(ids({ status: null }), ['d'])
    assert.deepEqual(ids({ votes: 2 }), ['b'])
    assert.deepEqual(ids({ votes: 3.5, status: null }), ['d'])
    assert.deepEqual(ids({ id: 'c' }), ['c'])
    assert.deepEqual(ids({ 'owner.missing.deeper': 1 }), [])
  })

  it('eq is deep for arrays, objects, dates and bytes; object key order does not matter', () => {
    assert.deepEqual(ids({ tags: ['x', 'y'] }), ['a'])
    assert.deepEqual(ids({ tags: ['y', 'x'] }), [])
    assert.deepEqual(ids({ tags: [] }), ['b'])
    assert.deepEqual(ids({ owner: { eq: { age: 36, name: 'ada' } } }), ['a'])
    assert.deepEqual(ids({ 'meta.tags': { eq: { x: 1n } } }), ['e'])
    assert.deepEqual(ids({ created: new Date(1000) }), ['e'])
    assert.deepEqual(ids({ blob: Uint8Array.of(1, 2) }), ['e'])
    assert.deepEqual(ids({ blob: Uint8Array.of(1) }), [])
  })

  it('ne and nin also match documents without the field', () => {
    assert.deepEqual(ids({ status: { ne: 'open' } }), ['b', 'd', 'e'])
    assert.deepEqual(ids({ status: { ne: null } }), ['a', 'b', 'c', 'e'])
    assert.deepEqual(ids({ status: { nin: ['open', null] } }), ['b', 'e'])
    assert.deepEqual(ids({ 'owner.name': { nin: [] } }), ['a', 'b', 'c', 'd', 'e'])
  })

  it('gt gte lt lte compare within a type class only', () => {
    assert.deepEqual(ids({ votes: { gt: 3 } }), ['a', 'd']) // not '7', a string
    assert.deepEqual(ids({ votes: { gte: 2, lt: 5 } }), ['b', 'd'])
    assert.deepEqual(ids({ votes: { lte: 3.5 } }), ['b', 'd'])
    assert.deepEqual(ids({ votes: { gt: 1n } }), ['a', 'b', 'd'])
    assert.deepEqual(ids({ votes: { gt: '5' } }), ['c'])
    assert.deepEqual(ids({ votes: { gte: null } }), ['e'])
    assert.deepEqual(ids({ votes: { lt: true } }), [])
    assert.deepEqual(ids({ title: { gt: 'b' } }), ['b', 'c'])
    assert.deepEqual(ids({ created: { gt: new Date(999), lte: new Date(1000) } }), ['e'])
    assert.deepEqual(ids({ tags: { gt: ['x'] } }), ['a', 'c'])
    assert.deepEqual(ids({ owner: { lt: { name: 'b' } } }), ['a'])
    assert.deepEqual(ids({ missing: { lt: 100 } }), [])
  })

  it('in: equality with any listed value, across types', () => {
    assert.deepEqual(ids({ status: { in: ['open', null] } }), ['a', 'c', 'd'])
    assert.deepEqual(ids({ votes: { in: [2, 3.5, '7'] } }), ['b', 'c', 'd'])
    assert.deepEqual(ids({ tags: { in: [['x', 'y'], []] } }), ['a', 'b'])
    assert.deepEqual(ids({ status: { in: [] } }), [])
  })

  it('exists: presence, on nested paths too', () => {
    assert.deepEqual(ids({ owner: { exists: true } }), ['a', 'b', 'd'])
    assert.deepEqual(ids({ owner: { exists: false } }), ['c', 'e'])
    assert.deepEqual(ids({ 'owner.name': { exists: true } }), ['a', 'b'])
    assert.deepEqual(ids({ votes: { exists: true } }), ['a', 'b', 'c', 'd', 'e']) // null is present
  })

  it('contains: an array field holding an equal element', () => {
    assert.deepEqual(ids({ tags: { contains: 'y' } }), ['a', 'c'])
    assert.deepEqual(ids({ tags: { contains: [1, 2n] } }), ['c'])
    assert.deepEqual(ids({ title: { contains: 'a' } }), [])
  })

  it('startsWith: a string field with that prefix', () => {
    assert.deepEqual(ids({ title: { startsWith: 'a' } }), ['a'])
    assert.deepEqual(ids({ title: { startsWith: '' } }), ['a', 'b', 'c'])
    assert.deepEqual(ids({ votes: { startsWith: '7' } }), ['c'])
  })

  it('and, or, not, and several keys at once', () => {
    assert.deepEqual(ids({ and: [{ status: 'open' }, { votes: { gt: 1 } }] }), ['a'])
    assert.deepEqual(ids({ or: [{ status: 'closed' }, { votes: null }] }), ['b', 'e'])
    assert.deepEqual(ids({ not: { status: 'open' } }), ['b', 'd', 'e'])
    assert.deepEqual(ids({ status: 'open', or: [{ 'owner.name': 'ada' }, { tags: { contains: [1, 2] } }] }), ['a', 'c'])
    assert.deepEqual(ids({ not: { or: [{ status: 'open' }, { status: 'closed' }] } }), ['d', 'e'])
    assert.deepEqual(ids({}), ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(ids({ and: [] }), ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(ids({ or: [] }), [])
  })

  it('compiles to a flattened tree', () => {
    assert.deepEqual(compileFilter({ a: 1 }), { kind: 'cond', path: 'a', op: 'eq', value: 1 })
    assert.deepEqual(compileFilter({ a: { gt: 1, lt: 3 }, and: [{ b: 2 }, { and: [{ c: 3 }] }] }), {
      kind: 'and',
      children: [
        { kind: 'cond', path: 'a', op: 'gt', value: 1 },
        { kind: 'cond', path: 'a', op: 'lt', value: 3 },
        { kind: 'cond', path: 'b', op: 'eq', value: 2 },
        { kind: 'cond', path: 'c', op: 'eq', value: 3 }
      ]
    })
    assert.deepEqual(compileFilter({ or: [{ a: 1 }, { or: [{ b: 2 }] }] }), {
      kind: 'or',
      children: [{ kind: 'cond', path: 'a', op: 'eq', value: 1 }, { kind: 'cond', path: 'b', op: 'eq', value: 2 }]
    })
  })

  it('never reads a prototype: constructor and __proto__ are ordinary missing fields', () => {
    assert.deepEqual(ids({ constructor: { exists: true } }), [])
    assert.deepEqual(ids({ 'owner.toString': { exists: true } }), [])
    const special: Doc = { id: 'p', ...JSON.parse('{"__proto__": {"x": 1}}') as Record<string, Value> }
    assert.deepEqual(run(compileQuery({ filter: { '__proto__.x': 1 } }), arraySource([special])).map((d) => d.id), ['p'])
  })

  it('bad filters are QueryErrors', () => {
    const bad: unknown[] = [
      { votes: { gtt: 3 } },
      { votes: { gt: 3, between: [1, 2] } },
      { owner: { name: 'ada' } }, // an object value is an operator object: use { eq: {...} }
      { votes: {} },
      { votes: undefined },
      { votes: { in: 3 } },
      { votes: { nin: 'abc' } },
      { votes: { exists: 'yes' } },
      { title: { startsWith: 1 } },
      { votes: () => 1 },
      { votes: { eq: new Map() } },
      { votes: { eq: { a: undefined } } },
      { and: { a: 1 } },
      { or: 'a' },
      { not: [] },
      { and: [null] },
      { '': 1 },
      { 'a..b': 1 },
      [],
      null,
      'status'
    ]
    for (const filter of bad) {
      assert.throws(() => compileFilter(filter as Filter), { name: 'QueryError', code: 'ERR_QUERY' }, JSON.stringify(filter) ?? String(filter))
    }
  })
})
