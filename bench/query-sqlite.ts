/**
 * The SQLite side of the query benchmark: the same bug records as JSON documents in
 * `bugs(id TEXT PRIMARY KEY, doc TEXT)`, expression indexes equivalent to BlazeDB's (whose
 * index keys are the field value then the document id, so each index here ends with `id`),
 * an FTS5 table over title + description, and a `users` table for the join.
 *
 * Every query returns parsed documents (`JSON.parse`), as BlazeDB returns decoded ones, so
 * both sides hand the caller the same JavaScript objects (dates as ISO strings here).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { join } from 'node:path'
import type { BugRecord } from './fixtures.ts'

export type Doc = Record<string, unknown> & { id: string }

export interface SqliteQueries {
  eq: (createdAt: string) => Doc[]
  range: (low: number, high: number, limit: number) => Doc[]
  groupBy: () => Array<{ status: string, n: number }>
  join: (status: string, limit: number) => Doc[]
  fts: (query: string, limit: number) => Doc[]
  ftsCount: (query: string) => number
  close: () => void
}

/** `indexed`: fields to index, each as `json_extract` of the document then `id`. */
export function openSqlite (dir: string, records: readonly BugRecord[], users: readonly Doc[], indexed: readonly string[], tx: number): SqliteQueries {
  const db = new DatabaseSync(join(dir, 'bugs.sqlite'))
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  // 64 MiB page cache: the whole database stays in memory, as LMDB's map does in the OS cache
  db.exec('PRAGMA cache_size = -65536')
  db.exec('CREATE TABLE bugs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
  db.exec('CREATE TABLE users (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
  db.exec('CREATE VIRTUAL TABLE bugs_fts USING fts5(title, description)')

  const insertBug = db.prepare('INSERT INTO bugs (rowid, id, doc) VALUES (?, ?, ?)')
  const insertText = db.prepare('INSERT INTO bugs_fts (rowid, title, description) VALUES (?, ?, ?)')
  for (let i = 0; i < records.length; i += tx) {
    db.exec('BEGIN')
    for (let k = i; k < Math.min(i + tx, records.length); k++) {
      const r = records[k]!
      insertBug.run(k + 1, r.id, JSON.stringify(r))
      insertText.run(k + 1, r.title, r.description)
    }
    db.exec('COMMIT')
  }
  const insertUser = db.prepare('INSERT INTO users (id, doc) VALUES (?, ?)')
  for (const u of users) insertUser.run(u.id, JSON.stringify(u))
  for (const f of indexed) db.exec(`CREATE INDEX bugs_${f} ON bugs (json_extract(doc, '$.${f}'), id)`)
  db.exec('ANALYZE')

  const eq = db.prepare("SELECT doc FROM bugs WHERE json_extract(doc, '$.createdAt') = ?")
  const range = db.prepare(`SELECT doc FROM bugs WHERE json_extract(doc, '$.votes') BETWEEN ? AND ?
    ORDER BY json_extract(doc, '$.votes') DESC, id DESC LIMIT ?`)
  const groupBy = db.prepare(`SELECT json_extract(doc, '$.status') AS status, count(*) AS n FROM bugs
    GROUP BY json_extract(doc, '$.status') ORDER BY 1`)
  const joined = db.prepare(`SELECT b.doc AS bug, u.doc AS user FROM bugs b
    LEFT JOIN users u ON u.id = json_extract(b.doc, '$.reporter')
    WHERE json_extract(b.doc, '$.status') = ? ORDER BY b.id LIMIT ?`)
  // ties (documents with the same text score the same) go by id, as BlazeDB breaks them
  const fts = db.prepare(`SELECT b.doc FROM bugs_fts f JOIN bugs b ON b.rowid = f.rowid
    WHERE bugs_fts MATCH ? ORDER BY f.rank, b.id LIMIT ?`)
  const ftsCount = db.prepare('SELECT count(*) AS n FROM bugs_fts WHERE bugs_fts MATCH ?')

  return {
    eq: (createdAt) => docs(eq, createdAt),
    range: (low, high, limit) => docs(range, low, high, limit),
    groupBy: () => groupBy.all().map((r) => ({ status: r.status as string, n: Number(r.n) })),
    join: (status, limit) => joined.all(status, limit).map((r) => {
      const bug = JSON.parse(r.bug as string) as Doc
      bug.users = r.user === null ? null : JSON.parse(r.user as string)
      return bug
    }),
    fts: (query, limit) => docs(fts, query, limit),
    ftsCount: (query) => Number(ftsCount.get(query)!.n),
    close: () => { db.close() }
  }
}

/** Each result row's `doc` column, parsed. */
function docs (stmt: StatementSync, ...params: Array<string | number>): Doc[] {
  return stmt.all(...params).map((r) => JSON.parse(r.doc as string) as Doc)
}

/** The query plans SQLite chose, one line each, to show that the indexes are used. */
export function plans (dir: string): string[] {
  const db = new DatabaseSync(join(dir, 'bugs.sqlite'), { readOnly: true })
  try {
    const q = (sql: string): string => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => r.detail as string).join('; ')
    return [
      q("SELECT doc FROM bugs WHERE json_extract(doc, '$.createdAt') = 'x'"),
      q("SELECT doc FROM bugs WHERE json_extract(doc, '$.votes') BETWEEN 10 AND 20 ORDER BY json_extract(doc, '$.votes') DESC, id DESC LIMIT 20"),
      q("SELECT json_extract(doc, '$.status'), count(*) FROM bugs GROUP BY json_extract(doc, '$.status') ORDER BY 1"),
      q("SELECT b.doc, u.doc FROM bugs b LEFT JOIN users u ON u.id = json_extract(b.doc, '$.reporter') WHERE json_extract(b.doc, '$.status') = 'open' ORDER BY b.id LIMIT 20"),
      q("SELECT b.doc FROM bugs_fts f JOIN bugs b ON b.rowid = f.rowid WHERE bugs_fts MATCH 'a b' ORDER BY f.rank, b.id LIMIT 10")
    ]
  } finally {
    db.close()
  }
}
