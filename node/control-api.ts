/**
 * The local control API: the HTTP API (node/http/api.ts) on 127.0.0.1, with a token of its
 * own (admin) kept in `DIR/control.json` (mode 0600, with the port and pid). The CLI uses it
 * while a node runs on a data directory, so that a `blaze put` replicates at once and
 * `blaze pair` can wait for a device. Tokens from `blaze token create` work here too.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../engine/data-dir.ts'
import type { BlazeNode } from './blaze-node.ts'
import { HttpApi, type ApiNode } from './http/api.ts'
import { TokenStore } from './http/tokens.ts'
import { isRelayed } from './relay.ts'

export interface ControlInfo { port: number, token: string, pid: number }

export { jsonReplacer } from './http/json.ts'

/** What the node adds to /v1/status. */
export function nodeStatus (node: BlazeNode): Record<string, unknown> {
  const stats = node.stats()
  return {
    peers: node.peers(),
    addresses: node.multiaddrs(),
    rejected: stats.rejected,
    // how each peer is reached: a relayed connection's address holds /p2p-circuit
    connections: node.host.getConnections().map((c) => ({ peer: c.remotePeer.toString(), address: c.remoteAddr.toString(), relayed: isRelayed(c) }))
  }
}

/** The node as the HTTP API sees it. */
export function apiNode (node: BlazeNode): ApiNode {
  return {
    peers: () => node.peers(),
    status: () => nodeStatus(node),
    pair: (options) => node.pair(options)
  }
}

export class ControlApi {
  readonly info: ControlInfo
  readonly #api: HttpApi
  readonly #file: string

  private constructor (api: HttpApi, info: ControlInfo, file: string) {
    this.#api = api
    this.info = info
    this.#file = file
  }

  static async start (node: BlazeNode, dataDir: string, port = 0): Promise<ControlApi> {
    const token = randomBytes(32).toString('base64url')
    const api = await HttpApi.start({ db: node.db, tokens: new TokenStore(dataDir), extraTokens: [{ token, role: 'admin' }], node: apiNode(node), host: '127.0.0.1', port })
    const info = { port: api.address.port, token, pid: process.pid }
    const file = join(dataDir, 'control.json')
    writeFileAtomic(file, JSON.stringify(info) + '\n', 0o600)
    return new ControlApi(api, info, file)
  }

  async stop (): Promise<void> {
    try { unlinkSync(this.#file) } catch {}
    await this.#api.stop()
  }
}

/** Calls a control API route that answers with NDJSON lines, one callback per line. */
export async function streamApi (info: ControlInfo, path: string, payload: unknown, onLine: (value: Record<string, unknown>) => void): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${info.port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload)
  })
  if (res.body === null) return res.status
  let buffered = ''
  const decoder = new TextDecoder()
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true })
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (line.trim() !== '') onLine(JSON.parse(line) as Record<string, unknown>)
    }
  }
  if (buffered.trim() !== '') onLine(JSON.parse(buffered) as Record<string, unknown>)
  return res.status
}

/** The control API of a node running on `dataDir`, if one is running. */
export function runningNode (dataDir: string): ControlInfo | undefined {
  const file = join(dataDir, 'control.json')
  if (!existsSync(file)) return undefined
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ControlInfo
    process.kill(info.pid, 0)
    return info
  } catch {
    return undefined
  }
}

/** Calls the control API: the status and the JSON body. */
export async function callApi (info: ControlInfo, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, payload?: unknown): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${info.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) })
  })
  return { status: res.status, body: await res.json() as unknown }
}
