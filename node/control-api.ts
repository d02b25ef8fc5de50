/**
 * The local control API: HTTP on 127.0.0.1 only, every request carrying the bearer token
 * kept in `DIR/control.json` (mode 0600, with the port and pid). The CLI uses it while a
 * node runs on a data directory, so that `blaze put` replicates at once.
 *
 * | method | path      | body / query                | answer                                  |
 * |--------|-----------|-----------------------------|-----------------------------------------|
 * | GET    | /status   |                             | { peerId, dbId, peers, versionVector, stateHash, addresses, rejected, connections } |
 * | POST   | /put      | { collection, doc }         | { id }                                  |
 * | GET    | /get      | ?collection=&id=            | the document, or 404                    |
 * | POST   | /members  | { peerId, role }            | { ok: true }                            |
 * | POST   | /pair     | { role?, ttlMs? }           | NDJSON, streamed: { code, expiresAt, addresses }, then { joined, role } or { error, name, code }; closing the request closes the window |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../engine/data-dir.ts'
import { BlazeError } from '../engine/errors.ts'
import type { Role } from '../engine/index.ts'
import type { BlazeNode } from './blaze-node.ts'
import { isRelayed } from './relay.ts'

export interface ControlInfo { port: number, token: string, pid: number }

const MAX_BODY = 16 * 1024 * 1024
/** fetch (undici) gives up on a response body silent for 5 min; a pairing window lasts 10 by default */
const PAIR_KEEPALIVE_MS = 30_000

export function jsonReplacer (_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value
}

export function status (node: BlazeNode): Record<string, unknown> {
  return {
    peerId: node.peerId,
    dbId: node.db.id,
    peers: node.peers(),
    addresses: node.multiaddrs(),
    versionVector: node.db.versionVector(),
    stateHash: node.db.stateHash(),
    rejected: node.stats().rejected,
    // how each peer is reached: a relayed connection's address holds /p2p-circuit
    connections: node.host.getConnections().map((c) => ({ peer: c.remotePeer.toString(), address: c.remoteAddr.toString(), relayed: isRelayed(c) }))
  }
}

async function body (req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
    return parsed as Record<string, unknown>
  } catch {
    throw new HttpError(400, 'the body must be a JSON object')
  }
}

class HttpError extends Error {
  readonly status: number
  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

export class ControlApi {
  readonly info: ControlInfo
  private readonly server: Server
  private readonly file: string

  private constructor (server: Server, info: ControlInfo, file: string) {
    this.server = server
    this.info = info
    this.file = file
  }

  static async start (node: BlazeNode, dataDir: string, port = 0): Promise<ControlApi> {
    const token = randomBytes(32).toString('base64url')
    const expected = Buffer.from(`Bearer ${token}`)
    const server = createServer((req, res) => { void handle(node, expected, req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    const info = { port: typeof address === 'object' && address !== null ? address.port : port, token, pid: process.pid }
    const file = join(dataDir, 'control.json')
    writeFileAtomic(file, JSON.stringify(info) + '\n', 0o600)
    return new ControlApi(server, info, file)
  }

  async stop (): Promise<void> {
    try { unlinkSync(this.file) } catch {}
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

async function handle (node: BlazeNode, expected: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (code: number, value: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' })
    res.end(JSON.stringify(value, jsonReplacer))
  }
  try {
    const auth = Buffer.from(req.headers.authorization ?? '')
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) throw new HttpError(401, 'missing or wrong token; read it from control.json in the data directory')
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'GET' && url.pathname === '/status') return send(200, status(node))
    if (req.method === 'POST' && url.pathname === '/put') {
      const { collection, doc } = await body(req)
      if (typeof collection !== 'string' || typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HttpError(400, 'put needs { collection: string, doc: object }')
      return send(200, { id: await node.db.collection(collection).put(doc as Record<string, unknown>) })
    }
    if (req.method === 'GET' && url.pathname === '/get') {
      const doc = node.db.collection(url.searchParams.get('collection') ?? '').get(url.searchParams.get('id') ?? '')
      return doc === undefined ? send(404, { error: 'not found' }) : send(200, doc)
    }
    if (req.method === 'POST' && url.pathname === '/pair') return await pair(node, await body(req), res)
    if (req.method === 'POST' && url.pathname === '/members') {
      const { peerId, role } = await body(req)
      if (typeof peerId !== 'string' || typeof role !== 'string') throw new HttpError(400, 'members needs { peerId, role }')
      await node.db.members.grant(peerId, role as Role)
      return send(200, { ok: true })
    }
    throw new HttpError(404, `no such endpoint: ${req.method ?? ''} ${url.pathname}`)
  } catch (error) {
    if (error instanceof HttpError) return send(error.status, { error: error.message })
    if (error instanceof BlazeError) return send(400, { error: error.message, name: error.name, code: error.code })
    return send(500, { error: (error as Error).message })
  }
}

async function pair (node: BlazeNode, request: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const { role, ttlMs } = request
  if ((role !== undefined && typeof role !== 'string') || (ttlMs !== undefined && typeof ttlMs !== 'number')) throw new HttpError(400, 'pair takes { role?: "writer" | "reader" | "admin", ttlMs?: number }')
  const offer = node.pair({ ...(role === undefined ? {} : { role: role as 'writer' }), ...(ttlMs === undefined ? {} : { ttlMs }) })
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  res.write(JSON.stringify({ code: offer.code, expiresAt: offer.expiresAt, addresses: offer.addresses }) + '\n')
  // the CLI gave up (Ctrl-C): nobody can show the code any more, so close the window
  res.once('close', () => { if (!res.writableFinished) offer.cancel() })
  // an empty line now and then, so no idle timeout between client and server ends a long window
  const keepAlive = setInterval(() => { res.write('\n') }, PAIR_KEEPALIVE_MS)
  try {
    const joined = await offer.joined
    res.end(JSON.stringify({ joined: joined.peerId, role: joined.role }) + '\n')
  } catch (error) {
    const e = error as BlazeError
    res.end(JSON.stringify({ error: e.message, name: e.name, code: e.code }) + '\n')
  } finally {
    clearInterval(keepAlive)
  }
}

/** Calls a control API endpoint that answers with NDJSON lines, one callback per line. */
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

/** Calls the control API; throws an Error with the server's message on a non-2xx answer. */
export async function callApi (info: ControlInfo, method: 'GET' | 'POST', path: string, payload?: unknown): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${info.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) })
  })
  return { status: res.status, body: await res.json() as unknown }
}
