/**
 * What a stalled, flooding member costs a node, measured: the node runs in this process
 * (LMDB on disk, ~3 MiB of changes to send); bench/hostile-attacker.ts runs in a child
 * process, never reads, asks for everything and floods the node with 256 MiB of replayed
 * change batches. Reported (RSS of this process, sampled every 50 ms):
 *
 * - hostile.rss.before: before the attacker connects (baseline)
 * - hostile.rss.peak: the most during the flood and the stall, ratio against the baseline
 * - hostile.rss.after: once the stall timeout has reset the attacker's stream
 * - hostile.read.peak: the node's read-side buffer peak (its own counter)
 * - hostile.flood.rate: MiB/s of the flood the node read while its writes were blocked
 *
 * Run alone: `node --expose-gc bench/run.ts hostile` (about 40 s: the default 30 s send
 * timeout); `BENCH_HOSTILE_MIB=32` for a smaller flood.
 *
 * Measured here (2 cores, Node 24), 256 MiB flood: RSS 193 → 290 MiB peak (+97 MiB), the
 * node's read-side peak 2.2 MiB, heap used after GC back to its baseline (19 vs 22 MiB), the
 * flood read at ~36 MiB/s (the 32 MiB/s per-peer byte rate plus its burst), the session
 * reset by SyncStalledError after 30 s. 32 MiB flood: +38 MiB peak. Before this bound,
 * 250 MiB in 10 s left ~500 MB RSS. The growth is garbage not yet collected (decoded
 * frames), not data held: it does not grow with the flood in proportion.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, type Database } from '../engine/index.ts'
import { encodeFrame, decodeFrame } from '../engine/codec/index.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES } from '../engine/log/entry.ts'
import { identityFromSeed } from '../engine/crypto/identity.ts'
import { BlazeNode } from '../node/blaze-node.ts'
import { compare, report } from './report.ts'

const MiB = 1024 * 1024
/** flood size; `BENCH_HOSTILE_MIB=64` etc. shows the cost does not grow with it */
const FLOOD = Number(process.env.BENCH_HOSTILE_MIB ?? 256) * MiB

async function fill (db: Database, docs: number, collection: string): Promise<void> {
  for (let i = 0; i < docs; i += 50) {
    await db.transaction(async (tx) => {
      for (let k = i; k < Math.min(i + 50, docs); k++) await tx.collection(collection).insert({ id: `${collection}${k}`, pad: randomBytes(768).toString('base64') })
    })
  }
}

export async function run (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'blazedb-hostile-'))
  const a = await open({ path: join(dir, 'a') })
  await fill(a, 3 * 1024, 'x')
  const seed = new Uint8Array(randomBytes(32))
  const evil = identityFromSeed(seed)
  await a.members.grant(evil.peerId, 'writer')
  const mem = await open({ dbId: a.id, seed })
  await mem.applyChanges(a.changesSince({}))
  await fill(mem, 256, 'evil')
  await a.applyChanges(mem.changesSince(a.versionVector()))
  const own = decodeChangeBatch(decodeFrame(mem.changesSince({ ...a.versionVector(), [evil.peerId]: 0 })).payload)
  const replay = encodeFrame(encodeChangeBatch(own), { type: FRAME_CHANGES })
  await mem.close()

  const node = await BlazeNode.start({ db: a, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  global.gc?.()
  const before = process.memoryUsage()
  let rss = before.rss
  let buffers = before.arrayBuffers
  const sample = setInterval(() => {
    const m = process.memoryUsage()
    rss = Math.max(rss, m.rss)
    buffers = Math.max(buffers, m.arrayBuffers)
  }, 50)
  writeFileSync(join(dir, 'replay'), replay)
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ addr: node.multiaddrs()[0], dbId: a.id, seed: Buffer.from(seed).toString('hex'), replay: join(dir, 'replay'), flood: FLOOD }))
  const child = spawn(process.execPath, [join(import.meta.dirname, 'hostile-attacker.ts'), join(dir, 'job.json')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  child.stdout.setEncoding('utf8').on('data', (d: string) => { lines.push(...d.split('\n').filter((l) => l !== '')) })
  const ended = new Promise<Error | undefined>((resolve) => {
    node.addEventListener("session:end", (e) => { resolve((e as CustomEvent<{ error?: Error }>).detail.error) })
  })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const error = await ended
  await exited
  clearInterval(sample)
  const peak = rss
  global.gc?.()
  const after = process.memoryUsage()
  const stats = node.stats()
  const flood = JSON.parse(lines[0] ?? '{}') as { sent?: number, ms?: number }
  const base = { bench: 'hostile.rss.before', value: Math.round(before.rss / MiB), unit: 'MiB' }
  report(base)
  compare({ bench: 'hostile.rss.peak', value: Math.round(peak / MiB), unit: 'MiB', note: `attacker sent ${Math.round((flood.sent ?? 0) / MiB)} MiB while never reading; session ended with ${error?.name ?? 'no error'}` }, base, false)
  report({ bench: 'hostile.arraybuffers.peak', value: Math.round((buffers - before.arrayBuffers) / MiB), unit: 'MiB', note: 'growth of Buffer/ArrayBuffer memory over the baseline' })
  report({ bench: 'hostile.rss.after', value: Math.round(after.rss / MiB), unit: 'MiB', note: `heap used ${Math.round(after.heapUsed / MiB)} MiB (before: ${Math.round(before.heapUsed / MiB)} MiB)` })
  report({ bench: 'hostile.read.peak', value: Math.round(stats.readBufferPeakBytes / 1024), unit: 'KiB', note: `node read ${Math.round(stats.bytesIn / MiB)} MiB in all` })
  report({ bench: 'hostile.flood.rate', value: Math.round((flood.sent ?? 0) / MiB / ((flood.ms ?? 1) / 1000)), unit: 'MiB/s', note: 'read by the node while its writes to the attacker were blocked' })
  await node.stop()
  await a.close()
  rmSync(dir, { recursive: true, force: true })
}
