import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { runScript } from '../engine/process.ts'
import { Lab, requireNetns } from './netns.ts'

const blaze = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await runScript(blaze, args)
}

describe('blaze CLI (real processes)', function () {
  this.timeout(120_000)
  let dir: { path: string, cleanup: () => void }
  beforeEach(() => { dir = tempDir() })
  afterEach(() => { dir.cleanup() })

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
})

describe('blaze CLI: mDNS on a link-local network (namespaces)', function () {
  this.timeout(120_000)
  let lab: Lab | undefined
  let dir: { path: string, cleanup: () => void }
  before(function () { requireNetns(this) })
  beforeEach(() => { dir = tempDir(); lab = Lab.create() })
  afterEach(async () => {
    await lab?.teardown()
    dir.cleanup()
  })

  it('two `blaze start` processes find each other by mDNS and replicate a `blaze put`', async () => {
    // two devices joined by a cable with nothing but 169.254.x.y addresses (no DHCP, no router)
    const ha = lab!.host('a')
    const hb = lab!.host('b')
    lab!.link(ha, '169.254.10.1/16', hb, '169.254.10.2/16', { multicast: true })
    const a = join(dir.path, 'a')
    const b = join(dir.path, 'b')
    const { dbId } = JSON.parse((await ha.blaze('init', '--data', a)).stdout) as { dbId: string }
    const { peerId: bPeer } = JSON.parse((await hb.blaze('init', '--data', b, '--db', dbId)).stdout) as { peerId: string }
    const added = await ha.blaze('members', 'add', '--data', a, bPeer, '--role', 'writer')
    assert.equal(added.code, 0, added.stderr)
    // the default listen address (0.0.0.0), no bootstrap: they can only meet through mDNS
    const na = await ha.start(['--data', a])
    const nb = await hb.start(['--data', b])
    // what a node announces is dialable from the other device: its link-local address, not loopback
    assert.ok(na.ready.addresses.some((x) => x.startsWith('/ip4/169.254.10.1/tcp/')), na.ready.addresses.join(' '))
    assert.ok(!na.ready.addresses.some((x) => x.includes('/127.0.0.1/')), na.ready.addresses.join(' '))
    const id = (await ha.blaze('put', '--data', a, 'bugs', '{"title":"from a"}')).stdout.trim()
    const doc = await nb.proc.until(async () => {
      const got = await hb.blaze('get', '--data', b, 'bugs', id)
      return got.code === 0 ? JSON.parse(got.stdout) as Record<string, unknown> : undefined
    }, 'b receiving the put')
    assert.deepEqual(doc, { id, title: 'from a' })
    const sa = JSON.parse((await ha.blaze('status', '--data', a)).stdout) as { peers: string[], stateHash: string, connections: Array<{ address: string }> }
    const sb = JSON.parse((await hb.blaze('status', '--data', b)).stdout) as { peers: string[], stateHash: string }
    assert.deepEqual(sa.peers, [nb.ready.peerId])
    assert.ok(sa.connections.every((c) => c.address.includes('/169.254.10.')), JSON.stringify(sa.connections))
    assert.equal(sa.stateHash, sb.stateHash)
    assert.doesNotMatch(nb.proc.stderr + na.proc.stderr, /ECONNREFUSED/)
  })
})
