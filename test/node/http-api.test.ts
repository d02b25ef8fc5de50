import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import type { Database } from '../../engine/index.ts'
import { HttpApi } from '../../node/http/api.ts'
import { TokenStore } from '../../node/http/tokens.ts'
import { tempDir, trackedDatabases } from '../engine/helpers.ts'

interface Answer { status: number, body: Record<string, unknown> }

describe('HTTP API', () => {
  const db = trackedDatabases()
  let dir: { path: string, cleanup: () => void }
  let api: HttpApi
  let base: string
  let database: Database
  let reader: string
  let writer: string
  let tokens: TokenStore

  beforeEach(async () => {
    dir = tempDir()
    database = await db()
    tokens = new TokenStore(dir.path)
    reader = tokens.create('reader').token
    writer = tokens.create('writer').token
    api = await HttpApi.start({ db: database, tokens, host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, heartbeatMs: 50 })
    base = `http://127.0.0.1:${api.address.port}`
  })
  afterEach(async () => {
    await api.stop()
    dir.cleanup()
  })

  async function call (method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  it('inserts, reads, patches, deletes, queries with cursors, aggregates and searches', async () => {
    const created = await call('POST', '/v1/collections/bugs/documents', writer, { title: 'crash on sync', status: 'open', votes: 3, tags: { a: 1, b: 2 } })
    assert.equal(created.status, 201)
    const id = created.body.id as string
    assert.deepEqual((await call('GET', `/v1/collections/bugs/documents/${id}`, reader)).body, { id, title: 'crash on sync', status: 'open', votes: 3, tags: { a: 1, b: 2 } })
    assert.equal((await call('PATCH', `/v1/collections/bugs/documents/${id}`, writer, { status: 'closed', tags: { a: null } })).status, 200)
    assert.deepEqual((await call('GET', `/v1/collections/bugs/documents/${id}`, reader)).body, { id, title: 'crash on sync', status: 'closed', votes: 3, tags: { b: 2 } })
    for (let i = 0; i < 5; i++) await call('POST', '/v1/collections/bugs/documents', writer, { id: `b${i}`, title: `bug number ${i}`, status: 'open', votes: i })
    const first = await call('POST', '/v1/collections/bugs/query', reader, { filter: { status: 'open' }, sort: ['votes'], limit: 3, select: ['votes'] })
    assert.deepEqual(first.body.documents, [{ id: 'b0', votes: 0 }, { id: 'b1', votes: 1 }, { id: 'b2', votes: 2 }])
    const second = await call('POST', '/v1/collections/bugs/query', reader, { filter: { status: 'open' }, sort: ['votes'], limit: 3, select: ['votes'], after: first.body.next })
    assert.deepEqual(second.body.documents, [{ id: 'b3', votes: 3 }, { id: 'b4', votes: 4 }])
    assert.equal(second.body.next, undefined)
    const rows = await call('POST', '/v1/collections/bugs/aggregate', reader, { groupBy: 'status', aggregates: { n: { count: true }, votes: { sum: 'votes' } } })
    assert.deepEqual(rows.body.rows, [{ status: 'closed', n: 1, votes: 3 }, { status: 'open', n: 5, votes: 10 }])
    const found = await call('POST', '/v1/collections/bugs/search', reader, { query: 'crash', fields: ['title'] })
    assert.deepEqual((found.body.hits as Array<{ document: { id: string } }>).map((h) => h.document.id), [id])
    assert.deepEqual((await call('DELETE', `/v1/collections/bugs/documents/${id}`, writer)).body, { deleted: true })
    assert.equal((await call('GET', `/v1/collections/bugs/documents/${id}`, reader)).status, 404)
    const status = await call('GET', '/v1/status', reader)
    assert.equal(status.body.dbId, database.id)
    assert.equal((status.body.log as { entries: number }).entries, 9)
    // what the API wrote is in the database, as a local write
    assert.equal(database.collection('bugs').count(), 5)
  })

  it('refuses bad input with a JSON error, a 4xx status and the code, and loses nothing', async () => {
    await call('POST', '/v1/collections/bugs/documents', writer, { id: 'keep', title: 'kept' })
    const cases: Array<[Promise<Answer>, number, string]> = [
      [call('POST', '/v1/collections/bugs/documents', writer, '{"title": '), 400, 'ERR_MALFORMED_JSON'],
      [call('POST', '/v1/collections/bugs/documents', writer, '[1,2]'), 400, 'ERR_MALFORMED_JSON'],
      [call('POST', '/v1/collections/bugs/query', reader, { filter: { votes: { between: 1 } } }), 400, 'ERR_QUERY'],
      [call('POST', '/v1/collections/bugs/documents', writer, { big: 'x'.repeat(70 * 1024) }), 413, 'ERR_BODY_TOO_LARGE'],
      [call('GET', '/v1/status', undefined), 401, 'ERR_UNAUTHORIZED'],
      [call('GET', '/v1/status', 'blz_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 401, 'ERR_UNAUTHORIZED'],
      [call('POST', '/v1/collections/bugs/documents', reader, { title: 'no' }), 403, 'ERR_FORBIDDEN'],
      [call('GET', '/v1/nothing', reader), 404, 'ERR_NO_ROUTE'],
      [call('PUT', '/v1/collections/bugs/query', writer, {}), 405, 'ERR_METHOD_NOT_ALLOWED'],
      [call('POST', '/v1/collections/bugs/documents', writer, { id: 'keep' }), 409, 'ERR_ALREADY_EXISTS'],
      [call('PATCH', '/v1/collections/bugs/documents/missing', writer, { a: 1 }), 404, 'ERR_NOT_FOUND'],
      [call('POST', '/v1/collections/bugs/search', reader, { limit: 3 }), 400, 'ERR_INVALID_ARGUMENT']
    ]
    for (const [answer, status, code] of cases) {
      const a = await answer
      assert.equal(a.status, status, JSON.stringify(a.body))
      assert.equal(a.body.code, code)
      assert.equal(typeof a.body.error, 'string')
      assert.doesNotMatch(a.body.error as string, /\n\s+at /)
    }
    assert.deepEqual(database.collection('bugs').get('keep'), { id: 'keep', title: 'kept' })
    assert.equal(database.collection('bugs').count(), 1)
  })

  it('a revoked token is refused at once; the OpenAPI document needs none', async () => {
    const t = tokens.create('reader')
    assert.equal((await call('GET', '/v1/status', t.token)).status, 200)
    new TokenStore(dir.path).revoke(t.id)
    assert.equal((await call('GET', '/v1/status', t.token)).status, 401)
    const doc = await fetch(`${base}/v1/openapi.json`)
    assert.equal(doc.status, 200)
    const spec = await doc.json() as { openapi: string, paths: Record<string, unknown> }
    assert.equal(spec.openapi, '3.1.0')
    assert.ok('/v1/collections/{c}/live' in spec.paths)
    // tokens are stored hashed, never in the clear
    assert.doesNotMatch(readFileSync(join(dir.path, 'tokens.json'), 'utf8'), new RegExp(writer.slice(14)))
  })

  it('streams a live query as Server-Sent Events: the results now and after each change', async () => {
    await call('POST', '/v1/collections/bugs/documents', writer, { id: 'a', status: 'open' })
    const controller = new AbortController()
    const res = await fetch(`${base}/v1/collections/bugs/live?filter=${encodeURIComponent(JSON.stringify({ status: 'open' }))}`, { headers: { authorization: `Bearer ${reader}` }, signal: controller.signal })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/)
    const reader_ = res.body!.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    const nextResult = async (): Promise<string[]> => {
      const bound = AbortSignal.timeout(10_000)
      for (;;) {
        const event = /event: result\ndata: (.*)\n\n/.exec(buffer)
        if (event !== null) {
          buffer = buffer.slice(event.index + event[0].length)
          return (JSON.parse(event[1]!) as { documents: Array<{ id: string }> }).documents.map((d) => d.id)
        }
        if (bound.aborted) throw new Error('no live result within 10 s')
        const { value, done } = await reader_.read()
        if (done === true) throw new Error('the stream ended')
        buffer += decoder.decode(value, { stream: true })
      }
    }
    assert.deepEqual(await nextResult(), ['a'])
    await call('POST', '/v1/collections/bugs/documents', writer, { id: 'b', status: 'open' })
    assert.deepEqual(await nextResult(), ['a', 'b'])
    await call('PATCH', '/v1/collections/bugs/documents/a', writer, { status: 'closed' })
    assert.deepEqual(await nextResult(), ['b'])
    controller.abort()
    const bad = await fetch(`${base}/v1/collections/bugs/live?filter=nope`, { headers: { authorization: `Bearer ${reader}` } })
    assert.equal(bad.status, 400)
  })

  it('serves HTTPS with a certificate and key', async function () {
    const certs = tempDir()
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certs.path, 'key.pem'), '-out', join(certs.path, 'cert.pem')], { stdio: 'ignore' })
      const cert = readFileSync(join(certs.path, 'cert.pem'))
      const secure = await HttpApi.start({ db: database, tokens, host: '127.0.0.1', port: 0, tls: { cert, key: readFileSync(join(certs.path, 'key.pem')) } })
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port: secure.address.port, path: '/v1/status', ca: cert, headers: { authorization: `Bearer ${reader}` } }, (res) => {
            let text = ''
            res.on('data', (d: Buffer) => { text += d.toString() })
            res.on('end', () => resolve(text))
          })
          req.on('error', reject)
          req.end()
        })
        assert.equal((JSON.parse(body) as { dbId: string }).dbId, database.id)
      } finally {
        await secure.stop()
      }
    } finally {
      certs.cleanup()
    }
  })
})
