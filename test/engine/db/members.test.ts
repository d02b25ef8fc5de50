import assert from 'node:assert/strict'
import { trackedDatabases } from '../helpers.ts'
import type { Database } from '../../../engine/index.ts'
import { encodeFrame } from '../../../engine/codec/index.ts'
import { encodeChangeBatch, FRAME_CHANGES } from '../../../engine/log/entry.ts'
import { encodeChange, type Op } from '../../../engine/log/change.ts'
import { identityFromSeed } from '../../../engine/crypto/identity.ts'
import { sha256 } from '../../../engine/crypto/hash.ts'
import { makeHlc } from '../../../engine/clock/hlc.ts'

async function sync (from: Database, to: Database): Promise<void> {
  await to.applyChanges(from.changesSince(to.versionVector()))
}

/** A change signed by `seed`'s key, bypassing its own replica's checks (what a hostile peer could send). */
/** A signed change, stamped a few ms from now: after anything this test has just issued (a grant in the same millisecond could sort after a counter-0 stamp). */
function craft (seed: Uint8Array, dbId: string, seq: number, prev: Uint8Array | null, ops: Op[], ms = Date.now() + 5): { frame: Uint8Array, hash: Uint8Array } {
  const me = identityFromSeed(seed)
  const bytes = encodeChange({ db: Uint8Array.from(Buffer.from(dbId, 'hex')), author: me.publicKey, seq, prev, hlc: makeHlc(ms, 0), ops })
  const hash = sha256(bytes)
  return { frame: encodeFrame(encodeChangeBatch([{ bytes, signature: me.sign(hash) }]), { type: FRAME_CHANGES }), hash }
}

describe('database: members and roles', () => {
  const db = trackedDatabases()

  it('the creator is the owner; a device that joined may not write until granted', async () => {
    const owner = await db()
    assert.deepEqual(owner.members.list(), [{ peerId: owner.peerId, role: 'owner' }])
    const laptop = await db({ dbId: owner.id })
    await sync(owner, laptop)
    await assert.rejects(laptop.collection('x').insert({ a: 1 }), { name: 'NotAMemberError' })
    await owner.members.grant(laptop.peerId, 'writer')
    await sync(owner, laptop)
    assert.equal(laptop.members.roleOf(laptop.peerId), 'writer')
    await laptop.collection('x').insert({ id: 'l1' })
    await sync(laptop, owner)
    assert.ok(owner.collection('x').get('l1'))
  })

  it('a reader may not write, locally or by sending a change', async () => {
    const owner = await db()
    const seed = new Uint8Array(32).fill(9)
    const reader = await db({ dbId: owner.id, seed })
    await owner.members.grant(reader.peerId, 'reader')
    await sync(owner, reader)
    await assert.rejects(reader.collection('x').insert({ a: 1 }), { name: 'ForbiddenError' })
    const { frame } = craft(seed, owner.id, 1, null, [{ op: 'set', c: 'x', id: 'sneaky', p: [], v: {} }])
    const result = await owner.applyChanges(frame)
    assert.equal(result.applied, 0)
    assert.equal(result.rejected[0]!.error.name, 'ForbiddenError')
    assert.equal(owner.collection('x').get('sneaky'), undefined)
  })

  it('a non-member\'s signed change is refused', async () => {
    const owner = await db()
    const seed = new Uint8Array(32).fill(3)
    const { frame } = craft(seed, owner.id, 1, null, [{ op: 'set', c: 'x', id: 'intruder', p: [], v: {} }])
    const result = await owner.applyChanges(frame)
    assert.equal(result.rejected[0]!.error.name, 'NotAMemberError')
    assert.equal(owner.collection('x').count(), 0)
  })

  it('a writer may not grant roles, and nobody but the creator may claim genesis', async () => {
    const owner = await db()
    const seed = new Uint8Array(32).fill(5)
    const writer = await db({ dbId: owner.id, seed })
    await owner.members.grant(writer.peerId, 'writer')
    await sync(owner, writer)
    await assert.rejects(writer.members.grant(owner.peerId, 'reader'), { name: 'ForbiddenError' })
    const forged = craft(new Uint8Array(32).fill(6), owner.id, 1, null, [{ op: 'genesis', nonce: new Uint8Array(16) }])
    const result = await owner.applyChanges(forged.frame)
    assert.equal(result.rejected[0]!.error.name, 'InvalidChangeError')
  })

  it('an admin grants, but may not touch the owner', async () => {
    const owner = await db()
    const admin = await db({ dbId: owner.id })
    const phone = await db({ dbId: owner.id })
    await owner.members.grant(admin.peerId, 'admin')
    await sync(owner, admin)
    await admin.members.grant(phone.peerId, 'writer')
    await assert.rejects(admin.members.revoke(owner.peerId), { name: 'ForbiddenError' })
    await sync(admin, phone)
    assert.equal(phone.members.roleOf(phone.peerId), 'writer')
    await phone.collection('x').insert({ id: 'p' })
    await sync(phone, owner)
    await sync(admin, owner)
    assert.ok(owner.collection('x').get('p'))
  })

  it('changes arriving before the grant that admits their author still apply in the same batch', async () => {
    const owner = await db()
    const phone = await db({ dbId: owner.id })
    const third = await db({ dbId: owner.id })
    await owner.members.grant(phone.peerId, 'writer')
    await sync(owner, phone)
    await phone.collection('x').insert({ id: 'p1' })
    // the phone's change first, the owner's grant after it, in one frame
    const { decodeFrame } = await import('../../../engine/codec/index.ts')
    const { decodeChangeBatch } = await import('../../../engine/log/entry.ts')
    const mine = decodeChangeBatch(decodeFrame(phone.changesSince(owner.versionVector())).payload)
    const theirs = decodeChangeBatch(decodeFrame(owner.changesSince({})).payload)
    const result = await third.applyChanges(encodeFrame(encodeChangeBatch([...mine, ...theirs]), { type: FRAME_CHANGES }))
    assert.deepEqual(result.rejected, [])
    assert.ok(third.collection('x').get('p1'))
  })

  it('a write made before a revocation stays valid in whatever order replicas learn of them', async () => {
    const { fakeClock } = await import('../helpers.ts')
    const clock = fakeClock()
    const owner = await db({ now: clock.now })
    const b = await db({ dbId: owner.id, now: clock.now })
    const c = await db({ dbId: owner.id, now: clock.now })
    await owner.members.grant(b.peerId, 'writer')
    await owner.members.grant(c.peerId, 'writer')
    await sync(owner, b)
    await sync(owner, c)
    clock.advance(100)
    await b.collection('x').insert({ id: 'offline-before' }) // b is offline
    clock.advance(100)
    await owner.members.revoke(b.peerId) // meanwhile the owner revokes it
    clock.advance(100)
    await b.collection('x').insert({ id: 'offline-after' }) // b does not know yet
    // c hears from b first, then from the owner; the owner hears b's writes through c
    await sync(b, c)
    await sync(owner, c)
    await sync(c, owner)
    await sync(b, owner)
    assert.ok(owner.collection('x').get('offline-before'))
    assert.equal(owner.collection('x').get('offline-after'), undefined)
    // c accepted the later write before it knew of the revocation: that one case stays
    // divergent (documented); everything else agrees
    assert.ok(c.collection('x').get('offline-before'))
  })

  it('after a revoke, the member\'s new changes are refused elsewhere', async () => {
    const owner = await db()
    const seed = new Uint8Array(32).fill(7)
    const phone = await db({ dbId: owner.id, seed })
    await owner.members.grant(phone.peerId, 'writer')
    await sync(owner, phone)
    await phone.collection('x').insert({ id: 'before' })
    await sync(phone, owner)
    await owner.members.revoke(phone.peerId)
    assert.equal(owner.members.roleOf(phone.peerId), null)
    const head = owner.versionVector()[phone.peerId]!
    const { decodeFrame } = await import('../../../engine/codec/index.ts')
    const { decodeChangeBatch } = await import('../../../engine/log/entry.ts')
    const phoneOwn = decodeChangeBatch(decodeFrame(phone.changesSince({ [owner.peerId]: Number.MAX_SAFE_INTEGER })).payload)
    const prevHash = sha256(phoneOwn.at(-1)!.bytes)
    const { frame } = craft(seed, owner.id, head + 1, prevHash, [{ op: 'set', c: 'x', id: 'after', p: [], v: {} }])
    const result = await owner.applyChanges(frame)
    assert.equal(result.rejected[0]!.error.name, 'NotAMemberError')
    assert.ok(owner.collection('x').get('before'))
    assert.equal(owner.collection('x').get('after'), undefined)
  })
})
