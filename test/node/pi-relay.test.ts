/**
 * The phone, the laptop and the Pi (examples/pi-relay/README.md), as real `blaze` processes
 * in three network namespaces: the laptop and the phone on two networks with no route
 * between them, the Pi (`blaze start --relay`, a reader) on both. BLAZE_TEST_PHASES=1 prints
 * how long each phase took.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../engine/helpers.ts'
import { Lab, requireNetns, type NsHost, type NsProcess } from './netns.ts'

const PI_PORT = 4001

/**
 * The Pi runs what the example's systemd unit runs: the `blaze start …` arguments of its
 * ExecStart, with this test's data directory.
 */
function serviceStartArgs (data: string): string[] {
  const unit = readFileSync(new URL('../../examples/pi-relay/blazedb.service', import.meta.url), 'utf8')
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? []
  assert.equal(exec[1], '/opt/blazedb/node/cli/blaze.ts', unit)
  const args = exec.slice(exec.indexOf('start') + 1)
  assert.ok(args.includes('--relay') && args.includes(`/ip4/0.0.0.0/tcp/${PI_PORT}`), args.join(' '))
  return args.map((a) => a === '/var/lib/blazedb/data' ? data : a)
}

interface Device { name: string, host: NsHost, data: string, peerId: string, node?: NsProcess }

interface Status { peerId: string, peers: string[], stateHash: string, connections: Array<{ peer: string, address: string, relayed: boolean }> }

async function json<T> (device: Device, ...args: string[]): Promise<T> {
  const r = await device.host.blaze(...args)
  assert.equal(r.code, 0, `${device.name}: blaze ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/**
 * Who is in the database: the laptop creates it, the phone (writer) and the Pi (reader)
 * join. One step, so that pairing (`blaze pair` / `blaze join`) can replace it.
 */
async function setupMembership (laptop: Device, phone: Device, pi: Device): Promise<void> {
  const { dbId, peerId } = await json<{ dbId: string, peerId: string }>(laptop, 'init', '--data', laptop.data)
  laptop.peerId = peerId
  for (const [device, role] of [[phone, 'writer'], [pi, 'reader']] as const) {
    device.peerId = (await json<{ peerId: string }>(device, 'init', '--data', device.data, '--db', dbId)).peerId
    await json(laptop, 'members', 'add', '--data', laptop.data, device.peerId, '--role', role)
  }
}

async function put (device: Device, collection: string, doc: Record<string, unknown>): Promise<string> {
  const r = await device.host.blaze('put', '--data', device.data, collection, JSON.stringify(doc))
  assert.equal(r.code, 0, `${device.name}: put: ${r.stderr}`)
  return r.stdout.trim()
}

/** Waits (on the device's node output, bounded) until `collection/id` is there; returns it. */
async function seen (device: Device, collection: string, id: string): Promise<Record<string, unknown>> {
  return await device.node!.until(async () => {
    const r = await device.host.blaze('get', '--data', device.data, collection, id)
    return r.code === 0 ? JSON.parse(r.stdout) as Record<string, unknown> : undefined
  }, `${device.name} receiving ${collection}/${id}`)
}

/** The peers a device's node applied changes from (since offset `since` of its log). */
function appliedFrom (device: Device, since: number): string[] {
  return [...device.node!.stderr.slice(since).matchAll(/applied \d+ change\(s\) from (\S+)/g)].map((m) => m[1]!)
}

/** Waits until `device` has a sync session with each of `peers`; returns its status. */
async function sessions (device: Device, peers: Device[]): Promise<Status> {
  return await device.node!.until(async () => {
    const s = await json<Status>(device, 'status', '--data', device.data)
    return peers.every((p) => s.peers.includes(p.peerId)) ? s : undefined
  }, `${device.name} in session with ${peers.map((p) => p.name).join(' and ')}`)
}

describe('the phone, the laptop and the Pi: relay and store-and-forward (namespaces)', function () {
  this.timeout(240_000)
  let lab: Lab | undefined
  let dir: { path: string, cleanup: () => void }
  before(function () { requireNetns(this) })
  beforeEach(() => { dir = tempDir(); lab = Lab.create() })
  afterEach(async () => {
    await lab?.teardown()
    dir.cleanup()
  })

  it('laptop and phone with no route between them sync through the Pi; the Pi holds what the laptop wrote while the phone was away; a Pi restart heals', async () => {
    const device = (name: string): Device => ({ name, host: lab!.host(name), data: join(dir.path, name), peerId: '' })
    const laptop = device('laptop')
    const phone = device('phone')
    const pi = device('pi')
    // two networks, the Pi on both; neither the laptop nor the phone has a route to the other
    lab!.link(laptop.host, '10.213.1.2/24', pi.host, '10.213.1.1/24')
    lab!.link(phone.host, '10.213.2.2/24', pi.host, '10.213.2.1/24')
    await setupMembership(laptop, phone, pi)

    const startPi = async (): Promise<string[]> => {
      const { proc, ready } = await pi.host.start([...serviceStartArgs(pi.data), '--no-mdns'])
      pi.node = proc
      return ready.addresses
    }
    const piAddresses = await startPi()
    assert.ok(piAddresses.some((a) => a.startsWith(`/ip4/10.213.1.1/tcp/${PI_PORT}/`)), piAddresses.join(' '))
    assert.ok(piAddresses.some((a) => a.startsWith(`/ip4/10.213.2.1/tcp/${PI_PORT}/`)), piAddresses.join(' '))
    const piOn = (net: number): string => `/ip4/10.213.${net}.1/tcp/${PI_PORT}/p2p/${pi.peerId}`
    const startLaptop = async (): Promise<void> => { laptop.node = (await laptop.host.start(['--data', laptop.data, '--no-mdns', '--bootstrap', piOn(1)])).proc }
    const startPhone = async (): Promise<void> => { phone.node = (await phone.host.start(['--data', phone.data, '--no-mdns', '--bootstrap', piOn(2)])).proc }
    await startLaptop()
    await startPhone()
    const t0 = Date.now()
    const phase = (what: string): void => { if (process.env.BLAZE_TEST_PHASES !== undefined) process.stdout.write(`      ${Date.now() - t0} ms: ${what}\n`) }

    // the networks really are apart: the laptop cannot open a TCP connection to the phone
    const probe = laptop.host.spawn('-e', [`require('node:net').connect(${PI_PORT}, '10.213.2.2').on('error', (e) => { console.log(e.code); process.exit(0) }).on('connect', () => { console.log('connected'); process.exit(0) })`])
    assert.equal(await probe.until(() => probe.lines[0], 'the probe'), 'ENETUNREACH')

    // the phone and the laptop hold a sync session with each other, over the Pi's relay
    const status = await sessions(phone, [pi, laptop])
    const toLaptop = status.connections.filter((c) => c.peer === laptop.peerId)
    assert.ok(toLaptop.length > 0 && toLaptop.every((c) => c.relayed && c.address.includes(`/p2p/${pi.peerId}/p2p-circuit`)), JSON.stringify(toLaptop))

    // laptop writes, phone sees it; phone writes, laptop sees it
    let mark = phone.node!.stderr.length
    const l1 = await put(laptop, 'notes', { text: 'written on the laptop' })
    assert.deepEqual(await seen(phone, 'notes', l1), { id: l1, text: 'written on the laptop' })
    const firstPath = appliedFrom(phone, mark)
    const p1 = await put(phone, 'notes', { text: 'written on the phone' })
    assert.deepEqual(await seen(laptop, 'notes', p1), { id: p1, text: 'written on the phone' })
    const name = (p: string): string => p === laptop.peerId ? 'the laptop (relayed connection)' : p === pi.peerId ? 'the Pi (store-and-forward)' : p
    process.stdout.write(`      the phone got the laptop's write from ${firstPath.map(name).join(', then ')}\n`)

    phase('phone and laptop synced')
    // the phone goes away; the laptop writes and goes away too; the phone comes back: the Pi has it
    await phone.node!.stop()
    const l2 = await put(laptop, 'notes', { text: 'written while the phone was away' })
    await seen(pi, 'notes', l2)
    phase('pi holds l2')
    await laptop.node!.stop()
    await startPhone()
    mark = 0
    assert.deepEqual(await seen(phone, 'notes', l2), { id: l2, text: 'written while the phone was away' })
    assert.deepEqual([...new Set(appliedFrom(phone, mark))], [pi.peerId], 'only the Pi was there to give it')

    phase('phone got l2 from the pi')
    // the laptop comes back, the Pi restarts: everything heals, writes flow again both ways
    await startLaptop()
    await sessions(laptop, [pi, phone])
    phase('laptop back')
    await pi.node!.stop()
    await startPi()
    phase('pi restarted')
    const p2 = await put(phone, 'notes', { text: 'after the Pi restarted, from the phone' })
    assert.deepEqual(await seen(laptop, 'notes', p2), { id: p2, text: 'after the Pi restarted, from the phone' })
    phase('p2 reached the laptop')
    const l3 = await put(laptop, 'notes', { text: 'after the Pi restarted, from the laptop' })
    assert.deepEqual(await seen(phone, 'notes', l3), { id: l3, text: 'after the Pi restarted, from the laptop' })
    phase('l3 reached the phone')
    // the phone–laptop session is back too, and all three hold the same state
    await sessions(phone, [pi, laptop])
    await pi.node!.until(async () => {
      const hashes = await Promise.all([laptop, phone, pi].map(async (d) => (await json<Status>(d, 'status', '--data', d.data)).stateHash))
      return new Set(hashes).size === 1 ? true : undefined
    }, 'all three converging')
  })

  it('where the two can reach each other (public addresses, the Pi routes), DCUtR upgrades the relayed connection to a direct one', async () => {
    const device = (name: string): Device => ({ name, host: lab!.host(name), data: join(dir.path, name), peerId: '' })
    const laptop = device('laptop')
    const phone = device('phone')
    const pi = device('pi')
    // public addresses (DCUtR upgrades only to those), and the Pi forwards between the networks
    lab!.link(laptop.host, '11.213.1.2/24', pi.host, '11.213.1.1/24')
    lab!.link(phone.host, '11.213.2.2/24', pi.host, '11.213.2.1/24')
    pi.host.sysctl('net.ipv4.ip_forward', '1')
    laptop.host.ip('route', 'add', 'default', 'via', '11.213.1.1')
    phone.host.ip('route', 'add', 'default', 'via', '11.213.2.1')
    await setupMembership(laptop, phone, pi)
    pi.node = (await pi.host.start([...serviceStartArgs(pi.data), '--no-mdns'])).proc
    const piOn = (net: number): string => `/ip4/11.213.${net}.1/tcp/${PI_PORT}/p2p/${pi.peerId}`
    const l = await laptop.host.start(['--data', laptop.data, '--no-mdns', '--bootstrap', piOn(1)])
    laptop.node = l.proc
    assert.ok(l.ready.addresses.some((a) => a.startsWith('/ip4/11.213.1.2/tcp/')), `a public interface address is announced: ${l.ready.addresses.join(' ')}`)
    phone.node = (await phone.host.start(['--data', phone.data, '--no-mdns', '--bootstrap', piOn(2)])).proc
    // the phone has no address for the laptop: it reaches it through the Pi, then DCUtR goes direct
    const direct = await phone.node.until(async () => {
      const s = await json<Status>(phone, 'status', '--data', phone.data)
      return s.connections.find((c) => c.peer === laptop.peerId && !c.relayed)
    }, 'a direct phone–laptop connection')
    assert.match(direct.address, /^\/ip4\/11\.213\.1\.2\/tcp\//)
    assert.match(phone.node.stderr, new RegExp(`sync with ${laptop.peerId} started`))
    const id = await put(laptop, 'notes', { text: 'direct' })
    assert.deepEqual(await seen(phone, 'notes', id), { id, text: 'direct' })
  })
})

describe('examples/pi-relay/blazedb.service', () => {
  it('is a valid systemd unit (systemd-analyze verify, with this checkout as /opt/blazedb)', function () {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
      process.stdout.write('      skipped: systemd-analyze is not installed\n')
      this.skip()
    }
    const dir = tempDir()
    try {
      const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
      const unit = readFileSync(new URL('../../examples/pi-relay/blazedb.service', import.meta.url), 'utf8').replaceAll('/opt/blazedb', root)
      writeFileSync(join(dir.path, 'blazedb.service'), unit)
      const r = spawnSync('systemd-analyze', ['verify', join(dir.path, 'blazedb.service')], { encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stderr.trim(), '', r.stderr)
    } finally {
      dir.cleanup()
    }
  })
})
