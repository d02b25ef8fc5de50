import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Lab, PREFIX, removeLeftovers, requireNetns } from './netns.ts'

function namespaces (): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '')
}

describe('the network-namespace harness', function () {
  this.timeout(60_000)
  before(function () { requireNetns(this) })

  it('hosts get lo up and only the addresses given; teardown removes namespaces and stops processes', async () => {
    const lab = Lab.create()
    try {
      const a = lab.host('ta')
      const b = lab.host('tb')
      lab.link(a, '169.254.20.1/16', b, '169.254.20.2/16')
      assert.match(a.ip('link', 'show', 'lo'), /[<,]UP[,>]/)
      const v4 = [...a.ip('-4', '-o', 'addr').matchAll(/inet (\S+)/g)].map((m) => m[1]).sort()
      assert.deepEqual(v4, ['127.0.0.1/8', '169.254.20.1/16'])
      const sleeper = a.spawn('-e', ['setInterval(() => {}, 1000); console.log("up")'])
      await sleeper.until(() => sleeper.lines[0], 'the process starting')
      assert.ok(namespaces().includes(a.ns))
      await lab.teardown()
      assert.ok(sleeper.exited)
      assert.ok(!namespaces().includes(a.ns) && !namespaces().includes(b.ns))
    } finally {
      await lab.teardown()
    }
  })

  it('a bridge joins several hosts: one reaches another on it, and nothing else', async () => {
    const lab = Lab.create()
    try {
      const [a, b, c] = [lab.host('la'), lab.host('lb'), lab.host('lc')]
      lab.lan('sw', [[a, '10.213.9.1/24'], [b, '10.213.9.2/24']])
      lab.link(c, '10.213.8.3/24', b, '10.213.8.2/24')
      const server = b.spawn('-e', [`require('node:net').createServer((s) => s.end('hi')).listen(4555, () => console.log('listening'))`])
      await server.until(() => server.lines[0], 'the server listening')
      const connect = (h: typeof a, host: string): Promise<string> => {
        const p = h.spawn('-e', [`require('node:net').connect(4555, '${host}').on('data', (d) => { console.log(String(d)); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })`])
        return p.until(() => p.lines[0], `connecting to ${host}`)
      }
      assert.equal(await connect(a, '10.213.9.2'), 'hi')
      assert.equal(await connect(c, '10.213.8.2'), 'hi')
      assert.equal(await connect(c, '10.213.9.1'), 'ENETUNREACH')
    } finally {
      await lab.teardown()
    }
  })

  it('without namespaces: skips with a printed reason, but fails under CI=true', () => {
    const ci = process.env.CI
    let skipped = false
    const ctx = { skip: () => { skipped = true } } as unknown as Mocha.Context
    try {
      process.env.CI = 'true'
      assert.throws(() => requireNetns(ctx, 'network namespaces need root'), /CI=true.*need root/)
      assert.equal(skipped, false)
      delete process.env.CI
      requireNetns(ctx, 'network namespaces need root')
      assert.equal(skipped, true)
    } finally {
      if (ci === undefined) delete process.env.CI
      else process.env.CI = ci
    }
  })

  it('removes namespaces left behind by a killed run (its pid is gone), and only those', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!
    const leftover = `${PREFIX}${dead}-left`
    const ours = `${PREFIX}${process.pid}-kept`
    spawnSync('ip', ['netns', 'add', leftover])
    spawnSync('ip', ['netns', 'add', ours])
    try {
      assert.ok(removeLeftovers().includes(leftover))
      assert.ok(!namespaces().includes(leftover))
      assert.ok(namespaces().includes(ours), 'a live run keeps its namespaces')
    } finally {
      spawnSync('ip', ['netns', 'del', leftover])
      spawnSync('ip', ['netns', 'del', ours])
    }
  })
})
