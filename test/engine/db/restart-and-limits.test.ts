import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database } from '../../../engine/index.ts'
import { decodeFrame, encodeFrame } from '../../../engine/codec/index.ts'
import { encodeChange, hashChange } from '../../../engine/log/change.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES, MAX_CHANGE_BYTES } from '../../../engine/log/entry.ts'
import { identityFromSeed } from '../../../engine/crypto/identity.ts'
import { MAX_FRAME_BYTES } from '../../../protocols/sync/constants.ts'
import { fakeClock, tempDir, trackedDatabases } from '../helpers.ts'

async function sync (from: Database, to: Database): Promise<void> {
  const result = await to.applyChanges(from.changesSince(to.versionVector()))
  assert.deepEqual(result.rejected, [])
}

describe('the clock across restarts', () => {
  const db = trackedDatabases()
  let dir: { path: string, cleanup: () => void }
  beforeEach(() => { dir = tempDir() })
  afterEach(() => { dir.cleanup() })

  it('after a peer whose clock runs 2 minutes fast has written, a restarted device still wins with its next write', async () => {
    const clock = fakeClock()
    const fast = fakeClock(clock.now() + 120_000)
    const path = join(dir.path, 'laptop')
    const laptop = await open({ path, now: clock.now })
    const phone = await db({ dbId: laptop.id, now: fast.now })
    await laptop.members.grant(phone.peerId, 'writer')
    await laptop.collection('notes').insert({ id: 'n', text: 'laptop 1' })
    await sync(laptop, phone)
    await phone.collection('notes').update('n', { text: 'phone (fast clock)' })
    await sync(phone, laptop)
    await laptop.close()
    clock.advance(1_000)
    const again = await db({ path, now: clock.now })
    await again.collection('notes').update('n', { text: 'laptop after restart' })
    assert.equal(again.collection('notes').get('n')!.text, 'laptop after restart')
    await sync(again, phone)
    assert.equal(phone.collection('notes').get('n')!.text, 'laptop after restart')
    assert.equal(phone.stateHash(), again.stateHash())
  })

  it('a device granted by an owner whose clock runs fast can write right after a restart', async () => {
    const clock = fakeClock()
    const fast = fakeClock(clock.now() + 120_000)
    const owner = await db({ now: fast.now })
    const path = join(dir.path, 'phone')
    const phone = await open({ path, dbId: owner.id, now: clock.now })
    await owner.members.grant(phone.peerId, 'writer')
    await sync(owner, phone)
    await phone.close()
    const again = await db({ path, now: clock.now })
    await again.collection('notes').insert({ id: 'first', text: 'after restart' })
    await sync(again, owner)
    assert.equal(owner.collection('notes').get('first')!.text, 'after restart')
  })
})

describe('one change size limit, at write time and on the wire', () => {
  const db = trackedDatabases()

  it('a write over the limit is refused with a typed error naming the limit; the author is not stuck', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    const before = a.versionVector()
    await assert.rejects(a.collection('files').insert({ id: 'big', data: new Uint8Array(MAX_CHANGE_BYTES + 1) }), (error: Error) => {
      assert.equal(error.name, 'LimitExceededError')
      assert.match(error.message, /MAX_CHANGE_BYTES/)
      return true
    })
    assert.deepEqual(a.versionVector(), before)
    assert.equal(a.collection('files').get('big'), undefined)
    await a.collection('files').insert({ id: 'small', data: new Uint8Array(1000) })
    await sync(a, b)
    assert.equal(b.collection('files').count(), 1)
  })

  it('a received change over the limit is a rejection in the result, and other authors continue', async () => {
    const owner = await db()
    const rogue = identityFromSeed(new Uint8Array(32).fill(7))
    const honest = await db({ dbId: owner.id })
    await owner.members.grant(rogue.peerId, 'writer')
    await owner.members.grant(honest.peerId, 'writer')
    await sync(owner, honest)
    await honest.collection('notes').insert({ id: 'ok', text: 'fine' })
    const receiver = await db({ dbId: owner.id })
    await sync(owner, receiver)
    const dbId = Uint8Array.from(Buffer.from(owner.id, 'hex'))
    const huge = encodeChange({ db: dbId, author: rogue.publicKey, seq: 1, prev: null, hlc: (BigInt(Date.now()) << 16n) as never, ops: [{ op: 'set', c: 'files', id: 'x', p: [], v: { data: new Uint8Array(MAX_CHANGE_BYTES) } }] })
    const entries = [
      { bytes: huge, signature: rogue.sign(hashChange(huge)) },
      ...decodeChangeBatch(decodeFrame(honest.changesSince(receiver.versionVector())).payload)
    ]
    const result = await receiver.applyChanges(encodeFrame(encodeChangeBatch(entries), { type: FRAME_CHANGES }))
    assert.equal(result.applied, 1)
    assert.equal(result.rejected.length, 1)
    assert.equal(result.rejected[0]!.error.name, 'LimitExceededError')
    assert.equal(result.rejected[0]!.author, rogue.peerId)
    assert.equal(receiver.collection('notes').get('ok')!.text, 'fine')
    assert.equal(receiver.collection('files').get('x'), undefined)
  })

  it('a group of large writes is sent in frames no peer refuses, each ending on a signature', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    const chunk = (i: number): Uint8Array => new Uint8Array(MAX_CHANGE_BYTES - 1024).fill(i)
    // one group: queued in the same tick
    await Promise.all([0, 1, 2, 3, 4].map(async (i) => await a.collection('files').insert({ id: `f${i}`, data: chunk(i) })))
    let frames = 0
    for (const batch of a.changeBatches(b.versionVector(), { maxBytes: 256 * 1024 })) {
      const payload = decodeFrame(batch.frame, { maxPayloadBytes: MAX_FRAME_BYTES }).payload
      assert.ok(payload.length <= MAX_FRAME_BYTES)
      const entries = decodeChangeBatch(payload)
      assert.notEqual(entries[entries.length - 1]!.signature, null)
      const result = await b.applyChangeBatch(payload)
      assert.deepEqual(result.rejected, [])
      frames++
    }
    assert.ok(frames >= 5)
    assert.equal(b.stateHash(), a.stateHash())
  })
})

describe('a missing store never becomes a new database', () => {
  let dir: { path: string, cleanup: () => void }
  beforeEach(() => { dir = tempDir() })
  afterEach(() => { dir.cleanup() })

  async function created (): Promise<{ path: string, id: string }> {
    const path = join(dir.path, 'data')
    const a = await open({ path })
    await a.collection('notes').insert({ text: 'keep me' })
    const id = a.id
    await a.close()
    return { path, id }
  }

  it('a deleted db/ is a StoreMissingError that says what to do, and nothing is created', async () => {
    const { path, id } = await created()
    rmSync(join(path, 'db'), { recursive: true })
    await assert.rejects(open({ path }), (error: Error) => {
      assert.equal(error.name, 'StoreMissingError')
      assert.match(error.message, new RegExp(id))
      assert.match(error.message, /backup|join/)
      return true
    })
    assert.equal(existsSync(join(path, 'db')), false)
  })

  it('an emptied data.mdb is a StoreMissingError too', async () => {
    const { path } = await created()
    truncateSync(join(path, 'db', 'data.mdb'), 0)
    await assert.rejects(open({ path }), { name: 'StoreMissingError' })
    await assert.rejects(open({ path, dbId: 'ab'.repeat(16) }), { name: 'StoreMissingError' })
  })

  it('create: false opens only what exists: a new directory is a NoDatabaseError and stays empty', async () => {
    const path = join(dir.path, 'nothing')
    await assert.rejects(open({ path, create: false }), { name: 'NoDatabaseError' })
    assert.equal(existsSync(path) && readdirSync(path).length > 0, false)
    const { path: existing, id } = await created()
    const again = await open({ path: existing, create: false })
    assert.equal(again.id, id)
    assert.equal(again.collection('notes').count(), 1)
    await again.close()
  })
})
