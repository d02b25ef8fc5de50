import assert from 'node:assert/strict'
// @ts-expect-error: the parser ships no types; it returns [{ name, help, type, metrics: [{ value?, labels?, buckets?, count? }] }]
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { readFileSync } from 'node:fs'
import type { Database } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { converged } from '../wait.ts'
import { NodeMetrics } from '../../node/metrics.ts'
import { MetricsServer, parseHostPort } from '../../node/metrics-server.ts'
import { FaultyStore } from '../engine/faulty-store.ts'
import { trackedDatabases } from '../engine/helpers.ts'

interface Family { name: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string>, count?: string, buckets?: Record<string, string> }> }

async function scrape (server: MetricsServer): Promise<Map<string, Family> & { text: string }> {
  const { host, port } = server.address
  const res = await fetch(`http://${host}:${port}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
  const text = await res.text()
  const families = (parsePrometheusTextFormat as (text: string) => Family[])(text)
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text })
}

/** A histogram's count for one label set (the parser keeps no labels on histograms: read the sample line). */
function histogramCount (m: { text: string }, name: string, label: string): number {
  const line = m.text.split('\n').find((l) => l.startsWith(`${name}_count{${label}}`))
  assert.ok(line !== undefined, `no ${name}_count{${label}}`)
  return Number(line.split(' ').pop())
}

function value (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  assert.ok(family !== undefined, `no metric ${name}`)
  const m = family.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))
  assert.ok(m !== undefined, `no ${name}${JSON.stringify(labels)}`)
  return Number(m.value ?? m.count)
}

describe('metrics: /metrics and /health of a database', () => {
  const db = trackedDatabases()
  const servers: MetricsServer[] = []
  const metricsList: NodeMetrics[] = []
  afterEach(async () => {
    for (const m of metricsList.splice(0)) m.stop()
    await Promise.all(servers.splice(0).map(async (s) => { await s.stop() }))
  })

  async function serve (d: Database): Promise<MetricsServer> {
    const metrics = new NodeMetrics({ db: d })
    metricsList.push(metrics)
    const server = await MetricsServer.start({ metrics, db: d, up: () => true, host: '127.0.0.1', port: 0 })
    servers.push(server)
    return server
  }

  it('serves changes by origin, write and query latency, the log and process metrics, parseable as Prometheus text', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    const server = await serve(b)
    await b.applyChanges(a.changesSince(b.versionVector()))
    for (let i = 0; i < 3; i++) await b.collection('bugs').insert({ title: `bug ${i}` })
    b.collection('bugs').find({ title: 'bug 1' })
    b.collection('bugs').aggregate({ aggregates: { n: { count: true } } })
    const m = await scrape(server)
    assert.equal(value(m, 'blazedb_changes_applied_total', { origin: 'local' }), 3)
    assert.equal(value(m, 'blazedb_changes_applied_total', { origin: 'remote' }), 2)
    assert.equal(value(m, 'blazedb_ops_applied_total', { origin: 'local' }), 3)
    assert.equal(m.get('blazedb_write_duration_seconds')!.type, 'HISTOGRAM')
    assert.equal(histogramCount(m, 'blazedb_write_duration_seconds', 'outcome="ok"'), 3)
    assert.equal(histogramCount(m, 'blazedb_query_duration_seconds', 'kind="find"'), 1)
    assert.equal(histogramCount(m, 'blazedb_query_duration_seconds', 'kind="aggregate"'), 1)
    assert.equal(value(m, 'blazedb_log_entries'), 5)
    assert.ok(value(m, 'blazedb_log_bytes') > 0)
    assert.equal(value(m, 'blazedb_changes_held'), 0)
    assert.ok(value(m, 'process_resident_memory_bytes') > 0)
  })

  it('/health is 200 while the store takes writes, 503 with the reason when it does not', async () => {
    let store: FaultyStore | undefined
    const d = await db({ wrapStore: (s) => (store = new FaultyStore(s)) })
    const server = await serve(d)
    const url = `http://127.0.0.1:${server.address.port}/health`
    const ok = await fetch(url)
    assert.equal(ok.status, 200)
    assert.equal(((await ok.json()) as { status: string }).status, 'ok')
    store!.failCommits = 1
    const down = await fetch(url)
    assert.equal(down.status, 503)
    assert.match(((await down.json()) as { reason: string }).reason, /disk full/)
    assert.equal((await fetch(url)).status, 200)
    assert.equal((await fetch(`http://127.0.0.1:${server.address.port}/nope`)).status, 404)
  })

  it('parses HOST:PORT and PORT, and refuses anything else with a typed error', () => {
    assert.deepEqual(parseHostPort('9464', '--metrics'), { host: '127.0.0.1', port: 9464 })
    assert.deepEqual(parseHostPort('0.0.0.0:9464', '--metrics'), { host: '0.0.0.0', port: 9464 })
    assert.deepEqual(parseHostPort('[::1]:9464', '--metrics'), { host: '::1', port: 9464 })
    assert.throws(() => parseHostPort('localhost', '--metrics'), { name: 'InvalidArgumentError' })
    assert.throws(() => parseHostPort('1:99999', '--metrics'), { name: 'InvalidArgumentError' })
  })
})

describe('metrics of a real node syncing over TCP', function () {
  this.timeout(60_000)
  const db = trackedDatabases()

  it('counts remote changes, peers, per-peer lag and change bytes before and after compression; the dashboard uses only metrics that exist', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    const na = await BlazeNode.start({ db: a, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const nb = await BlazeNode.start({ db: b, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, bootstrap: na.multiaddrs() })
    const metrics = new NodeMetrics({ db: b, node: nb })
    const server = await MetricsServer.start({ metrics, db: b, up: () => true, host: '127.0.0.1', port: 0 })
    try {
      // compressible batches, so wire < raw
      await Promise.all(Array.from({ length: 200 }, async (_, i) => await a.collection('bugs').insert({ title: `the same words again and again ${i}`, body: 'lorem ipsum '.repeat(20) })))
      await converged([a, b], 20_000)
      const m = await scrape(server)
      assert.ok(value(m, 'blazedb_changes_applied_total', { origin: 'remote' }) >= 200)
      assert.equal(value(m, 'blazedb_peers_connected'), 1)
      assert.equal(value(m, 'blazedb_sync_lag_changes', { peer: na.peerId }), 0)
      const wire = value(m, 'blazedb_sync_change_bytes_total', { direction: 'in', encoding: 'wire' })
      const raw = value(m, 'blazedb_sync_change_bytes_total', { direction: 'in', encoding: 'raw' })
      assert.ok(wire > 0 && raw > wire, `wire ${wire}, raw ${raw}`)
      assert.ok(value(m, 'blazedb_sync_bytes_total', { direction: 'in' }) >= wire)
      // every blazedb_ metric the Grafana dashboard charts is served
      const dashboard = readFileSync(new URL('../../examples/grafana/blazedb-dashboard.json', import.meta.url), 'utf8')
      for (const name of new Set(dashboard.match(/blazedb_[a-z_]+/g))) {
        const base = name.replace(/_(bucket|sum|count)$/, '')
        assert.ok(m.has(base), `the dashboard charts ${name}, which the node does not serve`)
      }
    } finally {
      await server.stop()
      metrics.stop()
      await nb.stop()
      await na.stop()
    }
  })
})
