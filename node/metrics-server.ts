/**
 * The metrics endpoint: `GET /metrics` (Prometheus text format) and `GET /health` (200 with
 * a JSON body while the store takes writes and the node runs, 503 with the reason otherwise)
 * on a local HTTP port (`blaze start --metrics HOST:PORT`).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidArgumentError, type Database } from '../engine/index.ts'
import type { NodeMetrics } from './metrics.ts'

export interface MetricsServerOptions {
  metrics: NodeMetrics
  db: Database
  /** whether the node is up (its host started, not stopping) */
  up: () => boolean
  /** extra fields for /health */
  health?: () => Record<string, unknown>
  host: string
  port: number
  /** bound on the health probe's write; default 5 s */
  probeTimeoutMs?: number
}

export class MetricsServer {
  readonly #server: Server
  private constructor (server: Server) { this.#server = server }

  static async start (options: MetricsServerOptions): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/health')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'not found: GET /metrics or GET /health', code: 'ERR_NOT_FOUND' }))
        return
      }
      if (path === '/metrics') {
        options.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': options.metrics.registry.contentType })
          res.end(text)
        }, (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' })
          res.end(`collecting metrics failed: ${String(error)}\n`)
        })
        return
      }
      void health(options).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
    })
    return new MetricsServer(server)
  }

  get address (): { host: string, port: number } {
    const a = this.#server.address() as AddressInfo
    return { host: a.address, port: a.port }
  }

  async stop (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

async function health (options: MetricsServerOptions): Promise<{ status: number, body: Record<string, unknown> }> {
  const extra = options.health?.() ?? {}
  if (!options.up()) return { status: 503, body: { status: 'down', reason: 'the node is not running', ...extra } }
  try {
    const probe = options.db.probe()
    const timeout = new Promise<never>((_resolve, reject) => {
      setTimeout(() => reject(new Error(`the store did not take a write within ${options.probeTimeoutMs ?? 5000} ms`)), options.probeTimeoutMs ?? 5000).unref()
    })
    await Promise.race([probe, timeout])
    return { status: 200, body: { status: 'ok', dbId: options.db.id, peerId: options.db.peerId, ...extra } }
  } catch (error) {
    return { status: 503, body: { status: 'unwritable', reason: (error as Error).message, ...extra } }
  }
}

/** Parses `HOST:PORT` or `PORT` (then 127.0.0.1). */
export function parseHostPort (value: string, what: string): { host: string, port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(value)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) throw new InvalidArgumentError(`${what} takes HOST:PORT or PORT (e.g. 127.0.0.1:9464 or 9464), got ${JSON.stringify(value)}`)
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port }
}
