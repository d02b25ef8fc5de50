/**
 * Running a plan over a `DocSource`.
 *
 * Memory:
 * - without a sort, documents stream: `iterate` reads the source only as far as the
 *   consumer pulls (and stops reading at `limit`), holding one document at a time;
 * - with a sort and a limit, a bounded heap keeps the best `offset + limit` matches;
 * - with a sort and no limit, every match is held, then sorted.
 */
import type { Value } from '../codec/index.ts'
import { decodeCursor, encodeCursor, type SortValues } from './cursor.ts'
import { predicate } from './filter.ts'
import { TopK } from './heap.ts'
import { ID_ASC, makePlan, type QueryPlan, type Sargable, type SortKey } from './plan.ts'
import { projector } from './projection.ts'
import type { Doc, DocSource } from './source.ts'
import { compareValues, getField } from './values.ts'
import { isTruncated } from '../index/key-encoding.ts'

export interface Explanation {
  /** How documents were found: `'scan'` read every document, `'index'` only an index's candidates. */
  readonly strategy: 'scan' | 'index'
  /** the index used, when strategy is 'index' */
  readonly index?: string
  /** Documents read from the source. */
  readonly examined: number
  /** Documents that passed the filter (and the cursor). */
  readonly matched: number
  /** Documents returned, after offset and limit. */
  readonly returned: number
  readonly sort: 'in-memory' | 'none'
  /** Most documents held at once for sorting: at most `offset + limit` when there is a limit. */
  readonly buffered: number
  /** Conditions an index could serve; none is used yet. */
  readonly sargable: readonly Sargable[]
}

export interface Page {
  readonly docs: Doc[]
  /** The cursor for the next page (pass it as `after`); absent on the last page. */
  readonly next?: string
}

interface Stats { examined: number, matched: number, returned: number, buffered: number }

interface Row { readonly doc: Doc, readonly keys: SortValues }

/** Every result of the plan, in order. */
export function run (plan: QueryPlan, source: DocSource): Doc[] {
  return Array.from(iterate(plan, source))
}

/** The results of the plan as a lazy stream (see the module comment for its memory use). */
export function iterate (plan: QueryPlan, source: DocSource): Generator<Doc, void, undefined> {
  return execute(plan, source, newStats())
}

/** Runs the plan and reports how: what was read, matched, held and returned. */
export function explain (plan: QueryPlan, source: DocSource): Explanation {
  const stats = newStats()
  const results = execute(plan, source, stats)
  while (results.next().done !== true) { /* counted in stats */ }
  const access = source.access?.(plan)
  return {
    strategy: access === undefined ? 'scan' : 'index',
    ...(access === undefined ? {} : { index: access.index }),
    examined: stats.examined,
    matched: stats.matched,
    returned: stats.returned,
    sort: plan.sort.length > 0 ? 'in-memory' : 'none',
    buffered: stats.buffered,
    sargable: plan.sargable
  }
}

/**
 * One page of results and the cursor for the next. The order is the plan's sort (by `id`
 * when it has none), always ending with `id`, so paging stays exact while documents are
 * inserted and deleted between pages: every row present throughout is returned once.
 */
export function page (plan: QueryPlan, source: DocSource): Page {
  const ordered = pagePlan(plan)
  // projection waits until the cursor is taken; one extra row tells whether a page follows
  const { projection, limit, ...rest } = ordered
  const rows = run(limit === undefined ? rest : { ...rest, limit: limit + 1 }, source)
  const project = projector(projection)
  if (limit === undefined || rows.length <= limit) return { docs: rows.map(project) }
  const last = rows[limit - 1]
  if (last === undefined) return plan.after === undefined ? { docs: [] } : { docs: [], next: plan.after } // limit 0
  return { docs: rows.slice(0, limit).map(project), next: cursorOf(ordered, last) }
}

/**
 * The cursor just after this document in the plan's page order (the plan's sort, or `id`).
 * Give it the whole document, not a projection that lacks the sort fields.
 */
export function cursorOf (plan: QueryPlan, doc: Doc): string {
  const sort = pageSort(plan)
  return encodeCursor(sort, sortValues(doc, sort.map((k) => k.path.split('.'))))
}

function pageSort (plan: QueryPlan): readonly SortKey[] {
  return plan.sort.length > 0 ? plan.sort : [ID_ASC]
}

function pagePlan (plan: QueryPlan): QueryPlan {
  return plan.sort.length > 0 ? plan : makePlan({ ...plan, sort: [ID_ASC] })
}

function newStats (): Stats {
  return { examined: 0, matched: 0, returned: 0, buffered: 0 }
}

function * execute (plan: QueryPlan, from: DocSource, stats: Stats): Generator<Doc, void, undefined> {
  const access = from.access?.(plan)
  const source: { scan: () => Iterable<Doc> } = access ?? from
  const limit = plan.limit
  if (limit === 0) return
  const offset = plan.offset ?? 0
  const matches = predicate(plan.filter)
  const project = projector(plan.projection)

  // plans from compileQuery or the builder always sort when they carry a cursor
  const sort = plan.sort.length === 0 && plan.after !== undefined ? [ID_ASC] : plan.sort
  if (sort.length === 0) {
    let skipped = 0
    let returned = 0
    for (const doc of source.scan()) {
      stats.examined++
      if (!matches(doc)) continue
      stats.matched++
      if (skipped < offset) {
        skipped++
        continue
      }
      stats.returned++
      yield project(doc)
      if (limit !== undefined && ++returned >= limit) return
    }
    return
  }

  const paths = sort.map((k) => k.path.split('.'))
  const cmp = rowComparator(sort)
  const after = plan.after === undefined ? undefined : decodeCursor(sort, plan.after)
  const heap = limit === undefined ? undefined : new TopK<Row>(offset + limit, cmp)
  // an index ordered by the leading sort key lets a limited query stop early
  const order = access?.order !== undefined && heap !== undefined && access.order.path === sort[0]!.path && access.order.dir === sort[0]!.dir ? access.order : undefined
  const all: Row[] = []
  for (const doc of source.scan()) {
    if (order !== undefined && heap!.full) {
      const key = order.key(doc)
      const past = Buffer.compare(key, order.key(heap!.worst()!.doc))
      // with ties arriving in the sort's own id order, a tie cannot beat the kept rows either
      const tiesLose = order.thenById && sort.length === 2 && sort[1]!.path === 'id' && sort[1]!.dir === order.dir && !isTruncated(key)
      if (order.dir === 'asc' ? (past > 0 || (tiesLose && past === 0)) : (past < 0 || (tiesLose && past === 0))) break
    }
    stats.examined++
    if (!matches(doc)) continue
    const row: Row = { doc, keys: sortValues(doc, paths) }
    if (after !== undefined && cmp(row, { doc, keys: after }) <= 0) continue
    stats.matched++
    if (heap === undefined) all.push(row)
    else heap.add(row)
  }
  const sorted = heap === undefined ? all.sort(cmp) : heap.drain()
  stats.buffered = sorted.length
  for (let i = offset; i < sorted.length; i++) {
    stats.returned++
    yield project(sorted[i]!.doc)
  }
}

function sortValues (doc: Doc, paths: readonly string[][]): Array<Value | undefined> {
  return paths.map((p) => getField(doc, p))
}

function rowComparator (sort: readonly SortKey[]): (a: Row, b: Row) => number {
  const signs = sort.map((k) => k.dir === 'desc' ? -1 : 1)
  return (a, b) => {
    for (let i = 0; i < signs.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i])
      if (c !== 0) return c * signs[i]!
    }
    return 0
  }
}
