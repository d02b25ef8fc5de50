import assert from 'node:assert/strict'
import { encode } from '../../../engine/codec/index.ts'
import { compileQuery, cursorOf, page, run, type Doc, type DocSource, type QuerySpec } from '../../../engine/query/index.ts'

/** A mutable in-memory collection. */
function table (docs: Doc[]): { source: DocSource, put: (d: Doc) => void, del: (id: string) => void } {
  const rows = new Map(docs.map((d) => [d.id, d]))
  return { source: { scan: () => rows.values() }, put: (d) => { rows.set(d.id, d) }, del: (id) => { rows.delete(id) } }
}

const at = (spec: QuerySpec, source: DocSource): { ids: string[], next?: string } => {
  const p = page(compileQuery(spec), source)
  return { ids: p.docs.map((d) => d.id), ...(p.next === undefined ? {} : { next: p.next }) }
}

describe('query: cursor pagination', () => {
  const DOCS: Doc[] = [
    { id: 'a', votes: 3 }, { id: 'b', votes: 1 }, { id: 'c', votes: 3 },
    { id: 'd', votes: 2 }, { id: 'e' }, { id: 'f', votes: 3 }
  ]

  it('walks pages in (sort keys…, id) order and ends without a cursor', () => {
    const t = table(DOCS)
    const sort = [{ path: 'votes', dir: 'desc' as const }]
    const p1 = at({ sort, limit: 2 }, t.source)
    assert.deepEqual(p1.ids, ['a', 'c'])
    const p2 = at({ sort, limit: 2, after: p1.next! }, t.source)
    assert.deepEqual(p2.ids, ['f', 'd'])
    const p3 = at({ sort, limit: 2, after: p2.next! }, t.source)
    assert.deepEqual(p3.ids, ['b', 'e'])
    assert.equal(p3.next, undefined, 'no row follows the last page')
    assert.deepEqual(at({ sort, limit: 2, after: cursorOf(compileQuery({ sort }), DOCS[4]!) }, t.source).ids, [])
  })

  it('without a sort, pages by id', () => {
    const t = table([...DOCS].reverse())
    const p1 = at({ limit: 4 }, t.source)
    assert.deepEqual(p1.ids, ['a', 'b', 'c', 'd'])
    assert.deepEqual(at({ limit: 4, after: p1.next! }, t.source).ids, ['e', 'f'])
    assert.deepEqual(run(compileQuery({ after: p1.next! }), t.source).map((d) => d.id), ['e', 'f'])
  })

  it('stays exact when rows are inserted and deleted between pages', () => {
    const t = table(DOCS)
    const sort = [{ path: 'votes', dir: 'desc' as const }]
    const p1 = at({ sort, limit: 2 }, t.source) // a, c (votes 3)
    t.del('a') // already returned
    t.del('d') // not yet returned
    t.put({ id: 'b0', votes: 3 }) // sorts before the cursor (3, 'c'): belongs to the past
    t.put({ id: 'cc', votes: 3 }) // sorts after it
    t.put({ id: 'g', votes: 1 })
    const p2 = at({ sort, limit: 2, after: p1.next! }, t.source)
    assert.deepEqual(p2.ids, ['cc', 'f'])
    const p3 = at({ sort, limit: 10, after: p2.next! }, t.source)
    assert.deepEqual(p3.ids, ['b', 'g', 'e'])
  })

  it('takes the cursor from whole rows, even when the page is projected', () => {
    const t = table(DOCS)
    const spec = { sort: ['votes'], limit: 3, select: ['id'] }
    const p1 = page(compileQuery(spec), t.source)
    assert.deepStrictEqual(p1.docs, [{ id: 'e' }, { id: 'b' }, { id: 'd' }])
    const p2 = page(compileQuery({ ...spec, after: p1.next! }), t.source)
    assert.deepStrictEqual(p2.docs, [{ id: 'a' }, { id: 'c' }, { id: 'f' }])
  })

  it('carries any value in a cursor: missing fields, bigints, dates, bytes, objects', () => {
    const docs: Doc[] = [
      { id: '1' }, { id: '2', k: 2n ** 62n }, { id: '3', k: new Date(5) }, { id: '4', k: Uint8Array.of(9) },
      { id: '5', k: { z: [null, 'x'] } }, { id: '6', k: null }, { id: '7', k: Number.NaN }
    ]
    const t = table(docs)
    const seen: string[] = []
    let after: string | undefined
    for (;;) {
      const p = at({ sort: ['k'], limit: 1, ...(after === undefined ? {} : { after }) }, t.source)
      seen.push(...p.ids)
      if (p.next === undefined) break
      assert.match(p.next, /^[A-Za-z0-9_-]+$/)
      after = p.next
    }
    assert.deepEqual(seen, ['1', '6', '7', '2', '3', '4', '5'])
  })

  it('rejects damaged cursors and cursors of another sort with QueryErrors', () => {
    const good = cursorOf(compileQuery({ sort: ['votes'] }), DOCS[0]!)
    const forged = (v: unknown): string => Buffer.from(encode(v as never)).toString('base64url')
    const bad: Array<[QuerySpec, string]> = [
      [{ sort: ['votes'] }, 'not base64!'],
      [{ sort: ['votes'] }, ''],
      [{ sort: ['votes'] }, good.slice(0, -3)],
      [{ sort: ['votes'] }, 'AAAA'],
      [{ sort: [{ path: 'votes', dir: 'desc' }] }, good],
      [{ sort: ['title'] }, good],
      [{}, good],
      [{ sort: ['votes'] }, forged([2, ['+votes', '+id'], [[1], ['a']]])],
      [{ sort: ['votes'] }, forged([1, ['+votes', '+id'], [[1]]])],
      [{ sort: ['votes'] }, forged([1, ['+votes', '+id'], [[1], [5]]])],
      [{ sort: ['votes'] }, forged([1, ['+votes', '+id'], [1, ['a']]])]
    ]
    for (const [spec, after] of bad) {
      assert.throws(() => compileQuery({ ...spec, after }), { name: 'QueryError' }, `${JSON.stringify(spec)} after ${after}`)
    }
  })
})
