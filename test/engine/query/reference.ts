/**
 * A naive reference for the query engine, written apart from it: it interprets filter
 * objects directly, sorts a full copy with a comparator and slices. Slow and obvious on
 * purpose; the property tests compare the engine against it.
 */
import type { Value } from '../../../engine/codec/index.ts'
import type { AggregateSpec, Doc, Filter, QuerySpec } from '../../../engine/query/index.ts'

type V = Value | undefined

function plain (v: unknown): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array)
}

export function refGet (doc: Value, path: string): V {
  let cur: V = doc
  for (const key of path.split('.')) {
    if (!plain(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined
    cur = cur[key]
  }
  return cur
}

function rank (v: V): number {
  if (v === undefined) return 0
  if (v === null) return 1
  if (typeof v === 'boolean') return 2
  if (typeof v === 'number' || typeof v === 'bigint') return 3
  if (typeof v === 'string') return 4
  if (v instanceof Date) return 5
  if (v instanceof Uint8Array) return 6
  if (Array.isArray(v)) return 7
  return 8
}

function sign (x: number): number { return x < 0 ? -1 : x > 0 ? 1 : 0 }

function compareNum (a: number | bigint, b: number | bigint): number {
  const aNaN = typeof a === 'number' && Number.isNaN(a)
  const bNaN = typeof b === 'number' && Number.isNaN(b)
  if (aNaN || bNaN) return aNaN && bNaN ? 0 : aNaN ? -1 : 1
  // JavaScript's relational operators compare a number and a bigint exactly
  return a < b ? -1 : a > b ? 1 : 0
}

function codePoints (s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0)!)
}

function lexi<T> (a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = cmp(a[i]!, b[i]!)
    if (c !== 0) return c
  }
  return sign(a.length - b.length)
}

export function refCompare (a: V, b: V): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return sign(ra - rb)
  switch (ra) {
    case 2: return sign(Number(a) - Number(b))
    case 3: return compareNum(a as number | bigint, b as number | bigint)
    case 4: return lexi(codePoints(a as string), codePoints(b as string), (x, y) => sign(x - y))
    case 5: return compareNum((a as Date).getTime(), (b as Date).getTime())
    case 6: return lexi([...(a as Uint8Array)], [...(b as Uint8Array)], (x, y) => sign(x - y))
    case 7: return lexi(a as Value[], b as Value[], refCompare)
    case 8: {
      const entries = (o: Record<string, Value>): Array<[string, Value]> =>
        Object.entries(o).sort(([k1], [k2]) => lexi(codePoints(k1), codePoints(k2), (x, y) => sign(x - y)))
      return lexi(entries(a as Record<string, Value>), entries(b as Record<string, Value>), ([k1, v1], [k2, v2]) =>
        k1 !== k2 ? lexi(codePoints(k1), codePoints(k2), (x, y) => sign(x - y)) : refCompare(v1, v2))
    }
    default: return 0
  }
}

const eq = (a: V, b: V): boolean => a !== undefined && refCompare(a, b) === 0
const sameClass = (a: V, b: V): boolean => a !== undefined && rank(a) === rank(b)

function testOp (op: string, v: V, x: Value): boolean {
  switch (op) {
    case 'eq': return eq(v, x)
    case 'ne': return !eq(v, x)
    case 'gt': return sameClass(v, x) && refCompare(v, x) > 0
    case 'gte': return sameClass(v, x) && refCompare(v, x) >= 0
    case 'lt': return sameClass(v, x) && refCompare(v, x) < 0
    case 'lte': return sameClass(v, x) && refCompare(v, x) <= 0
    case 'in': return (x as Value[]).some((y) => eq(v, y))
    case 'nin': return !(x as Value[]).some((y) => eq(v, y))
    case 'exists': return (v !== undefined) === x
    case 'contains': return Array.isArray(v) && v.some((y) => eq(y, x))
    case 'startsWith': return typeof v === 'string' && v.slice(0, (x as string).length) === x
    default: throw new Error(`reference: unknown op ${op}`)
  }
}

export function refMatch (filter: Filter, doc: Value): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === 'and') return (cond as Filter[]).every((f) => refMatch(f, doc))
    if (key === 'or') return (cond as Filter[]).some((f) => refMatch(f, doc))
    if (key === 'not') return !refMatch(cond as Filter, doc)
    const v = refGet(doc, key)
    if (plain(cond)) return Object.entries(cond).every(([op, x]) => testOp(op, v, x as Value))
    return testOp('eq', v, cond as Value)
  })
}

type SortSpec = Array<{ path: string, dir: 'asc' | 'desc' }>

function sortOf (spec: QuerySpec): SortSpec {
  const keys = (spec.sort ?? []).map((k) => typeof k === 'string' ? { path: k, dir: 'asc' as const } : { path: k.path, dir: k.dir ?? 'asc' })
  return keys.length > 0 || spec.after !== undefined ? [...keys, { path: 'id', dir: 'asc' }] : []
}

function comparator (sort: SortSpec): (a: Value, b: Value) => number {
  return (a, b) => {
    for (const { path, dir } of sort) {
      const c = refCompare(refGet(a, path), refGet(b, path))
      if (c !== 0) return dir === 'desc' ? -c : c
    }
    return 0
  }
}

export function refProject (doc: Doc, paths: readonly string[] | undefined): Doc {
  if (paths === undefined) return doc
  const out: Record<string, Value> = { id: doc.id }
  for (const path of paths) {
    const v = refGet(doc, path)
    // a path under another selected path adds nothing
    if (v === undefined || paths.some((q) => path.startsWith(`${q}.`))) continue
    const keys = path.split('.')
    let node = out
    for (const k of keys.slice(0, -1)) {
      if (!plain(node[k])) Object.defineProperty(node, k, { value: {}, enumerable: true, writable: true, configurable: true })
      node = node[k] as Record<string, Value>
    }
    Object.defineProperty(node, keys[keys.length - 1]!, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return out as Doc
}

/** Filter, then sort a copy (stable, by the sort then id), then skip the cursor, then slice. */
export function refRun (docs: readonly Doc[], spec: QuerySpec, afterDoc?: Doc): Doc[] {
  const sort = sortOf(spec)
  const cmp = comparator(sort)
  let rows = docs.filter((d) => refMatch(spec.filter ?? {}, d))
  if (sort.length > 0) rows = [...rows].sort(cmp)
  if (afterDoc !== undefined) rows = rows.filter((d) => cmp(d, afterDoc) > 0)
  const offset = spec.offset ?? 0
  rows = rows.slice(offset, spec.limit === undefined ? undefined : offset + spec.limit)
  return rows.map((d) => refProject(d, spec.select))
}

export function refAggregate (docs: readonly Doc[], spec: AggregateSpec): Array<Record<string, Value>> {
  const groupBy = spec.groupBy === undefined ? [] : typeof spec.groupBy === 'string' ? [spec.groupBy] : [...spec.groupBy]
  const groups: Array<{ keys: V[], docs: Doc[] }> = groupBy.length === 0 ? [{ keys: [], docs: [] }] : []
  for (const d of docs.filter((x) => refMatch(spec.filter ?? {}, x))) {
    const keys = groupBy.map((p) => refGet(d, p))
    let g = groups.find((x) => x.keys.every((k, i) => k === undefined ? keys[i] === undefined : keys[i] !== undefined && refCompare(k, keys[i]) === 0))
    if (g === undefined) groups.push(g = { keys, docs: [] })
    g.docs.push(d)
  }
  const rows = groups.map(({ keys, docs: members }) => {
    const row: Record<string, Value> = {}
    groupBy.forEach((p, i) => {
      if (keys[i] === undefined) return
      const parts = p.split('.')
      let node = row
      for (const k of parts.slice(0, -1)) node = (node[k] ??= {}) as Record<string, Value>
      node[parts[parts.length - 1]!] = keys[i]!
    })
    for (const [name, agg] of Object.entries(spec.aggregates)) {
      if ('count' in agg) { row[name] = members.length; continue }
      const path = 'sum' in agg ? agg.sum : 'avg' in agg ? agg.avg : 'min' in agg ? agg.min : agg.max
      const values = members.map((m) => refGet(m, path)).filter((v) => v !== undefined)
      if ('min' in agg || 'max' in agg) {
        const dir = 'max' in agg ? 1 : -1
        row[name] = values.reduce<V>((best, v) => best === undefined || refCompare(v, best) * dir > 0 ? v : best, undefined) ?? null
        continue
      }
      const nums = values.filter((v) => typeof v === 'number' || typeof v === 'bigint')
      const floats = nums.filter((v) => typeof v === 'number')
      const bigSum = nums.filter((v) => typeof v === 'bigint').reduce((s, v) => s + v, 0n)
      const sum = nums.length > 0 && floats.length === 0 ? bigSum : floats.reduce((s, v) => s + v, 0) + Number(bigSum)
      row[name] = 'sum' in agg ? sum : nums.length === 0 ? null : Number(sum) / nums.length
    }
    return row
  }).filter((row) => spec.having === undefined || refMatch(spec.having, row))
  const sort: SortSpec = [
    ...(spec.sort ?? []).map((k) => typeof k === 'string' ? { path: k, dir: 'asc' as const } : { path: k.path, dir: k.dir ?? 'asc' }),
    ...groupBy.map((path) => ({ path, dir: 'asc' as const }))
  ]
  const sorted = [...rows].sort(comparator(sort))
  const offset = spec.offset ?? 0
  return sorted.slice(offset, spec.limit === undefined ? undefined : offset + spec.limit)
}
