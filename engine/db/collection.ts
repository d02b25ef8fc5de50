/**
 * The collection API, over one of two backends: `DirectBackend` (each write is its own
 * change, committed by the LocalWriter) and `TxBackend` (writes collect into one change,
 * reads see the transaction's own writes).
 */
import type { Value } from '../codec/index.ts'
import { exists, materialize, mergeRegister, type Doc, type Register } from '../crdt/register.ts'
import { isDocOp, registerOf } from '../crdt/ops.ts'
import type { Hlc } from '../clock/hlc.ts'
import type { Op } from '../log/change.ts'
import { MAX_OPS_PER_CHANGE } from '../log/change.ts'
import { collectionRange, docKey, docKeyParts } from '../keys.ts'
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, QueryError, TransactionAbortedError } from '../errors.ts'
import type { Core } from './core.ts'
import type { Catalog } from './catalog.ts'
import type { LocalWriter } from './local-writer.ts'
import { checkName, checkPath, docBody, patchOps, stripUndefined } from './patch.ts'
import type { ChangeEvent } from './core.ts'
import type { QueryKind } from '../database.ts'
import type { Access, AggregateRow, AggregateSpec, Doc as QueryDoc, DocSource, Explanation, Filter, Page, QueryBuilder, QueryPlan } from '../query/index.ts'
import { chooseIndex, countGroups, idsIn, orderFor, orderKey } from '../index/indexes.ts'
import { search, type SearchHit } from '../fulltext/index.ts'
import { aggregateOf, builder, explainFind, find, findPage, live, type FindOptions, type OtherCollection, type Queryable } from './queries.ts'

export type { Filter } from '../query/index.ts'
export type { FindOptions, Join } from './queries.ts'

export type Document = { id: string, [field: string]: Value }

/** Builds a write's ops, given whether the document exists now (at commit time). */
type Build<T> = (exists: boolean) => { ops: Op[], result: T }

export interface CollectionBackend {
  /** an index-backed way to read a plan's candidates, when an index helps */
  access?: (collection: string, plan: QueryPlan) => Access | undefined
  /** documents per distinct value of a field, from an index (see DocSource.groupCounts) */
  groupCounts?: (collection: string, path: string) => Array<{ value: Value | undefined, count: number }> | undefined
  get (collection: string, id: string): Doc | undefined
  scan (collection: string): Iterable<{ id: string, doc: Doc }>
  count (collection: string): number
  write<T> (collection: string, id: string, build: Build<T>): Promise<T>
}

export class DirectBackend implements CollectionBackend {
  private readonly core: Core
  private readonly writer: LocalWriter
  constructor (core: Core, writer: LocalWriter) {
    this.core = core
    this.writer = writer
  }

  get (collection: string, id: string): Doc | undefined {
    return this.core.readDoc(this.core.store, collection, id)
  }

  scan (collection: string): Iterable<{ id: string, doc: Doc }> {
    return scanCollection(this.core, collection)
  }

  groupCounts (collection: string, path: string): Array<{ value: Value | undefined, count: number }> | undefined {
    const def = this.core.indexes.get(collection)?.find((d) => d.fields[0] === path)
    return def === undefined ? undefined : countGroups(this.core, def, collection, path)
  }

  access (collection: string, plan: QueryPlan): Access | undefined {
    const defs = this.core.indexes.get(collection)
    if (defs === undefined || defs.length === 0) return undefined
    const chosen = chooseIndex(defs, plan)
    if (chosen === undefined) return undefined
    const core = this.core
    const order = orderFor(chosen.def, plan)
    const reverse = order?.dir === 'desc'
    return {
      strategy: 'index',
      index: chosen.def.name,
      // index keys end with the document id: ties on the last field come in id order
      ...(order === undefined ? {} : { order: { ...order, key: orderKey(order.path), thenById: chosen.def.fields[chosen.def.fields.length - 1] === order.path } }),
      * scan () {
        const snapshot = core.store.snapshot()
        try {
          for (const id of idsIn(snapshot, chosen.ranges, reverse)) {
            const raw = snapshot.get(docKey(collection, id))
            const doc = raw === undefined ? undefined : core.docOf(raw)
            if (doc !== undefined) yield withId(id, doc)
          }
        } finally {
          snapshot.release()
        }
      }
    }
  }

  count (collection: string): number { return this.core.count(collection) }

  write<T> (collection: string, id: string, build: Build<T>): Promise<T> {
    return this.writer.write(({ txn, cache, core }) => build(exists(cache.get(core, txn, collection, id).state)))
  }
}

const PROVISIONAL = ((1n << 64n) - 1n) as Hlc

export class TxBackend implements CollectionBackend {
  readonly ops: Op[] = []
  private readonly core: Core
  private readonly overlay = new Map<string, { collection: string, id: string, before: Register[], state: Register[] }>()
  private open = true

  constructor (core: Core) { this.core = core }

  private entry (collection: string, id: string): { collection: string, id: string, before: Register[], state: Register[] } {
    const k = `${collection}\u0000${id}`
    let e = this.overlay.get(k)
    if (e === undefined) {
      const state = this.core.readState(this.core.store, docKey(collection, id)) ?? []
      e = { collection, id, before: state, state }
      this.overlay.set(k, e)
    }
    return e
  }

  get (collection: string, id: string): Doc | undefined {
    return materialize(this.entry(collection, id).state, false)
  }

  * scan (collection: string): Iterable<{ id: string, doc: Doc }> {
    const seen = new Set<string>()
    const prefix = `${collection}\u0000`
    for (const { id, doc } of scanCollection(this.core, collection)) {
      const own = this.overlay.get(prefix + id)
      seen.add(id)
      if (own === undefined) yield { id, doc }
      else {
        const mine = materialize(own.state, false)
        if (mine !== undefined) yield { id, doc: mine }
      }
    }
    for (const e of this.overlay.values()) {
      if (e.collection !== collection || seen.has(e.id)) continue
      const mine = materialize(e.state, false)
      if (mine !== undefined) yield { id: e.id, doc: mine }
    }
  }

  count (collection: string): number {
    let n = this.core.count(collection)
    for (const e of this.overlay.values()) {
      if (e.collection !== collection) continue
      n += (exists(e.state) ? 1 : 0) - (exists(e.before) ? 1 : 0)
    }
    return n
  }

  write<T> (collection: string, id: string, build: Build<T>): Promise<T> {
    if (!this.open) return Promise.reject(new TransactionAbortedError('this transaction has already finished; write inside the transaction callback'))
    try {
      const e = this.entry(collection, id)
      const { ops, result } = build(exists(e.state))
      if (this.ops.length + ops.length > MAX_OPS_PER_CHANGE) throw new InvalidArgumentError(`a transaction may hold at most ${MAX_OPS_PER_CHANGE} field writes; split it into several`)
      for (const op of ops) {
        if (isDocOp(op)) {
          // provisional stamps (max HLC, op index) order exactly like the final change's
          const next = mergeRegister(e.state, registerOf(op, PROVISIONAL, this.core.identity.publicKey, this.ops.length))
          if (next !== undefined) e.state = next
        }
        this.ops.push(op)
      }
      return Promise.resolve(result)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  finish (): void { this.open = false }
}

/** Every live document of a collection, from one consistent snapshot. */
function * scanCollection (core: Core, collection: string): Iterable<{ id: string, doc: Doc }> {
  const snapshot = core.store.snapshot()
  try {
    for (const { key, value } of snapshot.range(collectionRange(collection))) {
      const doc = core.docOf(value)
      if (doc !== undefined) yield { id: docKeyParts(key).id, doc }
    }
  } finally {
    snapshot.release()
  }
}

/** What a collection needs from its database besides a backend. */
export interface CollectionContext {
  makeId: () => string
  /** this replica's indexes */
  catalog: Catalog
  /** another collection of the same database (and transaction, if any), for joins */
  collection: (name: string) => Collection
  subscribe: (listener: (event: ChangeEvent) => void) => () => void
  /** runs a query, timing it for whoever observes the database */
  time: <T>(kind: QueryKind, fn: () => T) => T
}

export class Collection implements Queryable {
  readonly name: string
  private readonly backend: CollectionBackend
  private readonly context: CollectionContext

  constructor (name: string, backend: CollectionBackend, context: CollectionContext) {
    this.name = checkName(name, 'a collection name')
    this.backend = backend
    this.context = context
  }

  private makeId (): string { return this.context.makeId() }

  /** @internal the collection's documents as a query source (one snapshot per scan) */
  source (): DocSource {
    const { backend, name } = this
    const source: DocSource = { * scan () { for (const { id, doc } of backend.scan(name)) yield withId(id, doc) } }
    if (backend.access !== undefined) source.access = (plan) => backend.access!(name, plan)
    if (backend.groupCounts !== undefined) source.groupCounts = (path) => backend.groupCounts!(name, path)
    return source
  }

  /**
   * Declares an index on one field or several (compound, dotted paths allowed), builds it
   * for the documents already here (`onProgress(done, total)`), and keeps it up to date with
   * every change, local or replicated. Queries use it when it narrows their filter.
   * Indexes are this replica's configuration: each device declares the ones it wants.
   */
  async createIndex (fields: string | string[], options: { name?: string, onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
    await this.context.catalog.createIndex(this.name, typeof fields === 'string' ? [fields] : fields, options)
  }

  /**
   * Declares full-text search over string fields (dotted paths; arrays of strings count):
   * built now for existing documents, kept up to date with every change, rebuilt at open.
   */
  async createSearchIndex (fields: string | string[], options: { name?: string } = {}): Promise<void> {
    await this.context.catalog.createSearchIndex(this.name, typeof fields === 'string' ? [fields] : fields, options)
  }

  /**
   * Full-text search, ranked by BM25: every word must occur (the last one as a prefix, or any
   * ending in `*`), optionally combined with a filter. Uses the collection's search index
   * (`options.index` names one), or scans `options.fields` when given.
   * `search('sync crash', { limit: 10, filter: { status: 'open' } })` → [{ doc, score }, …]
   */
  search (text: string, options: { limit?: number, filter?: Filter, prefix?: boolean, index?: string, fields?: string[] } = {}): SearchHit[] {
    return this.context.time('search', () => this.searchNow(text, options))
  }

  private searchNow (text: string, options: { limit?: number, filter?: Filter, prefix?: boolean, index?: string, fields?: string[] }): SearchHit[] {
    const { index: name, fields, ...rest } = options
    if (fields !== undefined) return search(this.source(), { ...rest, fields, query: text })
    const index = this.context.catalog.searchIndex(this.name, name)
    if (index === undefined) throw new QueryError(`${this.name} has no search index${name === undefined ? '' : ` named ${name}`}; declare one with createSearchIndex(fields), or pass { fields } to search by scanning`)
    return index.search({ ...rest, query: text }, (id) => this.get(id))
  }

  /** Removes an index by name (default name: the fields joined with '+'). */
  async dropIndex (name: string): Promise<void> { await this.context.catalog.dropIndex(this.name, name) }

  /** @internal */
  other (name: string): OtherCollection {
    const c = this.context.collection(name)
    return {
      get: (id) => c.get(id),
      source: () => c.source(),
      indexedOn: (field) => this.context.catalog.indexedOn(name, field),
      find: (filter) => c.find(filter ?? {})
    }
  }

  /** @internal */
  subscribe (listener: (event: ChangeEvent) => void): () => void { return this.context.subscribe(listener) }

  /** Inserts a new document; returns its id (the document's own `id`, or a new one). */
  insert (doc: Record<string, unknown>): Promise<string> {
    try {
      const id = doc.id === undefined ? this.makeId() : checkName(doc.id, 'a document id')
      const body = docBody(doc)
      const c = this.name
      return this.backend.write(c, id, (present) => {
        if (present) throw new AlreadyExistsError(`${c}/${id} already exists; use update() or put() to change it`)
        return { ops: [{ op: 'set', c, id, p: [], v: body }], result: id }
      })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Inserts or replaces a whole document; returns its id. */
  put (doc: Record<string, unknown>): Promise<string> {
    try {
      const id = doc.id === undefined ? this.makeId() : checkName(doc.id, 'a document id')
      const body = docBody(doc)
      const c = this.name
      return this.backend.write(c, id, () => ({ ops: [{ op: 'set', c, id, p: [], v: body }], result: id }))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The document with this id, or `undefined`. */
  get (id: string): Document | undefined {
    const doc = this.backend.get(this.name, checkName(id, 'a document id'))
    return doc === undefined ? undefined : withId(id, doc)
  }

  /**
   * Changes fields of an existing document. Nested plain objects in the patch merge field by
   * field (`{ stats: { views: 3 } }` leaves `stats.likes` alone); `undefined` removes a field;
   * any other value (arrays included) replaces the field. Concurrent updates of different
   * fields on different devices both survive.
   */
  update (id: string, patch: Record<string, unknown>): Promise<void> {
    try {
      const c = this.name
      checkName(id, 'a document id')
      const ops = patchOps(c, id, patch)
      return this.backend.write(c, id, (present) => {
        if (!present) throw new NotFoundError(`${c}/${id} does not exist; insert it first`)
        return { ops, result: undefined }
      })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Sets one field (dotted path or array of keys) to a value, replacing what was there. */
  set (id: string, path: string | string[], value: unknown): Promise<void> {
    try {
      const c = this.name
      const p = checkPath(path)
      const v = stripUndefined(value)
      return this.backend.write(c, checkName(id, 'a document id'), (present) => {
        if (!present) throw new NotFoundError(`${c}/${id} does not exist; insert it first`)
        return { ops: [{ op: 'set', c, id, p, v }], result: undefined }
      })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Adds to a counter field. Concurrent increments on different devices all count; a later
   * `set` of the field resets it.
   */
  increment (id: string, path: string | string[], by = 1): Promise<void> {
    try {
      const c = this.name
      const p = checkPath(path)
      if (typeof by !== 'number' || !Number.isFinite(by)) throw new InvalidArgumentError(`increment amount must be a finite number, got ${String(by)}`)
      return this.backend.write(c, checkName(id, 'a document id'), (present) => {
        if (!present) throw new NotFoundError(`${c}/${id} does not exist; insert it first`)
        return { ops: [{ op: 'inc', c, id, p, by }], result: undefined }
      })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Deletes a document; resolves to whether it existed. */
  delete (id: string): Promise<boolean> {
    try {
      const c = this.name
      return this.backend.write(c, checkName(id, 'a document id'), (present) =>
        !present ? { ops: [], result: false } : { ops: [{ op: 'del', c, id }], result: true })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Documents matching a filter — `{ status: 'open', votes: { gte: 3 }, 'owner.name': 'ada' }`,
   * with `eq ne gt gte lt lte in nin exists contains startsWith` and `and`/`or`/`not` —
   * sorted, paged, projected, and optionally joined with another collection:
   * `find({ status: 'open' }, { sort: [{ path: 'votes', dir: 'desc' }], limit: 10, join: { from: 'users', localField: 'author' } })`.
   */
  find (filter: Filter = {}, options: FindOptions = {}): Document[] {
    return this.context.time('find', () => find(this, filter, options) as Document[])
  }

  /** One page of results and the cursor of the next (stable while data changes). */
  findPage (filter: Filter = {}, options: Omit<FindOptions, 'join'> = {}): Page {
    return this.context.time('page', () => findPage(this, filter, options))
  }

  /** The fluent form: `query().where('status', '==', 'open').orderBy('votes', 'desc').limit(20).run()`. */
  query (): QueryBuilder { return builder(this) }

  /** count/sum/avg/min/max, optionally per group: `aggregate({ groupBy: 'status', aggregates: { n: { count: true } } })`. */
  aggregate (spec: AggregateSpec): AggregateRow[] { return this.context.time('aggregate', () => aggregateOf(this, spec)) }

  /** How a query runs: strategy, documents examined and returned. */
  explain (filter: Filter = {}, options: Omit<FindOptions, 'join'> = {}): Explanation { return explainFind(this, filter, options) }

  /**
   * A live query: `listener` gets the results now and again whenever a local or remote
   * change alters them (and only then). Returns an unsubscribe function.
   */
  live (filter: Filter, options: FindOptions, listener: (docs: Document[]) => void): () => void {
    return live(this, filter, options, listener as (docs: QueryDoc[]) => void)
  }

  /** Number of documents in the collection. */
  count (): number { return this.backend.count(this.name) }
}

/** Adds the id to a freshly built document (cheaper than copying it with the id first). */
function withId (id: string, doc: Doc): Document {
  const d = doc as Document
  d.id = id
  return d
}
