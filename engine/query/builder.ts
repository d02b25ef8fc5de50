/**
 * The fluent form of a query. It builds the same `QueryPlan` as the object form:
 *
 * ```ts
 * query().where('status', '==', 'open').where('votes', '>', 3).orderBy('votes', 'desc').limit(20).build()
 * // deep-equals
 * compileQuery({ filter: { status: 'open', votes: { gt: 3 } }, sort: [{ path: 'votes', dir: 'desc' }], limit: 20 })
 * ```
 *
 * Builders are immutable: each call returns a new builder, so a shared base query can be
 * refined in several ways. Each call validates its own arguments, so a mistake throws a
 * `QueryError` at the call that made it. A builder made with a source (`query(source)`)
 * can also run itself.
 */
import type { Value } from '../codec/index.ts'
import { QueryError } from '../errors.ts'
import { explain, iterate, page, run, type Explanation, type Page } from './execute.ts'
import { allOf, compileFilter, condition, type ConditionOp, type Filter, type FilterNode } from './filter.ts'
import { count, makePlan, sortKey, type QueryPlan, type SortDir, type SortKey } from './plan.ts'
import type { Doc, DocSource } from './source.ts'
import { show, splitPath } from './values.ts'

const WHERE_OPS = {
  '==': 'eq',
  '!=': 'ne',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
  in: 'in',
  nin: 'nin',
  exists: 'exists',
  contains: 'contains',
  startsWith: 'startsWith'
} as const satisfies Record<string, ConditionOp>

export type WhereOp = keyof typeof WHERE_OPS

interface State {
  readonly filters: readonly FilterNode[]
  readonly sort: readonly SortKey[]
  readonly limit?: number | undefined
  readonly offset?: number | undefined
  readonly projection?: readonly string[] | undefined
  readonly after?: string | undefined
}

/** A new query; give it a source to run it from the builder itself. */
export function query (source?: DocSource): QueryBuilder {
  return new QueryBuilder(source, { filters: [], sort: [] })
}

export class QueryBuilder {
  readonly #source: DocSource | undefined
  readonly #state: State

  /** Use `query()`. */
  constructor (source: DocSource | undefined, state: State) {
    this.#source = source
    this.#state = state
  }

  /** Adds a condition (all conditions must hold). `value` is an array for `in`/`nin`, a boolean for `exists`. */
  where (path: string, op: WhereOp, value: Value): QueryBuilder {
    if (typeof op !== 'string' || !Object.hasOwn(WHERE_OPS, op)) {
      throw new QueryError(`unknown operator ${show(op)} in where("${String(path)}", …); use one of ${Object.keys(WHERE_OPS).join(' ')}`)
    }
    return this.#with({ filters: [...this.#state.filters, condition(path, WHERE_OPS[op], value)] })
  }

  /** Adds a filter object (it must hold too). */
  filter (filter: Filter): QueryBuilder {
    return this.#with({ filters: [...this.#state.filters, compileFilter(filter)] })
  }

  /** Adds a sort key; later keys break ties of earlier ones, and `id` breaks the rest. */
  orderBy (path: string, dir: SortDir = 'asc'): QueryBuilder {
    return this.#with({ sort: [...this.#state.sort, sortKey({ path, dir })] })
  }

  limit (n: number): QueryBuilder {
    return this.#with({ limit: count(n, 'limit') })
  }

  offset (n: number): QueryBuilder {
    return this.#with({ offset: count(n, 'offset') })
  }

  /** Keeps only these paths in results (`id` always stays). */
  select (paths: readonly string[]): QueryBuilder {
    if (!Array.isArray(paths)) throw new QueryError(`select takes an array of paths such as ['title', 'owner.name'], got ${show(paths)}`)
    for (const p of paths) splitPath(p, 'a selected path')
    return this.#with({ projection: [...paths] })
  }

  /** Starts strictly after a cursor from a previous page. */
  after (cursor: string): QueryBuilder {
    return this.#with({ after: cursor })
  }

  /** The plan, validated and normalized. */
  build (): QueryPlan {
    const s = this.#state
    return makePlan({ filter: allOf(s.filters), sort: s.sort, limit: s.limit, offset: s.offset, projection: s.projection, after: s.after })
  }

  run (): Doc[] { return run(this.build(), this.#bound()) }
  iterate (): Iterable<Doc> { return iterate(this.build(), this.#bound()) }
  page (): Page { return page(this.build(), this.#bound()) }
  explain (): Explanation { return explain(this.build(), this.#bound()) }

  /** The first result, reading no further than needed. */
  first (): Doc | undefined {
    for (const doc of iterate(this.limit(1).build(), this.#bound())) return doc
    return undefined
  }

  #bound (): DocSource {
    if (this.#source === undefined) throw new QueryError('this query has no source to run on; make it with query(source) or collection.query(), or pass build() to run(plan, source)')
    return this.#source
  }

  #with (change: Partial<State>): QueryBuilder {
    return new QueryBuilder(this.#source, { ...this.#state, ...change })
  }
}
