import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { exited } from '../engine/process.ts'
import { cli, pairProcess, start, untilLog } from './cli-helpers.ts'

/** Collects a child's stderr and resolves once it has a line matching `re` (checked on every chunk), within a bound. */
function stderrMatch (child: ChildProcess, re: RegExp, timeoutMs = 30_000): Promise<string> {
  let text = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.stderr!.off('data', on); reject(new Error(`no stderr line matching ${re} within ${timeoutMs} ms:\n${text}`)) }, timeoutMs)
    const on = (d: Buffer): void => {
      text += d.toString()
      const hit = text.split('\n').find((l) => re.test(l))
      if (hit === undefined) return
      clearTimeout(timer)
      child.stderr!.off('data', on)
      resolve(hit)
    }
    child.stderr!.on('data', on)
  })
}

describe('blaze pair / blaze join (real processes)', function () {
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
  const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns']

  it('`blaze pair` on the member, `blaze join` on the new device, `blaze start` on both: a put reaches the other each way', async () => {
    const laptop = join(dir.path, 'laptop')
    const phone = join(dir.path, 'phone')
    const { dbId } = JSON.parse((await cli('init', '--data', laptop)).stdout) as { dbId: string }
    const member = await start(['--data', laptop, ...LISTEN])
    children.push(member.child)

    const pair = pairProcess(['--data', laptop, '--role', 'writer', '--ttl', '120'])
    children.push(pair.child)
    const offer = await pair.next() as { code: string, expiresAt: number, addresses: string[] }
    assert.match(offer.code, /^\d{4}-\d{4}$/)
    assert.ok(offer.expiresAt > Date.now())
    assert.ok(offer.addresses.length > 0)

    const joinArgs = ['join', offer.code, '--data', phone, '--no-mdns', ...offer.addresses.flatMap((a) => ['--bootstrap', a])]
    const joined = await cli(...joinArgs)
    assert.equal(joined.code, 0, joined.stderr)
    const result = JSON.parse(joined.stdout) as { dbId: string, peerId: string, role: string }
    assert.equal(result.dbId, dbId)
    assert.equal(result.role, 'writer')
    assert.deepEqual(await pair.next(), { joined: result.peerId, role: 'writer' })
    assert.equal(await pair.exit, 0)

    // a code works once
    const again = await cli('join', offer.code, '--data', join(dir.path, 'tablet'), '--no-mdns', ...offer.addresses.flatMap((a) => ['--bootstrap', a]))
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already used.*blaze pair/)

    // no --bootstrap: the phone dials the member it saved at join
    const device = await start(['--data', phone, ...LISTEN])
    children.push(device.child)
    const id = (await cli('put', '--data', laptop, 'notes', '{"text":"from the laptop"}')).stdout.trim()
    const got = await untilLog(device.child, async () => {
      const r = await cli('get', '--data', phone, 'notes', id)
      return r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown> : undefined
    })
    assert.deepEqual(got, { id, text: 'from the laptop' })
    const back = (await cli('put', '--data', phone, 'notes', '{"text":"from the phone"}')).stdout.trim()
    const there = await untilLog(member.child, async () => {
      const r = await cli('get', '--data', laptop, 'notes', back)
      return r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown> : undefined
    })
    assert.deepEqual(there, { id: back, text: 'from the phone' })
  })

  it('a window that closes unused makes `blaze pair` exit 1; a wrong code and a missing node are clear errors', async () => {
    const laptop = join(dir.path, 'laptop')
    await cli('init', '--data', laptop)
    const none = await cli('pair', '--data', laptop)
    assert.equal(none.code, 1)
    assert.match(none.stderr, /blaze start --data/)
    const member = await start(['--data', laptop, ...LISTEN])
    children.push(member.child)

    // a window that nobody uses ends with exit 1 and says why
    const unused = pairProcess(['--data', laptop, '--ttl', '1'])
    children.push(unused.child)
    await unused.next()
    assert.equal(await unused.exit, 1)
    assert.match(unused.stderr(), /expired.*blaze pair/)

    const pair = pairProcess(['--data', laptop, '--ttl', '120'])
    children.push(pair.child)
    const offer = await pair.next() as { code: string, addresses: string[] }
    const wrong = offer.code === '0000-0000' ? '1111-1111' : '0000-0000'
    const bad = await cli('join', wrong, '--data', join(dir.path, 'phone'), '--no-mdns', '--bootstrap', offer.addresses[0]!)
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /pairing code is wrong.*\[ERR_WRONG_PAIRING_CODE\]/)
    const typo = await cli('join', '12-34', '--data', join(dir.path, 'phone'), '--no-mdns', '--bootstrap', offer.addresses[0]!)
    assert.equal(typo.code, 1)
    assert.match(typo.stderr, /8 digits/)
  })

  it('a device that is not a member is told so in words, and the member logs who it refused', async () => {
    const laptop = join(dir.path, 'laptop')
    const stranger = join(dir.path, 'stranger')
    const { dbId } = JSON.parse((await cli('init', '--data', laptop)).stdout) as { dbId: string }
    const { peerId } = JSON.parse((await cli('init', '--data', stranger, '--db', dbId)).stdout) as { peerId: string }
    const member = await start(['--data', laptop, ...LISTEN])
    children.push(member.child)
    const refusedLog = stderrMatch(member.child, new RegExp(`refused ${peerId}: not a member`))
    const s = await start(['--data', stranger, ...LISTEN, '--bootstrap', member.ready.addresses[0]!])
    children.push(s.child)
    const heard = await stderrMatch(s.child, /not a member of this database: ask a member to run `blaze pair`/)
    assert.doesNotMatch(heard, /\[object /)
    await refusedLog
  })
})
