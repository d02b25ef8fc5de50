/**
 * Grouping and aggregates over a `DocSource`, in one pass holding one accumulator set per
 * group:
 *
 * ```ts
 * aggregate(source, {
 *   filter: { votes: { gte: 0 } },
 *   groupBy: 'status',
 *   aggregates: { n: { count: true }, avgVotes: { avg: 'votes' } },
 *   having: { n: { gt: 1 } },
 *   sort: [{ path: 'n', dir: 'desc' }]
 * }) // → [{ status: 'open', n: 12, avgVotes: 3.5 }, …]
 * ```
 *
 * - A row holds the group's key values at their paths (`groupBy: 'owner.name'` gives
 *   `{ owner: { name: 'ada' } }`; a group of documents missing the field leaves it out)
 *   plus one field per named aggregate. Group keys are equal as `compareValues` says
 *   (`1` and `1n` fall in one group).
 * - Without `groupBy` there is exactly one row, even over no documents.
 * - `count` counts documents. `sum` and `avg` read numbers and bigints and ignore other
 *   values; a sum is a bigint when every value summed was a bigint, else a number; a sum of
 *   nothing is 0 and an average of nothing is null. `min` and `max` use the total order
 *   over the values present (null counts; a missing field does not); of nothing, null.
 * - `having` is a filter over rows; `sort` orders rows, then the group keys ascending break
 *   ties (rows come in group key order when there is no sort); `offset`/`limit` slice last.
 */
import type { Value } from '../codec/index.ts'
import { QueryError } from '../errors.ts'
import { compileFilter, predicate, type Filter } from './filter.ts'
import { count, sortKey, type SortInput, type SortKey } from './plan.ts'
import type { DocSource } from './source.ts'
import { canonicalKey, compareValues, getField, isPlainObject, setOwn, show, splitPath } from './values.ts'

export type Aggregator =
  | { readonly count: true }
  | { readonly sum: string }
  | { readonly avg: string }
  | { readonly min: string }
  | { readonly max: string }

export interface AggregateSpec {
  readonly filter?: Filter
  readonly groupBy?: string | readonly string[]
  /** Output field name → aggregator. */
  readonly aggregates: { readonly [name: string]: Aggregator }
  readonly having?: Filter
  readonly sort?: readonly SortInput[]
  readonly limit?: number
  readonly offset?: number
}

export type AggregateRow = { [field: string]: Value }

interface Accumulator {
  add (doc: Value): void
  result (): Value
}

type MakeAccumulator = () => Accumulator

const KINDS = ['count', 'sum', 'avg', 'min', 'max'] as const

/**
 * Groups the matching documents and computes the aggregates of each group.
 * @throws QueryError for a bad filter, group path, aggregator, having, sort or limit
 */
export function aggregate (source: DocSource, spec: AggregateSpec): AggregateRow[] {
  if (!isPlainObject(spec)) throw new QueryError(`an aggregation is an object such as { groupBy: 'status', aggregates: { n: { count: true } } }, got ${show(spec)}`)
  const matches = predicate(compileFilter(spec.filter ?? {}))
  const groupPaths = groupPathsOf(spec.groupBy)
  const groupKeys = groupPaths.map((p) => splitPath(p, 'a groupBy path'))
  const makers = accumulators(spec.aggregates, groupKeys)
  const having = spec.having === undefined ? undefined : predicate(compileFilter(spec.having))
  const sort: SortKey[] = [...(spec.sort ?? []).map(sortKey), ...groupPaths.map((path) => ({ path, dir: 'asc' as const }))]
  const limit = spec.limit === undefined ? undefined : count(spec.limit, 'limit')
  const offset = spec.offset === undefined ? 0 : count(spec.offset, 'offset')

  // counts per group straight from an index, when that is all that is asked
  const onlyCounts = groupPaths.length === 1 && Object.values(spec.aggregates ?? {}).every((a) => isPlainObject(a) && (a as { count?: unknown }).count === true) &&
    (spec.filter === undefined || Object.keys(spec.filter).length === 0)
  const counted = onlyCounts ? source.groupCounts?.(groupPaths[0]!) : undefined
  if (counted !== undefined) {
    const rows: AggregateRow[] = []
    for (const { value, count: n } of counted) {
      const row: AggregateRow = {}
      if (value !== undefined) setPath(row, groupKeys[0]!, value)
      for (const [name] of makers) setOwn(row, name, n)
      if (having === undefined || having(row)) rows.push(row)
    }
    rows.sort(rowComparator(sort))
    return rows.slice(offset, limit === undefined ? undefined : offset + limit)
  }

  const groups = new Map<string, { keys: Array<Value | undefined>, accs: Accumulator[] }>()
  if (groupPaths.length === 0) groups.set('', { keys: [], accs: makers.map(([, make]) => make()) })
  for (const doc of source.scan()) {
    if (!matches(doc)) continue
    const keys = groupKeys.map((k) => getField(doc, k))
    const id = keys.map(canonicalKey).join(',')
    let group = groups.get(id)
    if (group === undefined) {
      group = { keys, accs: makers.map(([, make]) => make()) }
      groups.set(id, group)
    }
    for (const acc of group.accs) acc.add(doc)
  }

  const rows: AggregateRow[] = []
  for (const { keys, accs } of groups.values()) {
    const row: AggregateRow = {}
    keys.forEach((v, i) => { if (v !== undefined) setPath(row, groupKeys[i]!, v) })
    accs.forEach((acc, i) => setOwn(row, makers[i]![0], acc.result()))
    if (having === undefined || having(row)) rows.push(row)
  }
  rows.sort(rowComparator(sort))
  return rows.slice(offset, limit === undefined ? undefined : offset + limit)
}

function groupPathsOf (groupBy: unknown): string[] {
  if (groupBy === undefined) return []
  const paths = typeof groupBy === 'string' ? [groupBy] : groupBy
  if (!Array.isArray(paths)) throw new QueryError(`groupBy is a path or an array of paths, such as 'status' or ['status', 'owner.name'], got ${show(groupBy)}`)
  for (const p of paths) splitPath(p, 'a groupBy path')
  for (const a of paths as string[]) {
    for (const b of paths as string[]) {
      if (a === b ? paths.indexOf(a) !== paths.lastIndexOf(a) : b.startsWith(`${a}.`)) {
        throw new QueryError(`groupBy paths "${a}" and "${b}" overlap; group by only one of them`)
      }
    }
  }
  return paths as string[]
}

function accumulators (aggregates: unknown, groupKeys: readonly string[][]): Array<[string, MakeAccumulator]> {
  if (!isPlainObject(aggregates)) throw new QueryError(`aggregates is an object of name → aggregator, such as { n: { count: true }, avgVotes: { avg: 'votes' } }, got ${show(aggregates)}`)
  const taken = new Set(groupKeys.map((k) => k[0]!))
  return Object.keys(aggregates).map((name) => {
    if (name.length === 0 || name.includes('.')) throw new QueryError(`aggregate name ${show(name)} must be non-empty and without dots, so having and sort can name it`)
    if (taken.has(name)) throw new QueryError(`aggregate name "${name}" is also a groupBy field; rename the aggregate`)
    return [name, accumulator(name, aggregates[name])]
  })
}

function accumulator (name: string, spec: unknown): MakeAccumulator {
  const usage = `use one of { count: true }, { sum: path }, { avg: path }, { min: path }, { max: path }`
  const kinds = isPlainObject(spec) ? Object.keys(spec) : []
  if (!isPlainObject(spec) || kinds.length !== 1 || !(KINDS as readonly string[]).includes(kinds[0]!)) {
    throw new QueryError(`aggregate "${name}" is ${show(spec)}; ${usage}`)
  }
  const kind = kinds[0] as typeof KINDS[number]
  const arg = spec[kind]
  if (kind === 'count') {
    if (arg !== true) throw new QueryError(`aggregate "${name}": count takes true, as { count: true }`)
    return () => {
      let n = 0
      return { add: () => { n++ }, result: () => n }
    }
  }
  const keys = splitPath(arg, `the path of aggregate "${name}"`)
  switch (kind) {
    case 'sum': return () => numeric(keys, (s) => s.total())
    case 'avg': return () => numeric(keys, (s) => s.n === 0 ? null : Number(s.total()) / s.n)
    case 'min': return () => extreme(keys, -1)
    case 'max': return () => extreme(keys, 1)
  }
}

interface Sum { n: number, total (): number | bigint }

function numeric (keys: readonly string[], finish: (s: Sum) => Value): Accumulator {
  let num = 0
  let big = 0n
  let sawNumber = false
  const s: Sum = { n: 0, total: () => sawNumber || s.n === 0 ? num + Number(big) : big }
  return {
    add: (doc) => {
      const v = getField(doc, keys)
      if (typeof v === 'number') {
        num += v
        sawNumber = true
        s.n++
      } else if (typeof v === 'bigint') {
        big += v
        s.n++
      }
    },
    result: () => finish(s)
  }
}

function extreme (keys: readonly string[], sign: 1 | -1): Accumulator {
  let best: Value | undefined
  return {
    add: (doc) => {
      const v = getField(doc, keys)
      if (v !== undefined && (best === undefined || compareValues(v, best) * sign > 0)) best = v
    },
    result: () => best ?? null
  }
}

function setPath (row: AggregateRow, keys: readonly string[], value: Value): void {
  let node = row
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!
    let next = Object.hasOwn(node, k) ? node[k] : undefined
    if (!isPlainObject(next)) {
      next = {}
      setOwn(node, k, next)
    }
    node = next
  }
  setOwn(node, keys[keys.length - 1]!, value)
}

function rowComparator (sort: readonly SortKey[]): (a: AggregateRow, b: AggregateRow) => number {
  const paths = sort.map((k) => k.path.split('.'))
  const signs = sort.map((k) => k.dir === 'desc' ? -1 : 1)
  return (a, b) => {
    for (let i = 0; i < paths.length; i++) {
      const c = compareValues(getField(a, paths[i]!), getField(b, paths[i]!))
      if (c !== 0) return c * signs[i]!
    }
    return 0
  }
}
