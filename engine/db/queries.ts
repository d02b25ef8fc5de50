/**
 * Queries on a collection: the query engine (engine/query) over the collection's documents,
 * joins with another collection, and live queries.
 */
import { aggregate, compileQuery, explain, page, query, run, valuesEqual, type AggregateRow, type AggregateSpec, type Doc, type DocSource, type Explanation, type Page, type QueryBuilder, type QuerySpec } from '../query/index.ts'
import { encode, type Value } from '../codec/index.ts'
import { getPath } from './patch.ts'
import { InvalidArgumentError } from '../errors.ts'
import type { ChangeEvent } from './core.ts'

export interface Join {
  /** the other collection */
  from: string
  /** field of this collection's documents holding the key (dotted path) */
  localField: string
  /** field of the other collection's documents it matches; default 'id' (a primary-key lookup) */
  foreignField?: string
  /** where the matched document goes; default: `from` */
  as?: string
}

export interface FindOptions extends Omit<QuerySpec, 'filter'> {
  /** attach documents of another collection (one, or the first match) to each result */
  join?: Join | Join[]
}

export interface OtherCollection {
  get: (id: string) => Doc | undefined
  source: () => DocSource
  /** whether an index starts with this field (so lookups by it are index reads) */
  indexedOn: (field: string) => boolean
  find: (filter: QuerySpec['filter']) => Doc[]
}

/** What queries need from a collection. */
export interface Queryable {
  readonly name: string
  source (): DocSource
  /** another collection's documents, for joins */
  other (name: string): OtherCollection
  /** change events, for live queries */
  subscribe (listener: (event: ChangeEvent) => void): () => void
}

export function find (q: Queryable, filter: QuerySpec['filter'], options: FindOptions = {}): Doc[] {
  const { join, ...spec } = options
  const rows = run(compileQuery({ ...spec, ...(filter === undefined ? {} : { filter }) }), q.source())
  return join === undefined ? rows : attach(q, rows, Array.isArray(join) ? join : [join])
}

export function findPage (q: Queryable, filter: QuerySpec['filter'], options: Omit<FindOptions, 'join'> = {}): Page {
  return page(compileQuery({ ...options, ...(filter === undefined ? {} : { filter }) }), q.source())
}

export function explainFind (q: Queryable, filter: QuerySpec['filter'], options: Omit<FindOptions, 'join'> = {}): Explanation {
  return explain(compileQuery({ ...options, ...(filter === undefined ? {} : { filter }) }), q.source())
}

export function builder (q: Queryable): QueryBuilder { return query(q.source()) }

export function aggregateOf (q: Queryable, spec: AggregateSpec): AggregateRow[] { return aggregate(q.source(), spec) }

/**
 * Joins: a primary-key lookup when the other side's field is `id`, an index lookup per row
 * when the other side has an index on the field, else one pass over the other collection
 * building a hash map.
 */
function attach (q: Queryable, rows: Doc[], joins: Join[]): Doc[] {
  for (const j of joins) {
    if (typeof j.from !== 'string' || typeof j.localField !== 'string') throw new InvalidArgumentError('a join needs { from: collection, localField: path }, e.g. { from: "users", localField: "author" }')
    const other = q.other(j.from)
    const as = j.as ?? j.from
    const foreign = j.foreignField ?? 'id'
    let byKey: Map<string, Doc> | undefined
    const viaIndex = foreign !== 'id' && other.indexedOn(foreign)
    if (foreign !== 'id' && !viaIndex) {
      byKey = new Map()
      for (const d of other.source().scan()) {
        const k = getPath(d, foreign.split('.'))
        if (k !== undefined && !byKey.has(keyOf(k))) byKey.set(keyOf(k), d)
      }
    }
    for (const row of rows) {
      const k = getPath(row, j.localField.split('.'))
      let match: Doc | undefined
      if (k !== undefined) {
        if (viaIndex) match = other.find({ [foreign]: { eq: k } })[0]
        else if (byKey !== undefined) match = byKey.get(keyOf(k))
        else if (typeof k === 'string') match = other.get(k)
      }
      ;(row as Record<string, Value>)[as] = match ?? null
    }
  }
  return rows
}

function keyOf (v: Value): string {
  return Buffer.from(encode(v)).toString('latin1')
}

/**
 * A live query: `listener` gets the results now, and again after any change (local or
 * remote) to the collection that alters them — and only then. Returns an unsubscribe.
 */
export function live (q: Queryable, filter: QuerySpec['filter'], options: FindOptions, listener: (docs: Doc[]) => void): () => void {
  let last = find(q, filter, options)
  listener(last)
  let scheduled = false
  let stopped = false
  const unsubscribe = q.subscribe((event) => {
    if (scheduled || stopped) return
    const touches = event.ops.some((op) => 'c' in op && (op.c === q.name || joinsFrom(options).includes(op.c)))
    if (!touches) return
    scheduled = true
    // one re-run per burst of changes, once they are applied
    setImmediate(() => {
      scheduled = false
      if (stopped) return
      const next = find(q, filter, options)
      if (!sameResults(last, next)) {
        last = next
        listener(next)
      }
    })
  })
  return () => { stopped = true; unsubscribe() }
}

function joinsFrom (options: FindOptions): string[] {
  const j = options.join
  return j === undefined ? [] : (Array.isArray(j) ? j : [j]).map((x) => x.from)
}

function sameResults (a: Doc[], b: Doc[]): boolean {
  return a.length === b.length && a.every((d, i) => valuesEqual(d, b[i]!))
}
