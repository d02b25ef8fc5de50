import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, type Database, type OpenOptions } from '../../engine/index.ts'

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir (prefix = 'blazedb-'): { path: string, cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) }
}

/** A controllable wall clock for HLC-driven tests. */
export function fakeClock (start = Date.UTC(2026, 0, 1)): { now: () => number, advance: (ms: number) => void, set: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms }, set: (ms) => { t = ms } }
}

/** Deterministic randomness from a seed (xorshift), for reproducible ids and keys. */
export function seededRandom (seed: number): (n: number) => Uint8Array {
  let x = seed | 0 || 1
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5
      out[i] = x & 0xff
    }
    return out
  }
}

/**
 * In-memory (or on-disk) databases opened by a test and closed after each one: call inside
 * a `describe`; returns the opener.
 */
export function trackedDatabases (): (options?: OpenOptions) => Promise<Database> {
  const dbs: Database[] = []
  afterEach(async () => { await Promise.all(dbs.splice(0).map(async (d) => await d.close())) })
  return async (options = {}) => {
    const d = await open(options)
    dbs.push(d)
    return d
  }
}

/**
 * Cleanups registered during a test, run after each one in reverse order: call inside a
 * `describe`; returns the function that registers one.
 */
export function cleanupsAfterEach (): (fn: () => Promise<void> | void) => void {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  return (fn) => { cleanups.push(fn) }
}

/** Databases each in a new temporary directory, closed and removed by `cleanup` (from cleanupsAfterEach). */
export function diskDatabases (cleanup: (fn: () => Promise<void> | void) => void): (dbId?: string) => Promise<Database> {
  return async (dbId) => {
    const dir = tempDir()
    const db = await open({ path: dir.path, ...(dbId === undefined ? {} : { dbId }) })
    cleanup(async () => { await db.close(); dir.cleanup() })
    return db
  }
}
