/**
 * The BlazeDB side of the query benchmark: the bug records in an LMDB-backed database with
 * indexes on the fields the queries filter on, a `users` collection for the join, and the
 * five queries. Also imported by profiling scripts (`node --cpu-prof`), so that they run
 * exactly what the benchmark times.
 */
import { open, type Database, type Document } from '../engine/index.ts'
import type { BugRecord } from './fixtures.ts'

export const PEOPLE = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'edsger', 'donald']

/** The `users` rows: ids are the names that bug records hold in `reporter`. */
export function userDocs (): Array<{ id: string, name: string, team: string }> {
  return PEOPLE.map((id, i) => ({ id, name: id[0]!.toUpperCase() + id.slice(1), team: ['core', 'sync', 'ui'][i % 3]! }))
}

/** The fields indexed on both sides. */
export const INDEXED_FIELDS = ['status', 'votes', 'reporter', 'createdAt']

/** The fields of the full-text index (BlazeDB's search index, SQLite's FTS5 table). */
export const TEXT_FIELDS = ['title', 'description']

export interface BlazeQueries {
  db: Database
  eq: (createdAt: Date) => Document[]
  range: (low: number, high: number, limit: number) => Document[]
  groupBy: () => Array<{ status: string, n: number }>
  join: (status: string, limit: number) => Document[]
  /**
   * Full-text search through the search index, every word whole (FTS5 has no implicit
   * prefix); undefined when collections have no `search` method (before engine/fulltext)
   */
  fts: ((query: string, limit: number) => string[]) | undefined
  /** the same search scanning the fields (`search(text, { fields })`), without the index */
  ftsScan: ((query: string, limit: number) => string[]) | undefined
}

export const RANGE_SORT = [{ path: 'votes', dir: 'desc' as const }, { path: 'id', dir: 'desc' as const }]
export const JOIN = { from: 'users', localField: 'reporter', foreignField: 'id' }

export async function openBlaze (path: string, records: readonly BugRecord[], tx: number,
  onProgress: (msg: string) => void = () => {}): Promise<BlazeQueries> {
  const db = await open({ path })
  for (let i = 0; i < records.length; i += tx) {
    await db.transaction(async (t) => {
      const c = t.collection('bugs')
      for (let k = i; k < Math.min(i + tx, records.length); k++) await c.insert(records[k]! as unknown as Record<string, unknown>)
    })
    if ((i + tx) % 20_000 === 0) onProgress(`blazedb: ${i + tx} inserted`)
  }
  await db.transaction(async (t) => {
    for (const u of userDocs()) await t.collection('users').insert(u)
  })
  const bugs = db.collection('bugs')
  for (const f of INDEXED_FIELDS) await bugs.createIndex(f)

  // checked at run time, so that this file keeps working against an engine without search
  const text = bugs as unknown as Partial<Pick<typeof bugs, 'search' | 'createSearchIndex'>>
  const search = text.search
  const hasSearch = typeof search === 'function' && typeof text.createSearchIndex === 'function'
  if (hasSearch) await text.createSearchIndex!.call(bugs, TEXT_FIELDS)
  return {
    db,
    eq: (createdAt) => bugs.find({ createdAt }),
    range: (low, high, limit) => bugs.find({ votes: { gte: low, lte: high } }, { sort: RANGE_SORT, limit }),
    groupBy: () => bugs.aggregate({ groupBy: 'status', aggregates: { n: { count: true } } }) as Array<{ status: string, n: number }>,
    join: (status, limit) => bugs.find({ status }, { limit, join: JOIN }),
    fts: !hasSearch ? undefined : (query, limit) => idsOf(search!.call(bugs, query, { limit, prefix: false })),
    ftsScan: !hasSearch ? undefined : (query, limit) => idsOf(search!.call(bugs, query, { fields: TEXT_FIELDS, limit, prefix: false }))
  }
}

/** The ids of search hits (`{ doc, score }`), best first. */
function idsOf (hits: ReadonlyArray<{ doc: { id?: unknown } }>): string[] {
  return hits.map((h) => String(h.doc.id))
}
