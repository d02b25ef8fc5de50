/**
 * Integrity check of an LMDB store: reads every entry forward, backward and by key, and
 * checks what it read against LMDB's own entry count.
 *
 * Why: LMDB has no page checksums. The CRC on each value catches damaged values, but a
 * damaged page header or node pointer makes LMDB skip entries silently or crash the
 * process (segfault, abort), and lmdb-js cannot be told to checksum pages. Reading
 * everything once in a child process turns such damage into a CorruptionError before the
 * store is used, at the cost of one full read (about a second per few hundred MB).
 *
 *   await verifyLmdbFiles({ path, encryptionKey })    // throws CorruptionError, never crashes
 *   const store = LmdbStore.open({ path, encryptionKey })
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { crc32 } from 'node:zlib'
import { CorruptionError } from '../errors.ts'
import type { LmdbStore, LmdbStoreOptions } from './lmdb.ts'

export interface VerifyReport {
  /** entries read (and found the same way forward, backward and by key) */
  entries: number
}

// beside this file: .ts in a checkout, .js once built into dist/
const CHILD = fileURLToPath(new URL(`./lmdb-verify-child.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url))
/** the child's exit code for a BlazeError, reported as JSON on stdout */
export const VERIFY_TYPED_ERROR_EXIT = 3

/**
 * Checks the open `store` in this process. A damaged page can crash the process, so for
 * files not known to be sound use `verifyLmdbFiles`. Waits for pending transactions, then
 * reads synchronously, so that every read sees the same commit.
 */
export async function verifyStore (store: LmdbStore): Promise<VerifyReport> {
  await store.flushed()
  const damaged = (what: string): Error => new CorruptionError(`${store.path} is damaged: ${what}; restore the store from a replica or a backup`)
  const expected = store.entryCount()
  let count = 0
  let sum = 0
  let previous: Uint8Array | undefined
  for (const { key, value } of store.range({})) {
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) throw damaged('a forward scan returned keys out of order')
    const check = crc32(value, crc32(key))
    const again = store.get(key)
    if (again === undefined || crc32(again, crc32(key)) !== check) throw damaged('a key found by a scan reads differently by lookup')
    sum = (sum + check) % 0x1000000000000
    count++
    previous = key
  }
  if (count !== expected) throw damaged(`a scan found ${count} entries where LMDB counts ${expected}`)
  let back = 0
  let backSum = 0
  previous = undefined
  for (const { key, value } of store.range({ reverse: true })) {
    if (previous !== undefined && Buffer.compare(previous, key) <= 0) throw damaged('a backward scan returned keys out of order')
    backSum = (backSum + crc32(value, crc32(key))) % 0x1000000000000
    back++
    previous = key
  }
  if (back !== count || backSum !== sum) throw damaged(`a backward scan found ${back} entries, a forward scan ${count}, or other ones`)
  return { entries: count }
}

/**
 * Opens the store in a child process and verifies it there, so that damage which would
 * crash LMDB becomes a CorruptionError here. The store should not be open for writing
 * meanwhile. The key travels over a pipe, not the command line.
 */
export async function verifyLmdbFiles (options: LmdbStoreOptions): Promise<VerifyReport> {
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (c, s) => { resolve({ code: c, signal: s, stdout: out, stderr: err }) })
    child.stdin.end(JSON.stringify(options))
  })
  if (signal !== null) {
    throw new CorruptionError(`reading ${options.path} crashed the checking process (${signal}): LMDB met a damaged page; restore the store from a replica or a backup`)
  }
  const last = stdout.trim().split('\n').pop() ?? ''
  let report: { entries?: number, error?: string, message?: string }
  try {
    report = JSON.parse(last) as typeof report
  } catch {
    throw new Error(`the store check of ${options.path} exited with code ${String(code)} without a report: ${stderr.trim()}`)
  }
  if (code === 0 && typeof report.entries === 'number') return { entries: report.entries }
  if (code === VERIFY_TYPED_ERROR_EXIT && report.error === 'CorruptionError') throw new CorruptionError(report.message ?? `${options.path} is damaged`)
  throw new Error(`the store check of ${options.path} failed (${report.error ?? `exit ${String(code)}`}): ${report.message ?? stderr.trim()}`)
}
