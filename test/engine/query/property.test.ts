import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  aggregate, arraySource, compileQuery, iterate, page, query, run,
  type Doc, type DocSource, type QueryBuilder, type QuerySpec
} from '../../../engine/query/index.ts'
import { aggregateSpecArb, bodyArb, docsArb, idArb, querySpecArb } from './arbitraries.ts'
import { refAggregate, refCompare, refGet, refMatch, refRun } from './reference.ts'

/** The builder form of a query spec. */
function builderOf (spec: QuerySpec): QueryBuilder {
  let q = query().filter(spec.filter ?? {})
  for (const k of spec.sort ?? []) q = typeof k === 'string' ? q.orderBy(k) : q.orderBy(k.path, k.dir)
  if (spec.limit !== undefined) q = q.limit(spec.limit)
  if (spec.offset !== undefined) q = q.offset(spec.offset)
  if (spec.select !== undefined) q = q.select(spec.select)
  return q
}

describe('query: properties against a naive reference', () => {
  it('run() equals filter → sort → slice → project, and iterate() and the builder agree', () => {
    fc.assert(fc.property(docsArb, querySpecArb, (docs, spec) => {
      const plan = compileQuery(spec)
      const source = arraySource(docs)
      const expected = refRun(docs, spec)
      assert.deepStrictEqual(run(plan, source), expected)
      assert.deepStrictEqual([...iterate(plan, source)], expected)
      assert.deepStrictEqual(builderOf(spec).build(), plan)
    }), { numRuns: 400 })
  })

  it('aggregate() equals group → reduce → having → sort → slice', () => {
    fc.assert(fc.property(docsArb, aggregateSpecArb, (docs, spec) => {
      assert.deepStrictEqual(aggregate(arraySource(docs), spec), refAggregate(docs, spec))
    }), { numRuns: 300 })
  })

  it('pages without changes in between concatenate to the whole ordered result', () => {
    fc.assert(fc.property(docsArb, querySpecArb, fc.integer({ min: 1, max: 4 }), (docs, spec, size) => {
      const source = arraySource(docs)
      const whole = { filter: spec.filter ?? {}, sort: spec.sort ?? [] }
      const seen: Doc[] = []
      let after: string | undefined
      for (let i = 0; i <= docs.length; i++) {
        const p = page(compileQuery({ ...whole, limit: size, ...(after === undefined ? {} : { after }) }), source)
        seen.push(...p.docs)
        if (p.next === undefined) break
        after = p.next
      }
      // the page order is the sort, then id (by id alone when there is no sort)
      assert.deepStrictEqual(seen, refRun(docs, { ...whole, sort: whole.sort.length > 0 ? whole.sort : ['id'] }))
    }), { numRuns: 200 })
  })

  it('cursor paging under inserts, updates and deletes: no unchanged row is skipped or repeated', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), id: idArb, body: bodyArb }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('update' as const), at: fc.nat(), body: bodyArb })
    )
    const gaps = fc.array(fc.array(mutation, { maxLength: 3 }), { maxLength: 8 })
    fc.assert(fc.property(docsArb, querySpecArb, fc.integer({ min: 1, max: 4 }), gaps, (docs, spec, size, script) => {
      const live = new Map(docs.map((d) => [d.id, d]))
      const source: DocSource = { scan: () => live.values() }
      const touched = new Set<string>()
      const sort = spec.sort ?? []
      const keyOf = (d: Doc): unknown[] => [...sort.map((k) => refGet(d, typeof k === 'string' ? k : k.path)), d.id]
      const returned: Doc[] = []
      let after: string | undefined
      for (let i = 0; ; i++) {
        assert.ok(i < 200, 'paging must end')
        const plan = compileQuery({ filter: spec.filter ?? {}, sort, limit: size, ...(after === undefined ? {} : { after }) })
        const p = page(plan, source)
        returned.push(...p.docs)
        if (p.next === undefined) break
        after = p.next
        for (const m of script[i] ?? []) {
          const ids = [...live.keys()]
          if (m.kind === 'put') {
            live.set(m.id, { ...m.body, id: m.id })
            touched.add(m.id)
          } else if (ids.length > 0) {
            const id = ids[m.at % ids.length]!
            touched.add(id)
            if (m.kind === 'delete') live.delete(id)
            else live.set(id, { ...m.body, id })
          }
        }
      }
      const counts = new Map<string, number>()
      for (const d of returned) counts.set(d.id, (counts.get(d.id) ?? 0) + 1)
      for (const d of docs) {
        if (touched.has(d.id) || !refMatch(spec.filter ?? {}, d)) continue
        assert.equal(counts.get(d.id), 1, `unchanged row ${d.id} must be returned exactly once`)
      }
      // rows come strictly ascending in (sort keys…, id) order, as each was when returned
      const dirs = [...sort.map((k) => typeof k === 'string' ? 1 : k.dir === 'desc' ? -1 : 1), 1]
      for (let i = 1; i < returned.length; i++) {
        const a = keyOf(returned[i - 1]!) as Parameters<typeof refCompare>[0][]
        const b = keyOf(returned[i]!) as Parameters<typeof refCompare>[0][]
        const c = a.map((x, j) => refCompare(x, b[j]) * dirs[j]!).find((x) => x !== 0) ?? 0
        assert.ok(c < 0, `row ${i} must come after row ${i - 1}`)
      }
    }), { numRuns: 200 })
  })
})
