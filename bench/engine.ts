/**
 * Engine benchmarks, each side by side with raw LMDB in the same run (same machine, same
 * disk, same durability: every baseline transaction is fsync'd before its promise resolves,
 * as the engine's are), and with node:sqlite (WAL, synchronous = FULL, JSON documents in
 * the same transactions; bench/sqlite-baseline.ts).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open as openLmdb } from 'lmdb'
import { open, type Database } from '../engine/index.ts'
import { bugRecord } from './fixtures.ts'
import { compare, interleaved, median, perSecond, report, type Result } from './report.ts'
import { openDocs } from './sqlite-baseline.ts'

/** rounds per measurement (median); BENCH_ROUNDS overrides */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const N = 20_000
const TX = 1_000

function tmp (): { path: string, done: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'blazedb-bench-'))
  return { path, done: () => rmSync(path, { recursive: true, force: true }) }
}

function progress (msg: string): void { process.stderr.write(`  ${msg}\n`) }

async function withDb<T> (fn: (db: Database) => Promise<T>, dbId?: string): Promise<T> {
  const dir = tmp()
  const db = await open(dbId === undefined ? { path: dir.path } : { path: dir.path, dbId })
  try {
    return await fn(db)
  } finally {
    await db.close()
    dir.done()
  }
}

async function withLmdb<T> (fn: (db: ReturnType<typeof openLmdb<Buffer, Buffer>>) => Promise<T>): Promise<T> {
  const dir = tmp()
  const db = openLmdb<Buffer, Buffer>({ path: join(dir.path, 'raw'), keyEncoding: 'binary', encoding: 'binary', overlappingSync: false })
  try {
    return await fn(db)
  } finally {
    await db.close()
    dir.done()
  }
}

const records = Array.from({ length: N }, (_, i) => bugRecord(i))
const recordBytes = records.map((r) => Buffer.from(JSON.stringify(r)))
const keys = records.map((r) => Buffer.from(r.id))
const ids = records.map((r) => r.id)
const json = records.map((r) => JSON.stringify(r))

async function withSqlite<T> (fn: (db: ReturnType<typeof openDocs>) => T): Promise<T> {
  const dir = tmp()
  const db = openDocs(dir.path)
  try {
    return fn(db)
  } finally {
    db.close()
    dir.done()
  }
}

async function engineInsert (db: Database): Promise<number> {
  const t = performance.now()
  for (let i = 0; i < N; i += TX) {
    await db.transaction(async (tx) => {
      const c = tx.collection('bugs')
      for (let k = i; k < i + TX; k++) await c.insert(records[k]! as unknown as Record<string, unknown>)
    })
  }
  return perSecond(N, performance.now() - t)
}

async function lmdbPut (db: ReturnType<typeof openLmdb<Buffer, Buffer>>): Promise<number> {
  const t = performance.now()
  for (let i = 0; i < N; i += TX) {
    await db.transaction(() => { for (let k = i; k < i + TX; k++) db.put(keys[k]!, recordBytes[k]!) })
  }
  return perSecond(N, performance.now() - t)
}

function randomIndexes (count: number): number[] {
  let x = 12345
  return Array.from({ length: count }, () => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % N })
}

export async function run (): Promise<void> {
  const order = randomIndexes(100_000)

  progress(`insert: ${N} bug records in transactions of ${TX}, ${ROUNDS} rounds each after a warm-up round, in turns with lmdb.put and sqlite.insert`)
  const [insert, put, sqliteInsert] = await interleaved(ROUNDS, [
    async () => await withDb(engineInsert),
    async () => await withLmdb(lmdbPut),
    async () => await withSqlite((db) => db.insert(ids, json, TX))
  ]) as [number, number, number]
  const basePut: Result = { bench: 'lmdb.put', value: put, unit: 'ops/s' }
  report(basePut)
  compare({ bench: 'engine.insert', value: insert, unit: 'docs/s' }, basePut)
  const baseSqlite: Result = { bench: 'sqlite.insert', value: sqliteInsert, unit: 'rows/s', note: `JSON documents, WAL, synchronous=FULL, transactions of ${TX}` }
  report(baseSqlite)
  compare({ bench: 'engine.insert', value: insert, unit: 'docs/s' }, baseSqlite)

  const DISK = 10_000
  progress(`bytes on disk: ${DISK} bug records in transactions of ${TX}`)
  const engineBytes = await (async () => {
    const dir = tmp()
    try {
      const db = await open({ path: dir.path })
      for (let i = 0; i < DISK; i += TX) {
        await db.transaction(async (tx) => {
          const c = tx.collection('bugs')
          for (let k = i; k < i + TX; k++) await c.insert(records[k]! as unknown as Record<string, unknown>)
        })
      }
      await db.close()
      return statSync(join(dir.path, 'db', 'data.mdb')).size
    } finally {
      dir.done()
    }
  })()
  const sqliteBytes = await withSqlite((db) => { db.insert(ids.slice(0, DISK), json.slice(0, DISK), TX); return db.bytesOnDisk() })
  const baseBytes: Result = { bench: 'sqlite.bytes.per.record', value: Math.round(sqliteBytes / DISK), unit: 'bytes', note: `docs.sqlite after ${DISK} bug records (WAL checkpointed), / ${DISK}` }
  report(baseBytes)
  compare({ bench: 'engine.bytes.per.record', value: Math.round(engineBytes / DISK), unit: 'bytes', goal: 500, note: `data.mdb after ${DISK} bug records, / ${DISK} (log entries, states, heads); ratio = sqlite / ours (higher is better)` }, baseBytes, false)

  progress('get: 100,000 random ids')
  const get = await withDb(async (db) => {
    await engineInsert(db)
    const c = db.collection('bugs')
    return await median(ROUNDS, () => {
      const t = performance.now()
      for (const i of order) if (c.get(records[i]!.id) === undefined) throw new Error('missing')
      return perSecond(order.length, performance.now() - t)
    })
  })
  const rawGet = await withLmdb(async (db) => {
    await lmdbPut(db)
    return await median(ROUNDS, () => {
      const t = performance.now()
      for (const i of order) if (db.get(keys[i]!) === undefined) throw new Error('missing')
      return perSecond(order.length, performance.now() - t)
    })
  })
  const baseGet: Result = { bench: 'lmdb.get', value: rawGet, unit: 'ops/s' }
  report(baseGet)
  compare({ bench: 'engine.get', value: get, unit: 'docs/s' }, baseGet)

  const SINGLE = 300
  progress(`insert.single: ${SINGLE} inserts, each awaited (durable) before the next`)
  const [single, putSingle, sqliteSingle] = await interleaved(ROUNDS, [
    async () => await withDb(async (db) => {
      const c = db.collection('bugs')
      const t = performance.now()
      for (let i = 0; i < SINGLE; i++) await c.insert(records[i]! as unknown as Record<string, unknown>)
      return perSecond(SINGLE, performance.now() - t)
    }),
    async () => await withLmdb(async (db) => {
      const t = performance.now()
      for (let i = 0; i < SINGLE; i++) await db.put(keys[i]!, recordBytes[i]!)
      return perSecond(SINGLE, performance.now() - t)
    }),
    async () => await withSqlite((db) => db.insert(ids.slice(0, SINGLE), json.slice(0, SINGLE), 1))
  ]) as [number, number, number]
  const baseSingle: Result = { bench: 'lmdb.put.single', value: putSingle, unit: 'ops/s' }
  report(baseSingle)
  compare({ bench: 'engine.insert.single', value: single, unit: 'docs/s' }, baseSingle)
  const baseSqliteSingle: Result = { bench: 'sqlite.insert.single', value: sqliteSingle, unit: 'rows/s', note: 'one row per transaction, each committed (fsync\'d) before the next' }
  report(baseSqliteSingle)
  compare({ bench: 'engine.insert.single', value: single, unit: 'docs/s' }, baseSqliteSingle)

  progress('insert.concurrent: 1,000 inserts in flight at once, each its own change')
  const concurrent = await median(ROUNDS, async () => await withDb(async (db) => {
    const c = db.collection('bugs')
    const t = performance.now()
    for (let i = 0; i < 10_000; i += 1000) {
      await Promise.all(records.slice(i, i + 1000).map(async (r) => await c.insert(r as unknown as Record<string, unknown>)))
    }
    return perSecond(10_000, performance.now() - t)
  }))
  compare({ bench: 'engine.insert.concurrent', value: concurrent, unit: 'docs/s', goal: 10_000 }, basePut)

  progress(`apply: another replica's ${N} changes (single-insert changes, signed per commit group)`)
  const apply = await withDb(async (source) => {
    const c = source.collection('bugs')
    for (let i = 0; i < N; i += 1000) {
      await Promise.all(records.slice(i, i + 1000).map(async (r) => await c.insert(r as unknown as Record<string, unknown>)))
    }
    // frames of about 1,000 changes each, cut on signed changes, as sync sends them
    const frames = [...source.changeBatches({}, { maxBytes: 256 * 1024 })].map((b) => b.frame)
    return await interleaved(ROUNDS, [
      async () => await withDb(async (replica) => {
        const t = performance.now()
        let applied = 0
        for (const f of frames) applied += (await replica.applyChanges(f)).applied
        if (applied !== N + 1) throw new Error(`applied ${applied} of ${N + 1}`)
        return perSecond(applied, performance.now() - t)
      }, source.id),
      async () => await withLmdb(lmdbPut),
      async () => await withSqlite((db) => db.insert(ids, json, TX))
    ])
  })
  // the baselines again, measured in turns with the apply rounds
  const paired = 'baseline measured again, in turns with these rounds'
  compare({ bench: 'engine.apply', value: apply[0]!, unit: 'changes/s', note: paired }, { ...basePut, value: apply[1]! })
  compare({ bench: 'engine.apply', value: apply[0]!, unit: 'changes/s', note: paired }, { ...baseSqlite, value: apply[2]! })
}
