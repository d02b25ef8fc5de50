/**
 * The HTTP API: the database, reachable from anywhere the node's HTTP port is (HTTPS with a
 * certificate), for clients that are not members — a web page, a script, a phone without a
 * replica. Every request but the OpenAPI document carries a bearer token (tokens.ts); a
 * reader token may read, a writer token may also write.
 *
 * | method | path                                   | body                                   | answer |
 * |--------|----------------------------------------|----------------------------------------|--------|
 * | POST   | /v1/collections/{c}/documents          | the document                           | 201 { id } |
 * | GET    | /v1/collections/{c}/documents/{id}     |                                        | the document, or 404 |
 * | PUT    | /v1/collections/{c}/documents/{id}     | the whole document                     | { id } (inserted or replaced) |
 * | PATCH  | /v1/collections/{c}/documents/{id}     | a patch (fields to set; null removes)  | { id } |
 * | DELETE | /v1/collections/{c}/documents/{id}     |                                        | { deleted } |
 * | POST   | /v1/collections/{c}/query              | { filter, sort, limit, after, select } | { documents, next? } |
 * | POST   | /v1/collections/{c}/aggregate          | { groupBy?, aggregates, filter?, … }   | { rows } |
 * | POST   | /v1/collections/{c}/search             | { query, limit?, filter?, fields? }    | { hits: [{ document, score }] } |
 * | GET    | /v1/collections/{c}/live?filter=&sort=&limit= | (Server-Sent Events)            | `event: result` with { documents } on every change of the results |
 * | GET    | /v1/status[?stateHash=true]            |                                        | { dbId, peerId, versionVector, log, peers… } |
 * | GET    | /v1/members                            |                                        | { members: [{ peerId, role }] } |
 * | GET    | /v1/peers                              |                                        | { peers } (a node only) |
 * | POST   | /v1/members                            | { peerId, role } (admin)               | { peerId, role } |
 * | DELETE | /v1/members/{peerId}                   | (admin)                                | { peerId, revoked: true } |
 * | POST   | /v1/indexes                            | { collection, fields, name? } (admin)  | { collection, name, fields } |
 * | POST   | /v1/backup                             | { file } (admin; a path on the node)   | { file, entries, bytes } |
 * | POST   | /v1/pair                               | { role?, ttlMs? } (admin; a node only) | NDJSON: { code, expiresAt, addresses }, then { joined, role } or { error, code } |
 * | GET    | /v1/openapi.json                       |                                        | the OpenAPI 3.1 document (no token needed) |
 *
 * Admin routes take an admin token: the CLI's own (control.json), or one from `blaze token
 * create --role admin`.
 *
 * Errors are JSON `{ error, code }` with a 4xx status (the engine's error code where the
 * engine refused), never a stack trace: malformed JSON 400, a filter the engine refuses 400,
 * a missing or wrong token 401, a reader writing 403, an unknown route or document 404, a
 * wrong method 405, an existing id 409, a body over the limit 413.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { BlazeError, type Database, type Filter, type Role } from '../../engine/index.ts'
import { jsonReplacer } from './json.ts'
import { openApiDocument } from './openapi.ts'
import type { TokenRole, TokenStore } from './tokens.ts'
import { timingSafeEqual } from 'node:crypto'

/** What the API uses of a running mesh node, when there is one. */
export interface ApiNode {
  peers: () => string[]
  /** extra status fields: addresses, connections, rejected… */
  status: () => Record<string, unknown>
  pair: (options: { role?: 'writer' | 'reader' | 'admin', ttlMs?: number }) => { code: string, expiresAt: number, addresses: string[], joined: Promise<{ peerId: string, role: string }>, cancel: () => void }
}

export interface HttpApiOptions {
  db: Database
  tokens: TokenStore
  /** tokens held elsewhere (the CLI's control token), checked besides the stored ones */
  extraTokens?: Array<{ token: string, role: TokenRole }>
  /** the mesh node, for peers, status and pairing */
  node?: ApiNode
  host: string
  port: number
  /** PEM certificate and key: serve HTTPS */
  tls?: { cert: string | Buffer, key: string | Buffer }
  /** largest request body; default 5 MiB (a document may be up to the engine's 4 MiB change limit) */
  maxBodyBytes?: number
  /** ms between keep-alive comments on live streams; default 15 s */
  heartbeatMs?: number
}

/** An error answered with a status and a stable code. */
export class HttpError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
  }
}

/** Engine error names → HTTP status; anything else the engine throws is a 400 (it refused the input). */
const STATUS_OF: Record<string, number> = {
  NotFoundError: 404,
  AlreadyExistsError: 409,
  LimitExceededError: 413,
  ForbiddenError: 403,
  NotAMemberError: 403,
  DatabaseClosedError: 503
}

type Handler = (ctx: Context) => Promise<unknown> | unknown
type Need = 'read' | 'write' | 'admin'
interface Route { method: string, pattern: RegExp, need: Need, handler: Handler }
interface Context { req: IncomingMessage, res: ServerResponse, params: string[], query: URLSearchParams, body: () => Promise<Record<string, unknown>>, token: { id: string, role: TokenRole }, api: HttpApi }

export class HttpApi {
  readonly #server: Server
  readonly #live = new Set<() => void>()
  private constructor (server: Server) { this.#server = server }

  static async start (options: HttpApiOptions): Promise<HttpApi> {
    const routes = routesFor(options)
    let api: HttpApi | undefined
    const handle = (req: IncomingMessage, res: ServerResponse): void => { void serve(options, routes, req, res, api!) }
    const server = options.tls === undefined ? createServer(handle) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handle)
    api = new HttpApi(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
    })
    return api
  }

  get address (): { host: string, port: number } {
    const a = this.#server.address() as AddressInfo
    return { host: a.address, port: a.port }
  }

  /** @internal a live stream registers how to end it */
  track (end: () => void): () => void {
    this.#live.add(end)
    return () => { this.#live.delete(end) }
  }

  async stop (): Promise<void> {
    for (const end of [...this.#live]) end()
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

function routesFor (options: HttpApiOptions): Route[] {
  const { db } = options
  const doc = /^\/v1\/collections\/([^/]+)\/documents\/([^/]+)$/
  const col = (what: string): RegExp => new RegExp(`^/v1/collections/([^/]+)/${what}$`)
  const collection = (ctx: Context): ReturnType<Database['collection']> => db.collection(ctx.params[0]!)
  return [
    {
      method: 'GET', pattern: /^\/v1\/status$/, need: 'read', handler: (ctx) => ({
        dbId: db.id,
        peerId: db.peerId,
        versionVector: db.versionVector(),
        log: { ...db.logStats(), horizon: db.horizon() },
        ...(ctx.query.get('stateHash') === 'true' ? { stateHash: db.stateHash() } : {}),
        ...options.node?.status()
      })
    },
    { method: 'GET', pattern: /^\/v1\/members$/, need: 'read', handler: () => ({ members: db.members.list() }) },
    {
      method: 'POST', pattern: /^\/v1\/members$/, need: 'admin', handler: async (ctx) => {
        const { peerId, role } = await ctx.body()
        if (typeof peerId !== 'string' || typeof role !== 'string') throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'members takes { "peerId": "12D3KooW…", "role": "writer" | "reader" | "admin" }')
        await db.members.grant(peerId, role as Role)
        return { peerId, role }
      }
    },
    {
      method: 'DELETE', pattern: /^\/v1\/members\/([^/]+)$/, need: 'admin', handler: async (ctx) => {
        const peerId = ctx.params[0]!
        if (db.members.roleOf(peerId) === null) throw new HttpError(404, 'ERR_NOT_FOUND', `${peerId} is not a member; \`blaze members list\` shows who is`)
        await db.members.revoke(peerId)
        return { peerId, revoked: true }
      }
    },
    { method: 'GET', pattern: /^\/v1\/peers$/, need: 'read', handler: () => ({ peers: nodeOf(options).peers() }) },
    {
      method: 'POST', pattern: /^\/v1\/indexes$/, need: 'admin', handler: async (ctx) => {
        const { collection: c, fields, name } = await ctx.body()
        if (typeof c !== 'string' || !(typeof fields === 'string' || Array.isArray(fields))) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'indexes takes { "collection": "bugs", "fields": ["status"] }')
        await db.collection(c).createIndex(fields as string[], typeof name === 'string' ? { name } : {})
        const list = typeof fields === 'string' ? [fields] : fields as string[]
        return { collection: c, name: typeof name === 'string' ? name : list.join('+'), fields: list }
      }
    },
    {
      method: 'POST', pattern: /^\/v1\/backup$/, need: 'admin', handler: async (ctx) => {
        const { file } = await ctx.body()
        if (typeof file !== 'string' || file === '') throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'backup takes { "file": "/path/on/the/node/backup.bzb" }')
        return { file, ...await db.backup(file) }
      }
    },
    { method: 'POST', pattern: /^\/v1\/pair$/, need: 'admin', handler: async (ctx) => { await pair(ctx, nodeOf(options)); return STREAMED } },
    {
      method: 'POST', pattern: col('documents'), need: 'write', handler: async (ctx) => {
        const id = await collection(ctx).insert(await ctx.body())
        ctx.res.statusCode = 201
        return { id }
      }
    },
    {
      method: 'GET', pattern: doc, need: 'read', handler: (ctx) => {
        const found = collection(ctx).get(ctx.params[1]!)
        if (found === undefined) throw new HttpError(404, 'ERR_NOT_FOUND', `${ctx.params[0]!}/${ctx.params[1]!} does not exist`)
        return found
      }
    },
    {
      method: 'PUT', pattern: doc, need: 'write', handler: async (ctx) => {
        const body = await ctx.body()
        if (body.id !== undefined && body.id !== ctx.params[1]) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `the document's id ${JSON.stringify(body.id)} is not the one in the path (${ctx.params[1]!})`)
        return { id: await collection(ctx).put({ ...body, id: ctx.params[1]! }) }
      }
    },
    {
      method: 'PATCH', pattern: doc, need: 'write', handler: async (ctx) => {
        const patch = await ctx.body()
        // JSON has no undefined: null removes a field, as in JSON Merge Patch
        await collection(ctx).update(ctx.params[1]!, nullsRemove(patch) as Record<string, unknown>)
        return { id: ctx.params[1]! }
      }
    },
    { method: 'DELETE', pattern: doc, need: 'write', handler: async (ctx) => ({ deleted: await collection(ctx).delete(ctx.params[1]!) }) },
    {
      method: 'POST', pattern: col('query'), need: 'read', handler: async (ctx) => {
        const spec = await ctx.body()
        const page = collection(ctx).findPage((spec.filter ?? {}) as Filter, pick(spec, ['sort', 'limit', 'after', 'select', 'offset']))
        return { documents: page.docs, ...(page.next === undefined ? {} : { next: page.next }) }
      }
    },
    { method: 'POST', pattern: col('aggregate'), need: 'read', handler: async (ctx) => ({ rows: collection(ctx).aggregate(await ctx.body() as never) }) },
    {
      method: 'POST', pattern: col('search'), need: 'read', handler: async (ctx) => {
        const body = await ctx.body()
        if (typeof body.query !== 'string') throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'search needs { "query": "words to find" }')
        const hits = collection(ctx).search(body.query, pick(body, ['limit', 'filter', 'prefix', 'index', 'fields']))
        return { hits: hits.map((h) => ({ document: h.doc, score: h.score })) }
      }
    },
    { method: 'GET', pattern: col('live'), need: 'read', handler: (ctx) => { live(ctx, options); return STREAMED } }
  ]
}

/** a handler that wrote its own answer */
const STREAMED = Symbol('streamed')

function nodeOf (options: HttpApiOptions): ApiNode {
  if (options.node === undefined) throw new HttpError(404, 'ERR_NO_NODE', 'this API serves a database without a mesh node; run it with `blaze start`')
  return options.node
}

const PAIR_KEEPALIVE_MS = 30_000

/** Pairing, as NDJSON: the code at once, then who joined (or why nobody did). */
async function pair (ctx: Context, node: ApiNode): Promise<void> {
  const { role, ttlMs } = await ctx.body()
  if ((role !== undefined && typeof role !== 'string') || (ttlMs !== undefined && typeof ttlMs !== 'number')) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', 'pair takes { "role"?: "writer" | "reader" | "admin", "ttlMs"?: number }')
  const offer = node.pair({ ...(role === undefined ? {} : { role: role as 'writer' }), ...(ttlMs === undefined ? {} : { ttlMs }) })
  const { res } = ctx
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  res.write(JSON.stringify({ code: offer.code, expiresAt: offer.expiresAt, addresses: offer.addresses }) + '\n')
  // the client gave up (Ctrl-C): nobody can show the code any more, so close the window
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

async function serve (options: HttpApiOptions, routes: Route[], req: IncomingMessage, res: ServerResponse, api: HttpApi): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/v1/openapi.json' && req.method === 'GET') return send(res, 200, openApiDocument())
    const matching = routes.filter((r) => r.pattern.test(url.pathname))
    if (matching.length === 0) throw new HttpError(404, 'ERR_NO_ROUTE', `no route ${req.method ?? ''} ${url.pathname}; the routes are listed in /v1/openapi.json`)
    const route = matching.find((r) => r.method === req.method)
    if (route === undefined) {
      res.setHeader('allow', matching.map((r) => r.method).join(', '))
      throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${url.pathname} takes ${matching.map((r) => r.method).join(' or ')}, not ${req.method ?? ''}`)
    }
    const token = authorize(options, req, route.need)
    const params = route.pattern.exec(url.pathname)!.slice(1).map((p) => decodeURIComponent(p))
    const ctx: Context = { req, res, params, query: url.searchParams, token, api, body: async () => await readBody(req, options.maxBodyBytes ?? 5 * 1024 * 1024) }
    const result = await route.handler(ctx)
    if (result === STREAMED) return
    send(res, res.statusCode, result)
  } catch (error) {
    if (res.headersSent) { res.destroy(); return }
    const { status, code, message } = describeError(error)
    send(res, status, { error: message, code })
  }
}

const RANK: Record<TokenRole, number> = { reader: 0, writer: 1, admin: 2 }
const NEEDS: Record<Need, TokenRole> = { read: 'reader', write: 'writer', admin: 'admin' }

function authorize (options: HttpApiOptions, req: IncomingMessage, need: Need): { id: string, role: TokenRole } {
  const header = req.headers.authorization
  if (header === undefined || !header.startsWith('Bearer ')) {
    throw new HttpError(401, 'ERR_UNAUTHORIZED', 'send the header "Authorization: Bearer TOKEN"; create a token on the node with `blaze token create --data DIR --role reader`')
  }
  const presented = header.slice(7).trim()
  const extra = options.extraTokens?.find((t) => t.token.length === presented.length && timingSafeEqual(Buffer.from(t.token), Buffer.from(presented)))
  const record = extra === undefined ? options.tokens.verify(presented) : { id: 'control', role: extra.role }
  if (record === undefined) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'this token is unknown or revoked; create one with `blaze token create --data DIR --role reader`')
  const wanted = NEEDS[need]
  if (RANK[record.role] < RANK[wanted]) throw new HttpError(403, 'ERR_FORBIDDEN', `token ${record.id} is a ${record.role} token and may not do this; it needs a ${wanted} token (\`blaze token create --data DIR --role ${wanted}\`)`)
  return record
}

function describeError (error: unknown): { status: number, code: string, message: string } {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message }
  if (error instanceof BlazeError) return { status: STATUS_OF[error.name] ?? 400, code: error.code, message: error.message }
  return { status: 500, code: 'ERR_INTERNAL', message: 'the node failed to answer this request; its log says why' }
}

async function readBody (req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `the body is ${declared} bytes, above the limit of ${limit}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `the body is over the limit of ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, 'ERR_MALFORMED_JSON', `the body is not valid JSON (${(error as Error).message}); send a JSON object`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'ERR_MALFORMED_JSON', 'the body must be a JSON object')
  return parsed as Record<string, unknown>
}

function send (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, jsonReplacer)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function pick (from: Record<string, unknown>, keys: string[]): Record<string, never> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k]
  return out as Record<string, never>
}

function nullsRemove (v: unknown): unknown {
  if (v === null) return undefined
  if (typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = nullsRemove(x)
    return out
  }
  return v
}

/** Server-Sent Events of a live query: the results now, and again whenever they change. */
function live (ctx: Context, options: HttpApiOptions): void {
  const parse = (name: string): unknown => {
    const raw = ctx.query.get(name)
    if (raw === null) return undefined
    try {
      return JSON.parse(raw)
    } catch {
      throw new HttpError(400, 'ERR_MALFORMED_JSON', `the query parameter ${name} must be JSON, e.g. ?filter={"status":"open"}`)
    }
  }
  const filter = (parse('filter') ?? {}) as Filter
  const findOptions = pick({ sort: parse('sort'), limit: parse('limit'), select: parse('select') }, ['sort', 'limit', 'select'])
  const collection = options.db.collection(ctx.params[0]!)
  collection.find(filter, findOptions) // refuses a bad filter now, with a 400, before the stream starts
  const { res } = ctx
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
  res.write(': live query\n\n')
  const stopQuery = collection.live(filter, findOptions, (docs) => {
    res.write(`event: result\ndata: ${JSON.stringify({ documents: docs }, jsonReplacer)}\n\n`)
  })
  const heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, options.heartbeatMs ?? 15_000)
  heartbeat.unref()
  let untrack = (): void => {}
  const end = (): void => {
    clearInterval(heartbeat)
    stopQuery()
    untrack()
    res.end()
  }
  untrack = ctx.api.track(end)
  ctx.req.once('close', end)
}
