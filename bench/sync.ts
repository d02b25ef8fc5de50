/**
 * Sync benchmarks: two BlazeNodes in this process, talking over TCP on loopback (Noise,
 * Yamux), each with LMDB on disk in a temp dir. Each figure is reported next to a baseline
 * measured in the same run:
 *
 * - sync.catchup: changes/s to bring a new replica B up to 100,000 single-op changes written
 *   on A, from B's node start until B's version vector covers A's (B emits a change event
 *   only after the transaction holding it is fsync'd, so "covered" means durable on B).
 *   Baselines: two plain libp2p hosts streaming 200-byte messages, 100 per send; and
 *   node:sqlite (WAL, synchronous=FULL) receiving the same 100,000 documents as JSON over a
 *   plain loopback TCP socket and inserting them (bench/sqlite-baseline.ts).
 * - sync.latency.p50/p99: ms from a write resolving on A to B's change event for it, one
 *   write at a time. Baseline: one 200-byte message between plain libp2p hosts followed by
 *   a durable LMDB put on the receiver (the floor for "visible and durable on B").
 * - sync.initial.bytes / seconds: sync-stream bytes (B's bytesIn + bytesOut) to bring a new
 *   node up to 10,000 bug records. Baseline: the same records as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { open as openLmdb } from 'lmdb'
import { open, type Database, type VersionVector } from '../engine/index.ts'
import { identityFromSeed } from '../engine/crypto/identity.ts'
import { BlazeNode } from '../node/blaze-node.ts'
import { createHost, type Host } from '../node/host.ts'
import { bugRecord } from './fixtures.ts'
import { compare, interleaved, median, perSecond, report, type Result } from './report.ts'
import { catchup as sqliteCatchup } from './sqlite-baseline.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']
const CATCHUP_CHANGES = 100_000
const CATCHUP_ROUNDS = 3
const CONCURRENT = 1_000
const RAW_MESSAGES = 1_000_000
const MESSAGE_BYTES = 200
const PER_SEND = 100
const LATENCY_WARMUP = 50
const LATENCY_WRITES = 300
const INITIAL_RECORDS = 10_000
/** a bound on every wait (not a sleep): a stuck sync fails the bench instead of hanging it */
const WAIT_MS = 120_000

function progress (msg: string): void { process.stderr.write(`  ${msg}\n`) }

function tmp (): { path: string, done: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'blazedb-bench-sync-'))
  return { path, done: () => { rmSync(path, { recursive: true, force: true }) } }
}

interface Replica { db: Database, close: () => Promise<void> }

async function replica (dbId?: string): Promise<Replica> {
  const dir = tmp()
  const db = await open(dbId === undefined ? { path: dir.path } : { path: dir.path, dbId })
  return { db, close: async () => { await db.close(); dir.done() } }
}

async function startNode (db: Database, bootstrap: BlazeNode[] = []): Promise<BlazeNode> {
  return await BlazeNode.start({ db, listen: LOOPBACK, mdns: false, bootstrap: bootstrap.flatMap((n) => n.multiaddrs()), backoffMs: 100, maxBackoffMs: 1_000 })
}

function total (vv: VersionVector): number {
  let n = 0
  for (const seq of Object.values(vv)) n += seq
  return n
}

function covers (have: Record<string, number>, target: Record<string, number>): boolean {
  for (const [author, seq] of Object.entries(target)) if ((have[author] ?? 0) < seq) return false
  return true
}

/**
 * Resolves once `db` holds (durably) every change in `target`. Follows the change events
 * (emitted after the fsync of the transaction that applied them), then confirms once with
 * the stored version vector.
 */
function covered (db: Database, target: VersionVector): Promise<void> {
  return new Promise((resolve, reject) => {
    const have = db.versionVector()
    if (covers(have, target)) { resolve(); return }
    const timer = setTimeout(() => { unsubscribe(); reject(new Error(`replica did not catch up within ${WAIT_MS} ms (has ${total(db.versionVector())} of ${total(target)} changes)`)) }, WAIT_MS)
    const unsubscribe = db.subscribe((event) => {
      if ((have[event.author] ?? 0) < event.seq) have[event.author] = event.seq
      if (event.author in target && have[event.author]! >= target[event.author]! && covers(have, target)) {
        clearTimeout(timer)
        unsubscribe()
        if (covers(db.versionVector(), target)) resolve()
        else reject(new Error('change events covered the target but the stored version vector does not'))
      }
    })
  })
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

// ---------------------------------------------------------------------------------------
// baselines: two plain libp2p hosts (same stack as a BlazeNode: TCP, Noise, Yamux)

async function rawHost (): Promise<Host> {
  const host = await createHost({ identity: identityFromSeed(randomBytes(32)), dbId: randomBytes(16).toString('hex'), listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true })
  await host.start()
  return host
}

async function rawPair (): Promise<{ a: Host, b: Host, stop: () => Promise<void> }> {
  const [a, b] = await Promise.all([rawHost(), rawHost()])
  return { a, b, stop: async () => { await Promise.all([a.stop(), b.stop()]) } }
}

/** messages/s: RAW_MESSAGES 200-byte messages, PER_SEND concatenated per `send`, until all bytes have arrived */
async function rawMessages (a: Host, b: Host): Promise<number> {
  const protocol = '/blazedb-bench/messages/1'
  const want = RAW_MESSAGES * MESSAGE_BYTES
  let arrived!: () => void
  const all = new Promise<void>((resolve) => { arrived = resolve })
  await b.handle(protocol, (stream: Stream) => {
    void (async () => {
      let n = 0
      for await (const chunk of stream) {
        n += chunk.byteLength
        if (n >= want) arrived()
      }
    })()
  })
  try {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, protocol)
    const block = new Uint8Array(MESSAGE_BYTES * PER_SEND)
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff
    const t = performance.now()
    for (let sent = 0; sent < RAW_MESSAGES; sent += PER_SEND) {
      if (!stream.send(block)) await stream.onDrain()
    }
    await all
    const ms = performance.now() - t
    await stream.close()
    return perSecond(RAW_MESSAGES, ms)
  } finally {
    await b.unhandle(protocol)
  }
}

/**
 * One-way latency (ms) of a 200-byte message, alone and followed by a durable LMDB put on
 * the receiver, one at a time.
 */
async function rawLatency (a: Host, b: Host, durable: boolean): Promise<number[]> {
  const protocol = `/blazedb-bench/latency/${durable ? 'durable' : 'plain'}/1`
  const dir = tmp()
  const lmdb = openLmdb<Buffer, Buffer>({ path: join(dir.path, 'raw'), keyEncoding: 'binary', encoding: 'binary', overlappingSync: false })
  let delivered: (() => void) | undefined
  await b.handle(protocol, (stream: Stream) => {
    void (async () => {
      let n = 0
      let i = 0
      for await (const chunk of stream) {
        n += chunk.byteLength
        while (n >= MESSAGE_BYTES) {
          n -= MESSAGE_BYTES
          if (durable) await lmdb.put(Buffer.from(`k${i++}`), Buffer.alloc(MESSAGE_BYTES, 1))
          delivered?.()
        }
      }
    })()
  })
  try {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, protocol)
    const message = new Uint8Array(MESSAGE_BYTES).fill(7)
    const times: number[] = []
    for (let i = 0; i < LATENCY_WARMUP + LATENCY_WRITES; i++) {
      const got = new Promise<void>((resolve) => { delivered = resolve })
      const t = performance.now()
      if (!stream.send(message)) await stream.onDrain()
      await got
      if (i >= LATENCY_WARMUP) times.push(performance.now() - t)
    }
    await stream.close()
    return times.sort((x, y) => x - y)
  } finally {
    await b.unhandle(protocol)
    await lmdb.close()
    dir.done()
  }
}

// ---------------------------------------------------------------------------------------
// ours

async function catchupRound (a: Database): Promise<number> {
  const b = await replica(a.id)
  let na: BlazeNode | undefined
  let nb: BlazeNode | undefined
  try {
    await a.members.grant(b.db.peerId, 'writer') // before B's node connects
    const target = a.versionVector()
    const changes = total(target) - total(b.db.versionVector())
    na = await startNode(a)
    const done = covered(b.db, target)
    const t = performance.now()
    nb = await startNode(b.db, [na])
    await done
    const ms = performance.now() - t
    progress(`catch-up: ${changes} changes in ${ms.toFixed(0)} ms; B received ${nb.stats().bytesIn} bytes`)
    return perSecond(changes, ms)
  } finally {
    await nb?.stop()
    await na?.stop()
    await b.close()
  }
}

async function latency (): Promise<number[]> {
  const a = await replica()
  const b = await replica(a.db.id)
  let na: BlazeNode | undefined
  let nb: BlazeNode | undefined
  try {
    await a.db.members.grant(b.db.peerId, 'writer')
    na = await startNode(a.db)
    const ready = covered(b.db, a.db.versionVector())
    nb = await startNode(b.db, [na])
    await ready
    const waiting = new Map<string, (at: number) => void>()
    const unsubscribe = b.db.subscribe((event) => {
      const at = performance.now()
      for (const op of event.ops) {
        if ('id' in op) {
          const w = waiting.get(op.id)
          if (w !== undefined) { waiting.delete(op.id); w(at) }
        }
      }
    })
    const c = a.db.collection('lat')
    const times: number[] = []
    try {
      for (let i = 0; i < LATENCY_WARMUP + LATENCY_WRITES; i++) {
        const id = `lat-${i}`
        const seen = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => { waiting.delete(id); reject(new Error(`write ${id} not seen on B within ${WAIT_MS} ms`)) }, WAIT_MS)
          waiting.set(id, (at) => { clearTimeout(timer); resolve(at) })
        })
        await c.insert({ id, n: i, title: 'crash when syncing' })
        const t = performance.now()
        const at = await seen
        if (at < t) throw new Error(`write ${id} seen on B before it resolved on A`)
        if (i >= LATENCY_WARMUP) times.push(at - t)
      }
    } finally {
      unsubscribe()
    }
    return times.sort((x, y) => x - y)
  } finally {
    await nb?.stop()
    await na?.stop()
    await b.close()
    await a.close()
  }
}

async function initial (mode: 'single' | 'tx'): Promise<{ bytes: number, seconds: number, changes: number }> {
  const a = await replica()
  const b = await replica(a.db.id)
  let na: BlazeNode | undefined
  let nb: BlazeNode | undefined
  try {
    await a.db.members.grant(b.db.peerId, 'writer')
    for (let i = 0; i < INITIAL_RECORDS; i += CONCURRENT) {
      const slice = records.slice(i, i + CONCURRENT)
      if (mode === 'single') {
        const c = a.db.collection('bugs')
        await Promise.all(slice.map(async (r) => await c.insert(r as unknown as Record<string, unknown>)))
      } else {
        await a.db.transaction(async (tx) => {
          const c = tx.collection('bugs')
          for (const r of slice) await c.insert(r as unknown as Record<string, unknown>)
        })
      }
    }
    const target = a.db.versionVector()
    na = await startNode(a.db)
    const done = covered(b.db, target)
    const t = performance.now()
    nb = await startNode(b.db, [na])
    await done
    const seconds = (performance.now() - t) / 1000
    if (b.db.collection('bugs').get(records[INITIAL_RECORDS - 1]!.id) === undefined) throw new Error('last record missing on B')
    const s = nb.stats()
    return { bytes: s.bytesIn + s.bytesOut, seconds, changes: total(target) }
  } finally {
    await nb?.stop()
    await na?.stop()
    await b.close()
    await a.close()
  }
}

const records = Array.from({ length: INITIAL_RECORDS }, (_, i) => bugRecord(i))

export async function run (): Promise<void> {
  // --- catch-up ----------------------------------------------------------------------
  progress(`catchup: writing ${CATCHUP_CHANGES} single-op changes on A (${CONCURRENT} concurrent inserts at a time)`)
  const a = await replica()
  let catchup: number
  let sqliteRate: number
  // the same documents for the sqlite baseline, as JSON
  const ids = Array.from({ length: CATCHUP_CHANGES }, (_, n) => `item-${String(n).padStart(12, '0')}`)
  const docs = ids.map((id, n) => JSON.stringify({ id, n, s: 'small' }))
  try {
    const c = a.db.collection('items')
    const t = performance.now()
    for (let i = 0; i < CATCHUP_CHANGES; i += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, async (_, k) => await c.insert({ n: i + k, s: 'small' })))
    }
    progress(`  written in ${(performance.now() - t).toFixed(0)} ms`)
    progress(`catchup: a new replica B catches up over TCP loopback, ${CATCHUP_ROUNDS} rounds, in turns with sqlite.catchup (the same documents as JSON over a plain TCP socket into node:sqlite)`)
    ;[catchup, sqliteRate] = await interleaved(CATCHUP_ROUNDS, [
      async () => await catchupRound(a.db),
      async () => {
        const dir = tmp()
        try { return await sqliteCatchup(dir.path, ids, docs) } finally { dir.done() }
      }
    ]) as [number, number]
  } finally {
    await a.close()
  }

  progress(`libp2p.messages: ${RAW_MESSAGES} × ${MESSAGE_BYTES}-byte messages, ${PER_SEND} per send, ${CATCHUP_ROUNDS} rounds`)
  const pair = await rawPair()
  let rawRate: number
  let oneway: number[]
  let onewayDurable: number[]
  try {
    rawRate = await median(CATCHUP_ROUNDS, async () => await rawMessages(pair.a, pair.b))
    progress(`latency baselines: ${LATENCY_WRITES} one-way 200-byte messages (after ${LATENCY_WARMUP} warm-up), plain and + durable LMDB put`)
    oneway = await rawLatency(pair.a, pair.b, false)
    onewayDurable = await rawLatency(pair.a, pair.b, true)
  } finally {
    await pair.stop()
  }
  const baseMessages: Result = { bench: 'libp2p.messages', value: rawRate, unit: 'msg/s', note: `${MESSAGE_BYTES}-byte messages, ${PER_SEND} per send, TCP+Noise+Yamux loopback` }
  report(baseMessages)
  const catchupNote = `${CATCHUP_CHANGES} single-op changes, from B's node start to B durably covering A's version vector; median of ${CATCHUP_ROUNDS}`
  compare({ bench: 'sync.catchup', value: catchup, unit: 'changes/s', goal: 150_000, note: catchupNote }, baseMessages)
  const baseSqlite: Result = { bench: 'sqlite.catchup', value: sqliteRate, unit: 'rows/s', note: 'the same documents as JSON over a plain loopback TCP socket, inserted into node:sqlite (WAL, synchronous=FULL), one transaction per received chunk' }
  report(baseSqlite)
  compare({ bench: 'sync.catchup', value: catchup, unit: 'changes/s', goal: 150_000, note: catchupNote }, baseSqlite)

  // --- latency -----------------------------------------------------------------------
  progress(`latency: ${LATENCY_WRITES} writes on A, one at a time (after ${LATENCY_WARMUP} warm-up), until B's change event`)
  const lat = await latency()
  const ratioNote = 'ratio = ours / baseline (lower is better)'
  for (const [name, p, goal] of [['p50', 0.5, 2], ['p99', 0.99, 10]] as const) {
    report({ bench: `libp2p.oneway.${name}`, value: round3(percentile(oneway, p)), unit: 'ms', note: 'one 200-byte message, TCP+Noise+Yamux loopback' })
    const floor = round3(percentile(onewayDurable, p))
    report({ bench: `libp2p.oneway+lmdb.put.${name}`, value: floor, unit: 'ms', note: 'one 200-byte message, then a durable (fsync\'d) LMDB put on the receiver' })
    const ours = round3(percentile(lat, p))
    report({ bench: `sync.latency.${name}`, value: ours, unit: 'ms', baseline: `libp2p.oneway+lmdb.put.${name}`, ratio: round3(ours / floor), goal, note: `write resolved on A to B's change event (after B's fsync); ${ratioNote}` })
  }

  // --- initial sync ------------------------------------------------------------------
  const jsonBytes = records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0)
  const baseJson: Result = { bench: 'json.bytes', value: jsonBytes, unit: 'bytes', note: `${INITIAL_RECORDS} bug records as JSON, summed` }
  report(baseJson)
  for (const mode of ['single', 'tx'] as const) {
    progress(`initial: a new node syncs ${INITIAL_RECORDS} bug records (${mode === 'single' ? 'one change per record' : `transactions of ${CONCURRENT}`})`)
    const r = await initial(mode)
    const suffix = mode === 'single' ? '' : '.tx'
    const how = mode === 'single' ? 'one change per record (concurrent inserts)' : `one change per transaction of ${CONCURRENT} records`
    report({ bench: `sync.initial.bytes${suffix}`, value: r.bytes, unit: 'bytes', baseline: baseJson.bench, ratio: round3(r.bytes / jsonBytes), goal: Math.round(0.25 * jsonBytes), note: `B's sync-stream bytes in+out (frames, without Noise/Yamux framing), ${how}, ${r.changes} changes; ratio = bytes / JSON bytes (lower is better; goal 0.25)` })
    report({ bench: `sync.initial.seconds${suffix}`, value: round3(r.seconds), unit: 's', note: `from B's node start to B durably holding all ${r.changes} changes (${perSecond(INITIAL_RECORDS, r.seconds * 1000)} records/s); ${how}` })
  }
}
