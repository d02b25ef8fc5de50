/**
 * A `QueryPlan` is plain data: what to match, in what order, which slice, which fields.
 * Filter objects and the builder both end here, normalized, so equal queries give
 * deep-equal plans:
 * - the filter is a `FilterNode` with `and`s flattened;
 * - a non-empty sort always ends with an `id` key (added ascending when absent, and keys
 *   after the first `id` dropped), so the order is total; a query with a cursor and no
 *   sort is ordered by `id`;
 * - `offset: 0` is omitted; paths repeated in `sort` or `projection` are dropped.
 *
 * `sargable` lists the top-level conjuncts an index could serve (equality, `in`, ranges
 * and prefixes on one path). Each is implied by the filter, so a later planner may scan an
 * index for any one of them and apply the full filter to what it yields.
 */
import type { Value } from '../codec/index.ts'
import { QueryError } from '../errors.ts'
import { decodeCursor } from './cursor.ts'
import { compileFilter, type ConditionOp, type Filter, type FilterNode } from './filter.ts'
import { show, splitPath } from './values.ts'

export type SortDir = 'asc' | 'desc'

export interface SortKey {
  readonly path: string
  readonly dir: SortDir
}

/** A sort as written by callers: a path (ascending) or `{ path, dir }`. */
export type SortInput = string | { readonly path: string, readonly dir?: SortDir }

/** A query as written by callers; `compileQuery` turns it into a plan. */
export interface QuerySpec {
  readonly filter?: Filter
  readonly sort?: readonly SortInput[]
  /** Most documents returned. Default: all. */
  readonly limit?: number
  /** Matching documents skipped first (after the cursor, if any). Default 0. */
  readonly offset?: number
  /** Paths to keep in each result (`id` is always kept). Default: whole documents. */
  readonly select?: readonly string[]
  /** A cursor from a previous page: results start strictly after it. */
  readonly after?: string
}

export type SargableOp = Extract<ConditionOp, 'eq' | 'in' | 'gt' | 'gte' | 'lt' | 'lte' | 'startsWith'>

export interface Sargable {
  readonly path: string
  readonly op: SargableOp
  readonly value: Value
}

export interface QueryPlan {
  readonly filter: FilterNode
  readonly sort: readonly SortKey[]
  readonly limit?: number
  readonly offset?: number
  readonly projection?: readonly string[]
  readonly after?: string
  readonly sargable: readonly Sargable[]
}

/** The parts of a plan before normalization (what the builder collects). */
export interface PlanParts {
  readonly filter: FilterNode
  readonly sort: readonly SortKey[]
  readonly limit?: number | undefined
  readonly offset?: number | undefined
  readonly projection?: readonly string[] | undefined
  readonly after?: string | undefined
}

export const ID_ASC: SortKey = { path: 'id', dir: 'asc' }

/**
 * Validates and normalizes a query.
 * @throws QueryError for a bad filter, sort, limit, offset, projection or cursor
 */
export function compileQuery (spec: QuerySpec = {}): QueryPlan {
  if (typeof spec !== 'object' || spec === null) throw new QueryError(`a query is an object such as { filter: { status: 'open' }, sort: ['votes'], limit: 20 }, got ${show(spec)}`)
  const sortInput: unknown = spec.sort ?? []
  if (!Array.isArray(sortInput)) throw new QueryError(`"sort" is an array such as ['votes', { path: 'createdAt', dir: 'desc' }], got ${show(sortInput)}`)
  return makePlan({
    filter: compileFilter(spec.filter ?? {}),
    sort: sortInput.map(sortKey),
    limit: spec.limit,
    offset: spec.offset,
    projection: spec.select,
    after: spec.after
  })
}

/** Normalizes collected parts into a plan (shared by `compileQuery` and the builder). */
export function makePlan (parts: PlanParts): QueryPlan {
  const sort = normalizeSort(parts.sort, parts.after !== undefined)
  const plan: {
    filter: FilterNode
    sort: readonly SortKey[]
    limit?: number
    offset?: number
    projection?: readonly string[]
    after?: string
    sargable: readonly Sargable[]
  } = { filter: parts.filter, sort, sargable: sargableOf(parts.filter) }
  if (parts.limit !== undefined) plan.limit = count(parts.limit, 'limit')
  if (parts.offset !== undefined && count(parts.offset, 'offset') > 0) plan.offset = parts.offset
  if (parts.projection !== undefined) plan.projection = checkProjection(parts.projection)
  if (parts.after !== undefined) {
    decodeCursor(sort, parts.after)
    plan.after = parts.after
  }
  return plan
}

/** A sort key from what a caller wrote. */
export function sortKey (input: unknown): SortKey {
  if (typeof input === 'string') {
    splitPath(input, 'a sort path')
    return { path: input, dir: 'asc' }
  }
  if (typeof input === 'object' && input !== null && 'path' in input) {
    const { path, dir } = input as { path: unknown, dir?: unknown }
    splitPath(path, 'a sort path')
    if (dir !== undefined && dir !== 'asc' && dir !== 'desc') throw new QueryError(`a sort direction is 'asc' or 'desc', got ${show(dir)}`)
    return { path: path as string, dir: dir ?? 'asc' }
  }
  throw new QueryError(`a sort key is a path or { path, dir: 'asc' | 'desc' }, got ${show(input)}`)
}

function normalizeSort (keys: readonly SortKey[], hasCursor: boolean): SortKey[] {
  if (keys.length === 0) return hasCursor ? [ID_ASC] : []
  const out: SortKey[] = []
  const seen = new Set<string>()
  for (const k of keys) {
    if (seen.has(k.path)) continue
    seen.add(k.path)
    out.push({ path: k.path, dir: k.dir })
    if (k.path === 'id') return out
  }
  out.push(ID_ASC)
  return out
}

export function count (n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new QueryError(`${what} must be a whole number ≥ 0, got ${show(n)}`)
  return n
}

function checkProjection (paths: unknown): string[] {
  if (!Array.isArray(paths)) throw new QueryError(`a projection is an array of paths such as ['title', 'owner.name'], got ${show(paths)}`)
  const out: string[] = []
  for (const p of paths) {
    splitPath(p, 'a projected path')
    if (!out.includes(p)) out.push(p)
  }
  return out
}

const SARGABLE = new Set<ConditionOp>(['eq', 'in', 'gt', 'gte', 'lt', 'lte', 'startsWith'])

function sargableOf (filter: FilterNode): Sargable[] {
  const conjuncts = filter.kind === 'and' ? filter.children : [filter]
  const out: Sargable[] = []
  for (const c of conjuncts) {
    if (c.kind === 'cond' && SARGABLE.has(c.op)) out.push({ path: c.path, op: c.op as SargableOp, value: c.value })
  }
  return out
}
