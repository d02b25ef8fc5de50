import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { exited } from '../engine/process.ts'
import { cli, start, untilLog } from './cli-helpers.ts'

describe('blaze CLI (real processes)', function () {
  this.timeout(120_000)
  const children: ChildProcess[] = []
  let dir: { path: string, cleanup: () => void }
  beforeEach(() => { dir = tempDir() })
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGINT')
      await exited(c)
    }
    dir.cleanup()
  })

  it('init, id, put, get, status work on a data directory; errors go to stderr with a non-zero exit', async () => {
    const a = join(dir.path, 'a')
    const init = await cli('init', '--data', a)
    assert.equal(init.code, 0, init.stderr)
    const { peerId, dbId } = JSON.parse(init.stdout) as { peerId: string, dbId: string }
    assert.deepEqual(JSON.parse((await cli('id', '--data', a)).stdout), { peerId, dbId })
    const put = await cli('put', '--data', a, 'bugs', '{"id":"b1","title":"crash"}')
    assert.equal(put.stdout.trim(), 'b1')
    assert.deepEqual(JSON.parse((await cli('get', '--data', a, 'bugs', 'b1')).stdout), { id: 'b1', title: 'crash' })
    const missing = await cli('get', '--data', a, 'bugs', 'nope')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /not found/)
    const bad = await cli('put', '--data', a, 'bugs', '{oops')
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /not valid JSON/)
    const status = JSON.parse((await cli('status', '--data', a)).stdout) as { versionVector: Record<string, number>, stateHash: string }
    assert.equal(status.versionVector[peerId], 2)
    assert.match(status.stateHash, /^[0-9a-f]{64}$/)
    const none = await cli('id', '--data', join(dir.path, 'none'))
    assert.notEqual(none.code, 0)
    assert.match(none.stderr, /blaze init/)
  })

  it('two `blaze start` processes find each other by mDNS and replicate a `blaze put`', async () => {
    const a = join(dir.path, 'a')
    const b = join(dir.path, 'b')
    const { dbId } = JSON.parse((await cli('init', '--data', a)).stdout) as { dbId: string }
    const { peerId: bPeer } = JSON.parse((await cli('init', '--data', b, '--db', dbId)).stdout) as { peerId: string }
    const added = await cli('members', 'add', '--data', a, bPeer, '--role', 'writer')
    assert.equal(added.code, 0, added.stderr)
    const na = await start(['--data', a, '--listen', '/ip4/127.0.0.1/tcp/0'])
    children.push(na.child)
    const nb = await start(['--data', b, '--listen', '/ip4/127.0.0.1/tcp/0'])
    children.push(nb.child)
    // no bootstrap addresses: they can only meet through mDNS
    const id = (await cli('put', '--data', a, 'bugs', '{"title":"from a"}')).stdout.trim()
    const doc = await untilLog(nb.child, async () => {
      const got = await cli('get', '--data', b, 'bugs', id)
      return got.code === 0 ? JSON.parse(got.stdout) as Record<string, unknown> : undefined
    })
    assert.deepEqual(doc, { id, title: 'from a' })
    const sa = JSON.parse((await cli('status', '--data', a)).stdout) as { peers: string[], stateHash: string }
    const sb = JSON.parse((await cli('status', '--data', b)).stdout) as { peers: string[], stateHash: string }
    assert.deepEqual(sa.peers, [nb.ready.peerId])
    assert.equal(sa.stateHash, sb.stateHash)
  })
})
