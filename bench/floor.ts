/**
 * The floor under applying a received change: what each change must cost at least with the
 * log-plus-state design (one log entry and one document state per change), measured in
 * this run, and the ratio to `lmdb.put` that this floor allows.
 *
 * Per received single-op change the engine must: recompute its SHA-256 (hash chain), decode
 * and validate its canonical bytes, and store two records (its log entry and the document
 * state). `lmdb.put` stores one record per row and nothing else, so even with every other
 * cost at zero, `engine.apply` on single-op changes cannot pass
 *   put / (2 × put + sha256 + decode)
 * of `lmdb.put`; that figure is reported as `floor.apply.ceiling`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open as openLmdb } from 'lmdb'
import { decodeChange, encodeChange, hashChange } from '../engine/log/change.ts'
import type { Hlc } from '../engine/clock/hlc.ts'
import { identityFromSeed, verifySignature } from '../engine/crypto/identity.ts'
import { median, report } from './report.ts'

const N = 100_000
const ROUNDS = 3

function us (ms: number, count: number): number { return Math.round(ms * 1000 / count * 100) / 100 }

export async function run (): Promise<void> {
  const author = new Uint8Array(32).fill(7)
  const prev = new Uint8Array(32).fill(1)
  const hlc = (BigInt(Date.UTC(2026, 0, 1)) << 16n) as Hlc
  // the sync benchmark's changes: one insert of { n, s: 'small' } each
  const changes = Array.from({ length: N }, (_, i) => encodeChange({
    db: new Uint8Array(16), author, seq: i + 1, prev: i === 0 ? null : prev, hlc, ops: [{ op: 'set', c: 'items', id: `0${(1e12 + i).toString(36)}abcdefgh`, p: [], v: { n: i, s: 'small' } }]
  }).slice())
  const timed = (fn: () => void): number => { const t = performance.now(); fn(); return us(performance.now() - t, N) }
  const sha = await median(ROUNDS, () => timed(() => { for (const c of changes) hashChange(c) }))
  const decode = await median(ROUNDS, () => timed(() => { for (const c of changes) decodeChange(c) }))
  const put = await median(ROUNDS, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blazedb-bench-floor-'))
    const db = openLmdb<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary', overlappingSync: false })
    try {
      const keys = changes.map((_, i) => { const k = Buffer.alloc(41); k[0] = 0x4c; k.writeUInt32BE(i, 37); return k })
      const values = changes.map((c) => Buffer.from(c))
      const t = performance.now()
      for (let i = 0; i < N; i += 10_000) await db.transaction(() => { for (let k = i; k < i + 10_000; k++) db.put(keys[k]!, values[k]!) })
      return us(performance.now() - t, N)
    } finally {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  const id = identityFromSeed(new Uint8Array(32).fill(3))
  const message = new Uint8Array(32)
  const signature = id.sign(message)
  const SIGNS = 2_000
  const sign = await median(ROUNDS, () => { const t = performance.now(); for (let i = 0; i < SIGNS; i++) id.sign(message); return us(performance.now() - t, SIGNS) })
  const verify = await median(ROUNDS, () => { const t = performance.now(); for (let i = 0; i < SIGNS; i++) verifySignature(id.publicKey, message, signature); return us(performance.now() - t, SIGNS) })
  const note = `per change of ${changes[0]!.length} bytes (one insert of { n, s }), median of ${ROUNDS}`
  report({ bench: 'floor.sha256', value: sha, unit: 'us', note })
  report({ bench: 'floor.decodeChange', value: decode, unit: 'us', note })
  report({ bench: 'floor.lmdb.put', value: put, unit: 'us', note: `per record, in transactions of 10,000, fsync'd (${changes[0]!.length}-byte values)` })
  report({ bench: 'floor.ed25519.sign', value: sign, unit: 'us' })
  report({ bench: 'floor.ed25519.verify', value: verify, unit: 'us' })
  const floor = 2 * put + sha + decode
  report({ bench: 'floor.apply.ceiling', value: Math.round(put / floor * 1000) / 1000, unit: 'ratio', note: 'the most engine.apply can reach against lmdb.put on single-op changes with two records per change: put / (2 × put + sha256 + decode)' })
  report({ bench: 'floor.apply.changes', value: Math.round(1e6 / floor), unit: 'changes/s', note: 'one core, nothing but hash, decode and two puts per change (the receiver alone, no network, no sender)' })
}
