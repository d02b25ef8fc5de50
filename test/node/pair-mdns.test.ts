/**
 * `blaze join` finds a pairing member by mDNS on the pairing service tag, with no address
 * given. The laptop and the phone live in two network namespaces of their own (prefix bp,
 * this process's pid) joined by a veth pair, so no multicast ever leaves them.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { exited } from '../engine/process.ts'
import { cli, cliIn, pairProcess, start, untilLog } from './cli-helpers.ts'

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }) }

function namespacesPossible (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }) } catch { return 'no `ip` command' }
  return undefined
}

describe('pairing by mDNS between two network namespaces (real processes)', function () {
  this.timeout(120_000)
  const tag = `${process.pid}`
  const laptopNs = `bp-a-${tag}`
  const phoneNs = `bp-b-${tag}`
  const children: ChildProcess[] = []
  let dir: { path: string, cleanup: () => void } | undefined

  before(function () {
    const why = namespacesPossible()
    if (why !== undefined) {
      if (process.env.CI === 'true') throw new Error(`network namespaces are needed under CI=true, but: ${why}`)
      console.log(`      skipped: network namespaces impossible here (${why})`)
      this.skip()
    }
    try {
      ip('netns', 'add', laptopNs)
      ip('netns', 'add', phoneNs)
      ip('link', 'add', `bpva${tag}`, 'type', 'veth', 'peer', 'name', `bpvb${tag}`)
      ip('link', 'set', `bpva${tag}`, 'netns', laptopNs)
      ip('link', 'set', `bpvb${tag}`, 'netns', phoneNs)
      for (const [ns, dev, addr] of [[laptopNs, `bpva${tag}`, '10.77.0.1/24'], [phoneNs, `bpvb${tag}`, '10.77.0.2/24']] as const) {
        ip('-n', ns, 'addr', 'add', addr, 'dev', dev)
        ip('-n', ns, 'link', 'set', dev, 'up')
        ip('-n', ns, 'link', 'set', 'lo', 'up')
        // mDNS multicast goes out of the veth (there is no default route in the namespace)
        ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev)
      }
    } catch (error) {
      for (const ns of [laptopNs, phoneNs]) { try { ip('netns', 'del', ns) } catch {} }
      throw error
    }
  })
  after(() => {
    for (const ns of [laptopNs, phoneNs]) { try { ip('netns', 'del', ns) } catch {} }
  })
  beforeEach(() => { dir = tempDir() })
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGINT')
      await exited(c)
    }
    dir?.cleanup()
  })

  it('`blaze join CODE` with no address finds the member on the LAN, then the two sync', async () => {
    const laptop = join(dir!.path, 'laptop')
    const phone = join(dir!.path, 'phone')
    const { dbId } = JSON.parse((await cli('init', '--data', laptop)).stdout) as { dbId: string }
    const member = await start(['--data', laptop, '--listen', '/ip4/10.77.0.1/tcp/0'], laptopNs)
    children.push(member.child)
    // no window open: the member does not answer on the pairing tag
    const early = await cliIn(phoneNs, 'join', '1234-5678', '--data', join(dir!.path, 'early'), '--timeout', '3')
    assert.equal(early.code, 1)
    assert.match(early.stderr, /no pairing member found on the LAN/)
    const pair = pairProcess(['--data', laptop, '--ttl', '60'], laptopNs)
    children.push(pair.child)
    const offer = await pair.next() as { code: string }

    const joined = await cliIn(phoneNs, 'join', offer.code, '--data', phone)
    assert.equal(joined.code, 0, joined.stderr)
    const result = JSON.parse(joined.stdout) as { dbId: string, peerId: string, role: string }
    assert.equal(result.dbId, dbId)
    assert.deepEqual(await pair.next(), { joined: result.peerId, role: 'writer' })
    assert.equal(await pair.exit, 0)

    const device = await start(['--data', phone, '--listen', '/ip4/10.77.0.2/tcp/0'], phoneNs)
    children.push(device.child)
    const id = (await cliIn(laptopNs, 'put', '--data', laptop, 'notes', '{"text":"over the LAN"}')).stdout.trim()
    const got = await untilLog(device.child, async () => {
      const r = await cliIn(phoneNs, 'get', '--data', phone, 'notes', id)
      return r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown> : undefined
    })
    assert.deepEqual(got, { id, text: 'over the LAN' })
  })
})
