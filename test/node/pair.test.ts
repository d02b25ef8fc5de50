import assert from 'node:assert/strict'
import { open, type Database } from '../../engine/index.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import { joinDatabase } from '../../node/join.ts'
import { createHost, type Host } from '../../node/host.ts'
import { PROTOCOL as SYNC } from '../../protocols/sync/index.ts'
import { encodeHello } from '../../protocols/sync/messages.ts'
import { FrameDecoder } from '../../engine/codec/index.ts'
import { savedBootstrap } from '../../node/bootstrap-file.ts'
import { PairingExpiredError, WrongPairingCodeError } from '../../protocols/pair/index.ts'
import { tempDir, cleanupsAfterEach } from '../engine/helpers.ts'
import { until } from '../wait.ts'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

/** Resolves once `lines` has a line matching `re` (checked on every new line), within a bound. */
function logged (node: { lines: string[], onLine: Set<() => void> }, re: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const hit = node.lines.find((l) => re.test(l))
      if (hit === undefined) return
      clearTimeout(timer)
      node.onLine.delete(check)
      resolve(hit)
    }
    const timer = setTimeout(() => { node.onLine.delete(check); reject(new Error(`no log line matching ${re} within ${timeoutMs} ms; log:\n${node.lines.join('\n')}`)) }, timeoutMs)
    node.onLine.add(check)
    check()
  })
}

describe('pairing between real nodes over TCP on loopback', function () {
  this.timeout(60_000)
  const cleanup = cleanupsAfterEach()

  function dir (): string {
    const d = tempDir()
    cleanup(() => d.cleanup())
    return d.path
  }
  async function database (options: Parameters<typeof open>[0] = {}): Promise<Database> {
    const db = await open(options.seed === undefined ? { path: dir(), ...options } : options)
    cleanup(async () => { await db.close() })
    return db
  }
  async function node (db: Database, bootstrap: string[] = []): Promise<BlazeNode & { lines: string[], onLine: Set<() => void> }> {
    const lines: string[] = []
    const onLine = new Set<() => void>()
    const n = await BlazeNode.start({
      db, listen: LOOPBACK, mdns: false, bootstrap, backoffMs: 100, maxBackoffMs: 1_000,
      log: (line) => { if (process.env.BP_DEBUG !== undefined) console.error(new Date().toISOString().slice(17, 23), db.peerId.slice(-6), line.slice(0, 200)); lines.push(line); for (const f of [...onLine]) f() }
    })
    cleanup(async () => { await n.stop() })
    return Object.assign(n, { lines, onLine })
  }

  it('a new device joins with the code, then the two sync a write both ways', async () => {
    const a = await database()
    await a.collection('notes').insert({ id: 'before', text: 'written before pairing' })
    const na = await node(a)
    const offer = na.pair({ role: 'writer' })
    assert.match(offer.code, /^\d{4}-\d{4}$/)
    assert.ok(offer.addresses.every((x) => x.endsWith(`/p2p/${na.peerId}`)))
    const phone = dir()
    const joined = await joinDatabase({ code: offer.code.replace('-', ''), dataDir: phone, bootstrap: offer.addresses, mdns: false })
    assert.equal(joined.dbId, a.id)
    assert.equal(joined.role, 'writer')
    assert.deepEqual(await offer.joined, { peerId: joined.peerId, role: 'writer' })
    assert.equal(a.members.roleOf(joined.peerId), 'writer')
    assert.deepEqual(savedBootstrap(phone), offer.addresses)

    const b = await open({ path: phone, dbId: joined.dbId })
    cleanup(async () => { await b.close() })
    assert.equal(b.peerId, joined.peerId)
    await node(b, savedBootstrap(phone))
    await until(b, () => b.collection('notes').get('before') !== undefined, 20_000, 'the old note on the new device')
    await b.collection('notes').insert({ id: 'from-phone' })
    await until(a, () => a.collection('notes').get('from-phone') !== undefined, 20_000, 'the phone\'s note on the member')
    await a.collection('notes').insert({ id: 'from-laptop' })
    await until(b, () => b.collection('notes').get('from-laptop') !== undefined, 20_000, 'the laptop\'s note on the phone')
  })

  it('a wrong code fails with WrongPairingCodeError and leaves no database; the window rejects `joined` once it expires', async () => {
    const a = await database()
    const na = await node(a)
    const offer = na.pair({ role: 'reader', ttlMs: 3_000 })
    const wrong = offer.code === '0000-0000' ? '1111-1111' : '0000-0000'
    const phone = dir()
    await assert.rejects(joinDatabase({ code: wrong, dataDir: phone, bootstrap: offer.addresses, mdns: false }), WrongPairingCodeError)
    assert.equal(a.members.list().length, 1)
    await assert.rejects(offer.joined, PairingExpiredError)
    await assert.rejects(joinDatabase({ code: offer.code, dataDir: phone, bootstrap: offer.addresses, mdns: false }), PairingExpiredError)
  })

  it('an encrypted device joins: its identity and replica are sealed under the passphrase', async () => {
    const a = await database()
    const na = await node(a)
    const offer = na.pair({ role: 'reader' })
    const phone = dir()
    const joined = await joinDatabase({ code: offer.code, dataDir: phone, bootstrap: offer.addresses, mdns: false, passphrase: 'correct horse' })
    assert.equal(a.members.roleOf(joined.peerId), 'reader')
    await assert.rejects(open({ path: phone }), { name: 'PassphraseRequiredError' })
    const b = await open({ path: phone, passphrase: 'correct horse' })
    cleanup(async () => { await b.close() })
    assert.equal(b.id, a.id)
    assert.equal(b.peerId, joined.peerId)
  })

  it('bad input to pair/join is a typed error', async () => {
    const a = await database()
    const na = await node(a)
    assert.throws(() => na.pair({ role: 'owner' as 'writer' }), { name: 'InvalidNodeArgumentError' })
    assert.throws(() => na.pair({ ttlMs: -1 }), { name: 'InvalidNodeArgumentError' })
    await assert.rejects(joinDatabase({ code: '12-34', dataDir: dir(), bootstrap: na.multiaddrs(), mdns: false }), { name: 'InvalidPairingCodeError' })
    await assert.rejects(joinDatabase({ code: '1234-5678', dataDir: dir(), mdns: false }), { name: 'InvalidNodeArgumentError' })
    await assert.rejects(joinDatabase({ code: '1234-5678', dataDir: dir(), bootstrap: ['nonsense'], mdns: false }), { name: 'InvalidNodeArgumentError' })
    // not pairing right now: the member says so, and join reports that nobody was pairing
    await assert.rejects(joinDatabase({ code: '1234-5678', dataDir: dir(), bootstrap: na.multiaddrs(), mdns: false }), { name: 'NoPairingPeerError' })
    // a directory that holds a database already
    const used = dir()
    await (await open({ path: used })).close()
    await assert.rejects(joinDatabase({ code: '1234-5678', dataDir: used, bootstrap: na.multiaddrs(), mdns: false }), { name: 'AlreadyJoinedError' })
    // a reader may not pair others
    const reader = await database({ dbId: a.id })
    await a.members.grant(reader.peerId, 'reader')
    await reader.applyChanges(a.changesSince(reader.versionVector()))
    const nr = await node(reader)
    assert.throws(() => nr.pair({ role: 'writer' }), { name: 'PairingNotAllowedError' })
  })

  for (const order of ['smaller', 'larger'] as const) {
    it(`a non-member (peer id ${order} than the member's) is told in words, and the member logs who it refused`, async () => {
      const a = await database()
      const na = await node(a)
      // an in-memory replica, so its identity (and so who opens the sync stream) is chosen here
      let seed = 1
      const pick = (): Uint8Array => new Uint8Array(32).fill(seed)
      while ((identityFromSeed(pick()).peerId < na.peerId) !== (order === 'smaller')) seed++
      const stranger = await database({ dbId: a.id, seed: pick() })
      await a.collection('x').insert({ id: 'secret' })
      const ns = await node(stranger, na.multiaddrs())
      const heard = await logged(ns, /not a member of this database: ask a member to run `blaze pair`/)
      assert.doesNotMatch(heard, /\[object /)
      const refused = await logged(na, new RegExp(`refused ${ns.peerId}: not a member`))
      assert.match(refused, /blaze pair/)
      assert.equal(stranger.collection('x').get('secret'), undefined)
      assert.deepEqual(na.peers(), [])
    })
  }

  it('a node of another database is told it is on another database', async () => {
    const a = await database()
    const na = await node(a)
    const other = await database()
    const no = await node(other, na.multiaddrs())
    // each refuses the other; whichever opened the stream hears the other's words, the other logs its own
    await logged(na, new RegExp(`refused ${no.peerId}(: it is on another database \\(${other.id}\\)| \\(not a member\\); it answered: you are on another database \\(${a.id}\\))`))
    await logged(no, new RegExp(`(another database|${a.id})`))
    // a fresh replica of another database (it knows no members yet) hears it too
    const fresh = await database({ dbId: '00'.repeat(16) })
    const nf = await node(fresh, na.multiaddrs())
    // told by the member's ERROR frame, or (when the member opened the stream) seen in its HELLO
    await logged(nf, new RegExp(`(another database \\(${fresh.id}\\)|is on database ${a.id}, not ${fresh.id})`))
  })
})

describe('guests: non-members within bounds', function () {
  this.timeout(60_000)
  const cleanup = cleanupsAfterEach()

  it('at most maxGuests non-members at once, each for a short while; members still get in', async () => {
    const d = tempDir()
    const a = await open({ path: d.path })
    cleanup(async () => { await a.close(); d.cleanup() })
    const na = await BlazeNode.start({ db: a, listen: LOOPBACK, mdns: false, guests: { maxGuests: 2, maxGuestsPerAddress: 2, refusedLingerMs: 500 } })
    cleanup(async () => { await na.stop() })
    const strangers: Host[] = []
    for (let i = 0; i < 3; i++) {
      const h = await createHost({ identity: identityFromSeed(new Uint8Array(32).fill(100 + i)), dbId: a.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true })
      await h.start()
      cleanup(async () => { await h.stop() })
      strangers.push(h)
    }
    const closed = (h: Host): Promise<void> => new Promise((resolve) => {
      if (h.getConnections(na.host.peerId).length === 0) { resolve(); return }
      h.addEventListener('connection:close', () => { if (h.getConnections(na.host.peerId).length === 0) resolve() })
    })
    const first = await strangers[0]!.dial(na.host.getMultiaddrs()[0]!)
    const second = await strangers[1]!.dial(na.host.getMultiaddrs()[0]!)
    assert.equal(first.status, 'open')
    assert.equal(second.status, 'open')
    // the third is over the cap: refused at the handshake, or closed at once
    const third = await strangers[2]!.dial(na.host.getMultiaddrs()[0]!).catch(() => undefined)
    if (third !== undefined) await closed(strangers[2]!)
    assert.equal(na.host.getConnections(strangers[2]!.peerId).length, 0)
    // guests do not stay: both are closed after their short lifetime
    await Promise.all([closed(strangers[0]!), closed(strangers[1]!)])
    // and a member is never counted as a guest
    const b = await open({ dbId: a.id, seed: new Uint8Array(32).fill(7) })
    cleanup(async () => { await b.close() })
    await a.members.grant(b.peerId, 'writer')
    await a.collection('x').insert({ id: 'for-b' })
    const nb = await BlazeNode.start({ db: b, listen: LOOPBACK, mdns: false, bootstrap: na.multiaddrs() })
    cleanup(async () => { await nb.stop() })
    await until(b, () => b.collection('x').get('for-b') !== undefined, 20_000, 'the member syncs')
  })

  it('a guest that keeps opening sync streams is answered a few times, then reset', async () => {
    const d = tempDir()
    const a = await open({ path: d.path })
    cleanup(async () => { await a.close(); d.cleanup() })
    const na = await BlazeNode.start({ db: a, listen: LOOPBACK, mdns: false, guests: { refusedLingerMs: 30_000 } })
    cleanup(async () => { await na.stop() })
    const h = await createHost({ identity: identityFromSeed(new Uint8Array(32).fill(200)), dbId: a.id, listen: LOOPBACK, bootstrap: [], mdns: false, allowPeer: () => true })
    await h.start()
    cleanup(async () => { await h.stop() })
    const answered: boolean[] = []
    for (let i = 0; i < 7; i++) {
      let heard = false
      try {
        const stream = await h.dialProtocol(na.host.getMultiaddrs()[0]!, SYNC, { signal: AbortSignal.timeout(10_000) })
        stream.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: {} }))
        const decoder = new FrameDecoder()
        for await (const chunk of stream) {
          for (const f of decoder.push(chunk.subarray())) if (f.type === 19) heard = true
        }
        await stream.close().catch(() => {})
      } catch {
        // reset
      }
      answered.push(heard)
    }
    assert.deepEqual(answered, [true, true, true, true, false, false, false])
  })
})
