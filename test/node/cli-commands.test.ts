import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { exited, runCommand } from '../engine/process.ts'
import { blaze, runBlaze, start } from './cli-helpers.ts'

const run = (args: string[], options: { input?: string, env?: Record<string, string> } = {}): ReturnType<typeof runBlaze> => runBlaze(args, options)

const lines = (s: string): unknown[] => s.trim() === '' ? [] : s.trim().split('\n').map((l) => JSON.parse(l) as unknown)

async function ok (args: string[], options: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(args, options)
  assert.equal(r.code, 0, `blaze ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** The same walk over the data commands, on the directory or through a running node. */
async function walk (data: string): Promise<void> {
  const env = { BLAZE_DATA: data }
  await ok(['put', 'bugs', '{"id":"b1","title":"crash on sync","status":"open","votes":3}'], { env })
  await ok(['put', 'bugs', '-'], { env, input: JSON.stringify({ id: 'b2', title: 'slow start', status: 'open', votes: 1 }) })
  const file = join(data, '..', `doc-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify({ id: 'b3', title: 'sync loses a field', status: 'closed', votes: 5, tags: { ui: true } }))
  await ok(['put', 'bugs', `@${file}`], { env })
  assert.deepEqual(lines(await ok(['find', 'bugs', '{"status":"open"}', '--sort', '-votes', '--select', 'votes'], { env })), [{ id: 'b1', votes: 3 }, { id: 'b2', votes: 1 }])
  assert.deepEqual(lines(await ok(['find', 'bugs', '--limit', '1', '--sort', 'votes'], { env })).map((d) => (d as { id: string }).id), ['b2'])
  assert.deepEqual(lines(await ok(['update', 'bugs', 'b3', '{"status":"open","tags":{"ui":null}}'], { env })), [{ id: 'b3' }])
  assert.deepEqual(JSON.parse(await ok(['get', 'bugs', 'b3'], { env })), { id: 'b3', title: 'sync loses a field', status: 'open', votes: 5, tags: {} })
  assert.deepEqual(lines(await ok(['aggregate', 'bugs', '{"groupBy":"status","aggregates":{"n":{"count":true}}}'], { env })), [{ status: 'open', n: 3 }])
  assert.deepEqual(lines(await ok(['search', 'bugs', 'sync', '--fields', 'title'], { env })).map((h) => (h as { document: { id: string } }).document.id).sort(), ['b1', 'b3'])
  assert.deepEqual(lines(await ok(['delete', 'bugs', 'b2'], { env })), [{ id: 'b2', deleted: true }])
  assert.deepEqual(lines(await ok(['delete', 'bugs', 'b2'], { env })), [{ id: 'b2', deleted: false }])
  assert.deepEqual(JSON.parse(await ok(['index', 'create', 'bugs', 'status'], { env })), { collection: 'bugs', name: 'status', fields: ['status'] })
  const bad = await run(['find', 'bugs', '{"votes":{"between":1}}'], { env })
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /ERR_QUERY/)
  const notJson = await run(['put', 'bugs', '{nope'], { env })
  assert.equal(notJson.code, 2)
  assert.match(notJson.stderr, /not valid JSON/)
}

describe('blaze CLI: the whole command set (real processes)', function () {
  this.timeout(180_000)
  let dir: { path: string, cleanup: () => void }
  beforeEach(() => { dir = tempDir() })
  afterEach(() => { dir.cleanup() })

  it('documents, queries, members, tokens, backup and restore on the directory, with $BLAZE_DATA, stdin and @file', async () => {
    const data = join(dir.path, 'laptop')
    const { peerId, dbId } = JSON.parse(await ok(['init', '--data', data])) as { peerId: string, dbId: string }
    assert.match(await ok(['--version']), /^\d+\.\d+\.\d+/)
    await walk(data)
    const env = { BLAZE_DATA: data }
    const phone = JSON.parse(await ok(['init', '--data', join(dir.path, 'phone'), '--db', dbId])) as { peerId: string }
    await ok(['members', 'add', phone.peerId, '--role', 'reader'], { env })
    const byPeer = (a: unknown, b: unknown): number => (a as { peerId: string }).peerId < (b as { peerId: string }).peerId ? -1 : 1
    assert.deepEqual(lines(await ok(['members', 'list'], { env })).sort(byPeer), [{ peerId, role: 'owner' }, { peerId: phone.peerId, role: 'reader' }].sort(byPeer))
    await ok(['members', 'remove', phone.peerId], { env })
    assert.deepEqual(lines(await ok(['members', 'list'], { env })), [{ peerId, role: 'owner' }])
    const notMember = await run(['members', 'remove', phone.peerId], { env })
    assert.equal(notMember.code, 1)
    const token = JSON.parse(await ok(['token', 'create', '--role', 'reader', '--name', 'dashboard'], { env })) as { id: string, token: string }
    assert.match(token.token, /^blz_/)
    assert.deepEqual((lines(await ok(['token', 'list'], { env })) as Array<{ id: string }>).map((t) => t.id), [token.id])
    assert.equal(readFileSync(join(data, 'tokens.json'), 'utf8').includes(token.token.slice(14)), false)
    await ok(['token', 'revoke', token.id], { env })
    assert.deepEqual(lines(await ok(['token', 'list'], { env })), [])
    const backup = join(dir.path, 'laptop.bzb')
    const status = JSON.parse(await ok(['status'], { env })) as { stateHash: string, log: { entries: number } }
    assert.ok(status.log.entries > 0)
    await ok(['backup', backup], { env })
    const restored = join(dir.path, 'restored')
    assert.equal((JSON.parse(await ok(['restore', backup, '--data', restored])) as { dbId: string }).dbId, dbId)
    assert.equal((JSON.parse(await ok(['status', '--data', restored])) as { stateHash: string }).stateHash, status.stateHash)
    const again = await run(['restore', backup, '--data', restored])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already holds a database/)
    const noDir = await run(['status'], { env: { BLAZE_DATA: '' } })
    assert.equal(noDir.code, 2)
    assert.match(noDir.stderr, /--data DIR or set \$BLAZE_DATA/)
  })

  it('the same commands through a running node, which also serves /metrics, /health and the HTTP API', async () => {
    const data = join(dir.path, 'node')
    await ok(['init', '--data', data])
    const token = (JSON.parse(await ok(['token', 'create', '--data', data, '--role', 'writer'])) as { token: string }).token
    const { child, ready } = await start(['--data', data, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-format', 'json'])
    try {
      await walk(data)
      const r = ready as unknown as { metrics: string, http: string }
      const metrics = await (await fetch(r.metrics)).text()
      assert.match(metrics, /^blazedb_changes_applied_total\{origin="local"\} \d+$/m)
      assert.match(metrics, /^blazedb_peers_connected 0$/m)
      // libp2p's own metrics are on the same endpoint
      assert.match(metrics, /^libp2p_/m)
      assert.equal((await fetch(r.metrics.replace('/metrics', '/health'))).status, 200)
      const created = await fetch(`${r.http}/collections/notes/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'n1', text: 'over http' }) })
      assert.equal(created.status, 201)
      assert.deepEqual(JSON.parse(await ok(['get', '--data', data, 'notes', 'n1'])), { id: 'n1', text: 'over http' })
      assert.deepEqual(lines(await ok(['peers', '--data', data])), [])
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })

  it('a node whose launcher is killed stops by itself and frees the directory', async () => {
    const data = join(dir.path, 'bg')
    await ok(['init', '--data', data])
    // a launcher like npx: a process that starts the node as its child and is then killed
    const launcher = spawn('/bin/sh', ['-c', `"${process.execPath}" "${blaze}" start --data "${data}" --no-mdns --listen /ip4/127.0.0.1/tcp/0 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] })
    const out = createInterface({ input: launcher.stdout })[Symbol.asyncIterator]()
    const pid = Number((await out.next()).value)
    const ready = JSON.parse((await out.next()).value as string) as { status: string }
    assert.equal(ready.status, 'ready')
    launcher.kill('SIGKILL')
    // the node inherits the launcher's stdout: the pipe ends only once the node has exited too
    const ended = (async () => { for (;;) if ((await out.next()).done === true) return })()
    await Promise.race([ended, new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`the orphaned node ${pid} kept running`)), 30_000).unref())])
    // its stdout closed: it has stopped, and the lock on the directory is free (below)
    // and the directory is free for the next node
    await ok(['id', '--data', data])
  })
})

describe('blaze from any directory, and its logs', function () {
  this.timeout(120_000)

  it('`npm exec --prefix CHECKOUT -- blaze` works from another directory, on the machine\'s own Node too', async () => {
    const dir = tempDir()
    try {
      const root = fileURLToPath(new URL('../..', import.meta.url))
      // PATH without the project's pinned Node first: npm runs the bin with whatever Node the machine has
      const path = (process.env.PATH ?? '').split(':').filter((p) => !p.startsWith(root)).join(':')
      const r = await runCommand('npm', ['exec', '--prefix', root, '--', 'blaze', 'init', '--data', './here'], { cwd: dir.path, env: { ...process.env, PATH: path } })
      assert.equal(r.code, 0, r.stderr)
      assert.match((JSON.parse(r.stdout) as { dbId: string }).dbId, /^[0-9a-f]{32}$/)
      // relative to where it ran, not to the checkout
      assert.ok(existsSync(join(dir.path, 'here', 'identity.key')))
    } finally {
      dir.cleanup()
    }
  })

  it('--log-format json writes one JSON object per line with a level; --log-level warn drops info lines', async () => {
    const dir = tempDir()
    try {
      const data = join(dir.path, 'n')
      await ok(['init', '--data', data])
      for (const [format, level] of [['json', 'info'], ['text', 'warn']] as const) {
        const { child } = await start(['--data', data, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--log-format', format, '--log-level', level])
        let err = ''
        child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
        const closed = new Promise<void>((resolve) => { child.once('close', () => resolve()) })
        child.kill('SIGTERM')
        await closed // stderr fully read, not just the process gone
        const logged = err.trim().split('\n').filter((l) => l !== '')
        if (format === 'json') {
          assert.ok(logged.length > 0)
          for (const line of logged) {
            const entry = JSON.parse(line) as { level: string, msg: string, time: string }
            assert.ok(['debug', 'info', 'warn', 'error'].includes(entry.level) && typeof entry.msg === 'string' && !Number.isNaN(Date.parse(entry.time)), line)
          }
          assert.ok(logged.some((l) => (JSON.parse(l) as { msg: string }).msg === 'stopped'))
        } else {
          assert.ok(!logged.some((l) => /stopping|stopped/.test(l)), err)
        }
      }
    } finally {
      dir.cleanup()
    }
  })
})
