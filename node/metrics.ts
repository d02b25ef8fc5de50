/**
 * Prometheus metrics of a node (prom-client), on a registry of its own so that several
 * nodes in one process (tests, simulations) do not mix: what the engine applies and how
 * fast, what sync moves and how far behind each peer is, the log, rejections, held changes,
 * and the process. libp2p's own metrics join the same registry (`libp2pMetrics(registry)`).
 *
 * @example
 * const metrics = new NodeMetrics({ db, node })
 * const text = await metrics.registry.metrics()   // Prometheus text format
 * metrics.stop()
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Database, VersionVector } from '../engine/index.ts'

/** What the metrics read of a mesh node. */
export interface MetricsNode extends EventTarget {
  /** peers with a live sync session */
  peers: () => string[]
  /** the version vector a peer last told us it holds */
  peerVector: (peer: string) => VersionVector | undefined
  /** cumulative sync bytes: all frames on the wire, and change frames on the wire and before compression */
  stats: () => { bytesIn: number, bytesOut: number, changeBytes: { wireIn: number, rawIn: number, wireOut: number, rawOut: number } }
}

export interface NodeMetricsOptions {
  db: Database
  node?: MetricsNode
  registry?: Registry
  /** default Date.now */
  now?: () => number
  /** process metrics (CPU, memory, event loop…); default true */
  processMetrics?: boolean
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export class NodeMetrics {
  readonly registry: Registry
  readonly #stops: Array<() => void> = []

  constructor (options: NodeMetricsOptions) {
    const { db, node } = options
    const now = options.now ?? Date.now
    const registry = this.registry = options.registry ?? new Registry()
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry })
    const registers = [registry]

    const changes = new Counter({ name: 'blazedb_changes_applied_total', help: 'Changes applied to this replica, by origin (local writes, or received from peers)', labelNames: ['origin'], registers })
    const ops = new Counter({ name: 'blazedb_ops_applied_total', help: 'Operations applied (field sets, deletes, increments, grants), by origin', labelNames: ['origin'], registers })
    for (const origin of ['local', 'remote']) { changes.inc({ origin }, 0); ops.inc({ origin }, 0) }
    this.#stops.push(db.subscribe((event) => {
      changes.inc({ origin: event.origin })
      ops.inc({ origin: event.origin }, event.ops.length)
    }))

    const writes = new Histogram({ name: 'blazedb_write_duration_seconds', help: 'Local writes, from the call until durable (fsync), by outcome', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers })
    const queries = new Histogram({ name: 'blazedb_query_duration_seconds', help: 'Queries on this replica, by kind', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers })
    this.#stops.push(db.observe({
      write: (seconds, ok) => { writes.observe({ outcome: ok ? 'ok' : 'error' }, seconds) },
      query: (kind, seconds) => { queries.observe({ kind }, seconds) }
    }))

    new Gauge({ name: 'blazedb_log_entries', help: 'Changes held in the log', registers, collect () { this.set(db.logStats().entries) } })
    new Gauge({ name: 'blazedb_log_bytes', help: 'Bytes of the changes held in the log', registers, collect () { this.set(db.logStats().bytes) } })
    new Gauge({ name: 'blazedb_changes_held', help: 'Received changes held back because their clock is too far ahead', registers, collect () { this.set(db.stats().held) } })

    if (node === undefined) return
    new Gauge({ name: 'blazedb_peers_connected', help: 'Peers with a live sync session', registers, collect () { this.set(node.peers().length) } })
    const lag = (peer: string): { changes: number, seconds: number } | undefined => {
      const vv = node.peerVector(peer)
      return vv === undefined ? undefined : db.lagOf(vv, now())
    }
    new Gauge({
      name: 'blazedb_sync_lag_changes',
      help: 'Changes this replica holds that the peer has not acknowledged',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const peer of node.peers()) { const l = lag(peer); if (l !== undefined) this.set({ peer }, l.changes) }
      }
    })
    new Gauge({
      name: 'blazedb_sync_lag_seconds',
      help: 'Age of the oldest change this replica holds that the peer has not acknowledged',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const peer of node.peers()) { const l = lag(peer); if (l !== undefined) this.set({ peer }, l.seconds) }
      }
    })

    // cumulative counts kept by the node, turned into counter increments at each scrape
    const seen = { all: { in: 0, out: 0 }, wire: { in: 0, out: 0 }, raw: { in: 0, out: 0 } }
    const step = (counter: Counter<string>, labels: Record<string, string>, last: { in: number, out: number }, direction: 'in' | 'out', now: number): void => {
      counter.inc(labels, Math.max(0, now - last[direction]))
      last[direction] = now
    }
    new Counter({
      name: 'blazedb_sync_bytes_total',
      help: 'Sync bytes on the wire (every frame), by direction',
      labelNames: ['direction'],
      registers,
      collect () {
        const s = node.stats()
        step(this, { direction: 'in' }, seen.all, 'in', s.bytesIn)
        step(this, { direction: 'out' }, seen.all, 'out', s.bytesOut)
      }
    })
    new Counter({
      name: 'blazedb_sync_change_bytes_total',
      help: 'Change batches synced, by direction: bytes on the wire (encoding="wire", compressed when it pays) and before compression (encoding="raw")',
      labelNames: ['direction', 'encoding'],
      registers,
      collect () {
        const c = node.stats().changeBytes
        step(this, { direction: 'in', encoding: 'wire' }, seen.wire, 'in', c.wireIn)
        step(this, { direction: 'out', encoding: 'wire' }, seen.wire, 'out', c.wireOut)
        step(this, { direction: 'in', encoding: 'raw' }, seen.raw, 'in', c.rawIn)
        step(this, { direction: 'out', encoding: 'raw' }, seen.raw, 'out', c.rawOut)
      }
    })

    const rejected = new Counter({ name: 'blazedb_changes_rejected_total', help: 'Received changes refused (never applied), by reason', labelNames: ['reason'], registers })
    const onRejected = (e: Event): void => {
      const detail = (e as CustomEvent<{ count: number, error: { name: string } }>).detail
      rejected.inc({ reason: detail.error.name }, detail.count)
    }
    node.addEventListener('rejected', onRejected)
    this.#stops.push(() => { node.removeEventListener('rejected', onRejected) })
  }

  stop (): void {
    for (const stop of this.#stops.splice(0)) stop()
    this.registry.clear()
  }
}

/** libp2p's own metrics on `registry` (pass as BlazeNode's `libp2pMetrics`, then NodeMetrics on the same registry). */
export function libp2pMetrics (registry: Registry): ReturnType<typeof prometheusMetrics> {
  return prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true })
}
