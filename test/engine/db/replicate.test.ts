import assert from 'node:assert/strict'
import { open, type Database, type ChangeEvent } from '../../../engine/index.ts'
import { decodeFrame, encodeFrame } from '../../../engine/codec/index.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES, type SignedChange } from '../../../engine/log/entry.ts'
import { decodeChange, encodeChange } from '../../../engine/log/change.ts'
import { fakeClock, trackedDatabases } from '../helpers.ts'

function entriesOf (frame: Uint8Array): SignedChange[] {
  return decodeChangeBatch(decodeFrame(frame).payload).map((e) => ({ bytes: e.bytes.slice(), signature: e.signature?.slice() ?? null }))
}
function frameOf (entries: SignedChange[]): Uint8Array {
  return encodeFrame(encodeChangeBatch(entries), { type: FRAME_CHANGES })
}
async function sync (from: Database, to: Database): Promise<void> {
  await to.applyChanges(from.changesSince(to.versionVector()))
}

describe('database: replication between replicas', () => {
  const replica = trackedDatabases()
  /** a replica of `owner`'s database that the owner has made a writer */
  async function member (owner: Database, options: Parameters<typeof open>[0] = {}): Promise<Database> {
    const r = await replica({ ...options, dbId: owner.id })
    await owner.members.grant(r.peerId, 'writer')
    await sync(owner, r)
    return r
  }

  it('two replicas converge, both ways, and remote changes are announced as remote', async () => {
    const a = await replica()
    const b = await member(a)
    assert.equal(b.id, a.id)
    const seen: ChangeEvent[] = []
    b.subscribe((e) => seen.push(e))
    const id = await a.collection('bugs').insert({ title: 'one', status: 'open' })
    await b.collection('bugs').insert({ id: 'b1', title: 'two' })
    await sync(a, b)
    await sync(b, a)
    assert.equal(a.stateHash(), b.stateHash())
    assert.deepEqual(b.collection('bugs').get(id), { id, title: 'one', status: 'open' })
    assert.equal(a.collection('bugs').count(), 2)
    assert.ok(seen.some((e) => e.origin === 'remote' && e.author === a.peerId))
    assert.deepEqual(a.versionVector(), b.versionVector())
  })

  it('concurrent field updates merge; the later write wins a conflict', async () => {
    const clock = fakeClock()
    const a = await replica({ now: clock.now })
    const b = await member(a, { now: clock.now })
    await a.collection('c').insert({ id: 'x', title: 't', status: 'open', owner: 'ada' })
    await sync(a, b)
    await a.collection('c').update('x', { status: 'closed' })
    clock.advance(10)
    await b.collection('c').update('x', { owner: 'linus', status: 'review' })
    await sync(a, b)
    await sync(b, a)
    assert.deepEqual(a.collection('c').get('x'), { id: 'x', title: 't', status: 'review', owner: 'linus' })
    assert.equal(a.stateHash(), b.stateHash())
  })

  it('a delete is a tombstone, and a later set revives the document', async () => {
    const clock = fakeClock()
    const a = await replica({ now: clock.now })
    const b = await member(a, { now: clock.now })
    await a.collection('c').insert({ id: 'x', title: 't', n: 1 })
    await sync(a, b)
    await a.collection('c').delete('x')
    clock.advance(5)
    await b.collection('c').update('x', { n: 2 })
    await sync(a, b)
    await sync(b, a)
    assert.deepEqual(a.collection('c').get('x'), { id: 'x', n: 2 })
    assert.equal(a.stateHash(), b.stateHash())
  })

  it('applying the same changes twice is a no-op', async () => {
    const a = await replica()
    const b = await replica({ dbId: a.id })
    await a.collection('c').insert({ id: '1' })
    const bytes = a.changesSince({})
    const first = await b.applyChanges(bytes)
    const hash = b.stateHash()
    const second = await b.applyChanges(bytes)
    assert.equal(first.applied, 2) // genesis + insert
    assert.equal(second.applied, 0)
    assert.equal(second.duplicates, 2)
    assert.equal(b.stateHash(), hash)
  })

  describe('bad input is rejected and the good changes around it still apply', () => {
    let a: Database, c: Database, b: Database
    beforeEach(async () => {
      a = await replica()
      c = await member(a)
      b = await replica({ dbId: a.id })
      await sync(a, b) // b knows c is a member
      await a.collection('x').insert({ id: 'a1', v: 1 })
      await c.collection('x').insert({ id: 'c1', v: 1 })
    })
    /** c's own changes (not the ones it got from a) */
    const own = (): Uint8Array => c.changesSince(a.versionVector())

    it('a forged change (altered ops, original signature) is refused', async () => {
      const good = entriesOf(a.changesSince(b.versionVector()))
      const forged = entriesOf(own()).map((e) => {
        const ch = decodeChange(e.bytes)
        return { bytes: encodeChange({ ...ch, ops: [{ op: 'set', c: 'x', id: 'c1', p: [], v: { v: 666 } }] }), signature: e.signature }
      })
      const result = await b.applyChanges(frameOf([...good, ...forged]))
      assert.equal(result.applied, good.length)
      assert.equal(result.rejected.length, 1)
      assert.equal(result.rejected[0]!.author, c.peerId)
      assert.equal(result.rejected[0]!.error.name, 'BadSignatureError')
      assert.equal(b.collection('x').get('c1'), undefined)
      assert.deepEqual(b.collection('x').get('a1'), { id: 'a1', v: 1 })
    })

    it('a flipped signature byte is refused', async () => {
      const bad = entriesOf(own())
      bad.at(-1)!.signature![5]! ^= 1
      const result = await b.applyChanges(frameOf(bad))
      assert.equal(result.applied, 0)
      assert.equal(result.rejected[0]!.error.name, 'BadSignatureError')
      assert.equal(b.collection('x').count(), 0)
    })

    it('a run without a covering signature is refused', async () => {
      const bad = entriesOf(own()).map((e) => ({ ...e, signature: null }))
      const result = await b.applyChanges(frameOf(bad))
      assert.equal(result.rejected[0]!.error.name, 'UnsignedChangeError')
      assert.equal(b.collection('x').count(), 0)
    })

    it('an out-of-order change (a gap) is refused, then applies once its predecessors arrive', async () => {
      await c.collection('x').insert({ id: 'c2' })
      const all = entriesOf(own())
      assert.equal(all.length, 2)
      const result = await b.applyChanges(frameOf(all.slice(1)))
      assert.equal(result.rejected[0]!.error.name, 'SequenceGapError')
      assert.equal(b.collection('x').count(), 0)
      const ok = await b.applyChanges(frameOf(all))
      assert.equal(ok.applied, 2)
      assert.equal(b.collection('x').count(), 2)
    })

    it('a replayed seq with different content (a fork) is refused', async () => {
      await c.collection('x').insert({ id: 'c2' })
      await b.applyChanges(own())
      // c's key signs a different change 2: a forked history
      const entries = entriesOf(own())
      const ch = decodeChange(entries[1]!.bytes)
      const forkBytes = encodeChange({ ...ch, ops: [{ op: 'set', c: 'x', id: 'evil', p: [], v: {} }] })
      const cSign = (c as unknown as { core: { identity: { sign: (m: Uint8Array) => Uint8Array } } }).core.identity.sign
      const { sha256 } = await import('../../../engine/crypto/hash.ts')
      const result = await b.applyChanges(frameOf([entries[0]!, { bytes: forkBytes, signature: cSign(sha256(forkBytes)) }]))
      assert.equal(result.rejected[0]!.error.name, 'ConflictingChangeError')
      assert.equal(b.collection('x').get('evil'), undefined)
    })

    it('changes of another database are refused', async () => {
      const other = await replica()
      await other.collection('x').insert({ id: 'o1' })
      const result = await b.applyChanges(other.changesSince({}))
      assert.equal(result.applied, 0)
      assert.equal(result.rejected[0]!.error.name, 'WrongDatabaseError')
    })

    it('bytes that are not a change frame throw a typed error and change nothing', async () => {
      const hash = b.stateHash()
      await assert.rejects(b.applyChanges(new Uint8Array([1, 2, 3, 4, 5])), (e: Error) => e.name.endsWith('Error') && 'code' in e)
      const frame = a.changesSince({})
      frame[frame.length - 1]! ^= 0xff
      await assert.rejects(b.applyChanges(frame), { name: 'ChecksumError' })
      assert.equal(b.stateHash(), hash)
    })
  })

  it('a change too far in the future is held, never dropped, and applied once within drift', async () => {
    const clockA = fakeClock()
    const clockB = fakeClock(clockA.now() + 60 * 60_000) // b's clock runs an hour fast
    const a = await replica({ now: clockA.now, maxDriftMs: 5 * 60_000 })
    const b = await member(a, { now: clockB.now })
    await b.collection('x').insert({ id: 'future' })
    const result = await a.applyChanges(b.changesSince({}))
    assert.equal(result.applied, 0)
    assert.equal(result.held, 1)
    assert.equal(a.stats().held, 1)
    assert.equal(a.collection('x').get('future'), undefined)
    assert.equal(await a.retryHeld(), 0)
    clockA.advance(60 * 60_000)
    assert.equal(await a.retryHeld(), 1)
    assert.deepEqual(a.collection('x').get('future'), { id: 'future' })
    assert.equal(a.stats().held, 0)
  })
})
