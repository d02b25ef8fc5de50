/**
 * node:sqlite as the second baseline of the engine and sync benchmarks: what a user would
 * pick for a local store. Same durability as the engine: WAL, `synchronous = FULL` (every
 * COMMIT is fsync'd before it returns). Documents are JSON text in
 * `docs(id TEXT PRIMARY KEY, doc TEXT)`, written in the same transactions as the engine's.
 *
 * - insert: rows in transactions of `tx`, each committed (fsync'd) before the next.
 * - insert.single: one row per transaction, each committed before the next.
 * - catch-up: a server streams the rows over a plain TCP socket on loopback (no encryption,
 *   length-prefixed JSON documents); the receiver inserts them in one transaction per
 *   received chunk, and is done when the last row is committed.
 * - bytes on disk: the database file after the WAL is checkpointed into it.
 */
import { createServer, connect, type AddressInfo } from 'node:net'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

export interface SqliteDocs {
  /** rows per second */
  insert: (ids: readonly string[], docs: readonly string[], tx: number) => number
  /** bytes of the database file (WAL checkpointed into it) */
  bytesOnDisk: () => number
  close: () => void
}

export function openDocs (dir: string): SqliteDocs {
  const path = join(dir, 'docs.sqlite')
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = FULL')
  db.exec('CREATE TABLE docs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
  const put = db.prepare('INSERT INTO docs (id, doc) VALUES (?, ?)')
  return {
    insert: (ids, docs, tx) => {
      const t = performance.now()
      for (let i = 0; i < ids.length; i += tx) {
        db.exec('BEGIN')
        for (let k = i; k < Math.min(i + tx, ids.length); k++) put.run(ids[k]!, docs[k]!)
        db.exec('COMMIT')
      }
      return Math.round(ids.length / ((performance.now() - t) / 1000))
    },
    bytesOnDisk: () => {
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      return statSync(path).size
    },
    close: () => { db.close() }
  }
}

/**
 * Rows/s to stream `docs` (JSON text, keyed by `ids`) over a loopback TCP socket into a new
 * SQLite database, from the connect to the last row committed.
 */
export async function catchup (dir: string, ids: readonly string[], docs: readonly string[]): Promise<number> {
  const frames: Buffer[] = []
  for (let i = 0; i < ids.length; i++) {
    const id = Buffer.from(ids[i]!)
    const doc = Buffer.from(docs[i]!)
    const frame = Buffer.allocUnsafe(8 + id.length + doc.length)
    frame.writeUInt32BE(id.length, 0)
    frame.writeUInt32BE(doc.length, 4)
    id.copy(frame, 8)
    doc.copy(frame, 8 + id.length)
    frames.push(frame)
  }
  const server = createServer((socket) => {
    void (async () => {
      for (let i = 0; i < frames.length; i += 1000) {
        if (!socket.write(Buffer.concat(frames.slice(i, i + 1000)))) await new Promise((resolve) => socket.once('drain', resolve))
      }
      socket.end()
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const db = new DatabaseSync(join(dir, 'catchup.sqlite'))
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
    db.exec('CREATE TABLE docs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
    const put = db.prepare('INSERT INTO docs (id, doc) VALUES (?, ?)')
    const t = performance.now()
    let rows = 0
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      let pending: Buffer = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
        let o = 0
        db.exec('BEGIN')
        while (pending.length - o >= 8) {
          const idLength = pending.readUInt32BE(o)
          const docLength = pending.readUInt32BE(o + 4)
          if (pending.length - o < 8 + idLength + docLength) break
          const id = pending.toString('utf8', o + 8, o + 8 + idLength)
          const doc = pending.toString('utf8', o + 8 + idLength, o + 8 + idLength + docLength)
          put.run(id, doc)
          rows++
          o += 8 + idLength + docLength
        }
        db.exec('COMMIT')
        pending = pending.subarray(o)
      })
      socket.on('end', () => { rows === ids.length ? resolve() : reject(new Error(`sqlite catch-up received ${rows} of ${ids.length} rows`)) })
      socket.on('error', reject)
    })
    return Math.round(rows / ((performance.now() - t) / 1000))
  } finally {
    db.close()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
}
