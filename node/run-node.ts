/**
 * Running a node in the foreground on a data directory: open the database, start the mesh
 * node, the control API and, when asked, the metrics endpoint and the HTTP API; print
 * readiness as one JSON line; stop cleanly on SIGINT/SIGTERM — or when the process that
 * started it is gone (`npx blaze start &` then killing npx must not leave an orphan holding
 * the directory's lock).
 */
import { readFileSync } from 'node:fs'
import { open, type Database } from '../engine/index.ts'
import { BlazeNode } from './blaze-node.ts'
import { apiNode, ControlApi } from './control-api.ts'
import { savedBootstrap } from './bootstrap-file.ts'
import { HttpApi } from './http/api.ts'
import { TokenStore } from './http/tokens.ts'
import { Logger, type LogFormat, type LogLevel } from './log.ts'
import { Registry } from 'prom-client'
import { libp2pMetrics, NodeMetrics } from './metrics.ts'
import { MetricsServer } from './metrics-server.ts'

export interface RunOptions {
  data: string
  dbId?: string
  /** default: the addresses of the last run (same ports), else all interfaces on a free port */
  listen?: string[]
  bootstrap: string[]
  mdns: boolean
  /** run a circuit-relay server for the members (`blaze start --relay`) */
  relay?: boolean
  apiPort?: number
  /** serve /metrics and /health */
  metrics?: { host: string, port: number }
  /** serve the HTTP API (HTTPS with tls) */
  http?: { host: string, port: number, tls?: { certFile: string, keyFile: string } }
  log?: { level?: LogLevel, format?: LogFormat }
  /** extra text for humans after the ready line (stderr) */
  hint?: (db: Database, node: BlazeNode) => string
  /** ms between checks that the parent process is still there; default 1 s */
  parentCheckMs?: number
  /** the process that started this one (the CLI reads it first thing); default process.ppid now */
  parentPid?: number
}

export async function runNode (options: RunOptions): Promise<void> {
  // who started us, read before anything can take long: if it goes away, so do we
  const parent = options.parentPid ?? process.ppid
  const passphrase = process.env.BLAZE_PASSPHRASE
  const logger = new Logger(options.log ?? {})
  const db = await open({ path: options.data, ...(passphrase === undefined ? {} : { passphrase }), ...(options.dbId === undefined ? {} : { dbId: options.dbId }) })
  // addresses saved by `blaze join` (the member it paired with) are dialled too
  const bootstrap = [...new Set([...options.bootstrap, ...savedBootstrap(options.data)])]
  const registry = options.metrics === undefined ? undefined : new Registry()
  const node = await BlazeNode.start({
    db,
    ...(registry === undefined ? {} : { libp2pMetrics: libp2pMetrics(registry) }),
    dataDir: options.data,
    ...(options.listen === undefined || options.listen.length === 0 ? {} : { listen: options.listen }),
    bootstrap,
    mdns: options.mdns,
    relay: options.relay ?? false,
    log: logger.line
  })
  const control = await ControlApi.start(node, options.data, options.apiPort ?? 0)
  let metrics: NodeMetrics | undefined
  let metricsServer: MetricsServer | undefined
  let http: HttpApi | undefined
  let up = true
  if (options.metrics !== undefined) {
    metrics = new NodeMetrics({ db, node, ...(registry === undefined ? {} : { registry }) })
    metricsServer = await MetricsServer.start({ metrics, db, up: () => up, health: () => ({ peers: node.peers().length }), ...options.metrics })
  }
  if (options.http !== undefined) {
    const tls = options.http.tls === undefined ? undefined : { cert: readFileSync(options.http.tls.certFile), key: readFileSync(options.http.tls.keyFile) }
    http = await HttpApi.start({ db, tokens: new TokenStore(options.data), node: apiNode(node), host: options.http.host, port: options.http.port, ...(tls === undefined ? {} : { tls }) })
  }
  // signals are ours before the ready line goes out: a SIGTERM right after it must stop cleanly
  const stopped = new Promise<void>((resolve) => {
    let stopping = false
    const stop = (why: string): void => {
      if (stopping) return
      stopping = true
      clearInterval(watch)
      logger.info(`${why}: stopping`)
      resolve()
    }
    // started in the background through a wrapper (npx, npm start) that was then killed
    const watch = setInterval(() => { if (process.ppid !== parent) stop('the process that started this node is gone') }, options.parentCheckMs ?? 1000)
    watch.unref()
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGHUP', () => stop('SIGHUP'))
  })
  const ready = {
    status: 'ready',
    peerId: node.peerId,
    dbId: db.id,
    addresses: node.multiaddrs(),
    apiPort: control.info.port,
    ...(metricsServer === undefined ? {} : { metrics: `http://${hostOf(metricsServer.address)}/metrics` }),
    ...(http === undefined ? {} : { http: `${options.http?.tls === undefined ? 'http' : 'https'}://${hostOf(http.address)}/v1` })
  }
  process.stdout.write(JSON.stringify(ready) + '\n')
  if (options.hint !== undefined) process.stderr.write(options.hint(db, node) + '\n')
  // pairing a device through a relay (the Pi) uses this node's relayed address: say when it has one
  let relayed = new Set<string>()
  const sayRelayed = (): void => {
    const now = node.multiaddrs().filter((a) => a.includes('/p2p-circuit'))
    for (const a of now) if (!relayed.has(a)) logger.info(`reachable through a relay at ${a}`)
    relayed = new Set(now)
  }
  node.host.addEventListener('self:peer:update', sayRelayed)
  sayRelayed()

  await stopped
  up = false
  await http?.stop()
  await metricsServer?.stop()
  metrics?.stop()
  await control.stop()
  await node.stop()
  await db.close()
  logger.info('stopped')
}

function hostOf (a: { host: string, port: number }): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
}
