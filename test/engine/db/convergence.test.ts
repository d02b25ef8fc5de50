import assert from 'node:assert/strict'
import fc from 'fast-check'
import { open, type Database } from '../../../engine/index.ts'
import { decodeFrame, encodeFrame } from '../../../engine/codec/index.ts'
import { decodeChangeBatch, encodeChangeBatch, FRAME_CHANGES } from '../../../engine/log/entry.ts'
import { mergeRegister, materialize, stateToValue, type Register } from '../../../engine/crdt/index.ts'
import { makeHlc } from '../../../engine/clock/hlc.ts'
import { encode } from '../../../engine/codec/index.ts'
import { fakeClock, seededRandom } from '../helpers.ts'

type Action =
  | { kind: 'insert', who: number, id: number, v: number }
  | { kind: 'update', who: number, id: number, field: string, v: number }
  | { kind: 'nested', who: number, id: number, v: number }
  | { kind: 'inc', who: number, id: number, by: number }
  | { kind: 'delete', who: number, id: number }
  | { kind: 'tick', ms: number }

const WRITERS = 3
const IDS = 3
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), who: fc.nat(WRITERS - 1), id: fc.nat(IDS), v: fc.integer() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), who: fc.nat(WRITERS - 1), id: fc.nat(IDS), field: fc.constantFrom('a', 'b', 'c'), v: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('nested' as const), who: fc.nat(WRITERS - 1), id: fc.nat(IDS), v: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inc' as const), who: fc.nat(WRITERS - 1), id: fc.nat(IDS), by: fc.integer({ min: -5, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), who: fc.nat(WRITERS - 1), id: fc.nat(IDS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(3) }) }
)

async function run (db: Database, a: Exclude<Action, { kind: 'tick' }>): Promise<void> {
  const c = db.collection('docs')
  const id = `d${a.id}`
  try {
    switch (a.kind) {
      case 'insert': await c.put({ id, a: a.v, nested: { x: a.v } }); break
      case 'update': await c.update(id, { [a.field]: a.v }); break
      case 'nested': await c.update(id, { nested: { y: a.v } }); break
      case 'inc': await c.increment(id, 'count', a.by); break
      case 'delete': await c.delete(id); break
    }
  } catch (error) {
    if ((error as Error).name !== 'NotFoundError') throw error
  }
}

describe('CRDT convergence (property)', () => {
  it('replicas receiving the same changes in random orders, with duplicates, end with equal stateHash', async function () {
    this.timeout(120_000)
    await fc.assert(fc.asyncProperty(
      fc.array(action, { minLength: 10, maxLength: 60 }),
      fc.array(fc.integer(), { minLength: 3, maxLength: 3 }),
      fc.integer({ min: 1, max: 2 ** 30 }),
      async (actions, orderSeeds, seed) => {
        const clock = fakeClock()
        const writers: Database[] = []
        const owner = await open({ now: clock.now, random: seededRandom(seed) })
        writers.push(owner)
        for (let i = 1; i < WRITERS; i++) {
          const w = await open({ dbId: owner.id, now: clock.now, random: seededRandom(seed + i) })
          await owner.members.grant(w.peerId, 'writer')
          writers.push(w)
        }
        for (const w of writers.slice(1)) await w.applyChanges(owner.changesSince(w.versionVector()))
        // writers exchange changes now and then, so later writes build on earlier ones
        for (const [i, a] of actions.entries()) {
          if (a.kind === 'tick') clock.advance(a.ms)
          else await run(writers[a.who]!, a)
          if (i % 7 === 6) {
            for (const from of writers) for (const to of writers) if (from !== to) await to.applyChanges(from.changesSince(to.versionVector()))
          }
        }
        // every change as its own frame (each write was its own signed change)
        const singles: Uint8Array[] = []
        for (const w of writers) {
          for (const e of decodeChangeBatch(decodeFrame(w.changesSince({})).payload)) {
            if (e.signature !== null) singles.push(encodeFrame(encodeChangeBatch([e]), { type: FRAME_CHANGES }))
          }
        }
        const unique = new Set(singles.map((s) => Buffer.from(s).toString('hex'))).size
        const hashes: string[] = []
        for (const orderSeed of orderSeeds) {
          const r = await open({ dbId: owner.id, now: clock.now })
          const rand = seededRandom(orderSeed)
          // shuffled, with duplicates; refused out-of-order ones come round again
          let queue = [...singles, ...singles.filter((_, i) => i % 3 === 0)]
          let rounds = 0
          while (queue.length > 0 && rounds++ < 200) {
            for (let i = queue.length - 1; i > 0; i--) {
              const j = rand(1)[0]! % (i + 1)
              ;[queue[i], queue[j]] = [queue[j]!, queue[i]!]
            }
            const retry: Uint8Array[] = []
            for (const frame of queue) {
              const result = await r.applyChanges(frame)
              if (result.rejected.length > 0) {
                // a change can only come after its predecessors and after its author's grant
                assert.ok(['SequenceGapError', 'NotAMemberError'].includes(result.rejected[0]!.error.name), result.rejected[0]!.error.name)
                retry.push(frame)
              }
            }
            queue = retry
          }
          assert.equal(queue.length, 0)
          hashes.push(r.stateHash())
          await r.close()
        }
        for (const w of writers) for (const v of writers) if (w !== v) await v.applyChanges(w.changesSince(v.versionVector()))
        const writerHashes = writers.map((w) => w.stateHash())
        for (const w of writers) await w.close()
        assert.ok(unique > 1)
        for (const h of [...hashes, ...writerHashes]) assert.equal(h, hashes[0])
      }
    ), { numRuns: 30, seed: 20261121 })
  })

  it('registers merged in any order, with duplicates, give the same state (pure CRDT)', () => {
    const author = (n: number): Uint8Array => new Uint8Array(32).fill(n)
    const path = fc.constantFrom<string[]>([], ['a'], ['b'], ['a', 'x'], ['a', 'y'], ['b', 'z'])
    const register: fc.Arbitrary<Register> = fc.record({
      kind: fc.constantFrom('set', 'unset', 'inc'),
      path,
      ms: fc.nat(20),
      who: fc.nat(3),
      idx: fc.nat(2),
      v: fc.integer({ min: -3, max: 3 })
    }).map(({ kind, path, ms, who, idx, v }) => {
      const stamp = { hlc: makeHlc(ms, 0), author: author(who), idx }
      if (kind === 'set') return { kind, path, stamp, value: path.length === 0 ? { root: v } : v }
      if (kind === 'inc') return { kind, path: path.length === 0 ? ['n'] : path, stamp, by: v }
      return { kind, path, stamp }
    })
    fc.assert(fc.property(fc.uniqueArray(register, { selector: (r) => `${r.stamp.hlc}/${r.stamp.author[0]}/${r.stamp.idx}` , maxLength: 30 }), fc.func(fc.integer()), (regs, order) => {
      const merge = (list: Register[]): Register[] => list.reduce<Register[]>((s, r) => mergeRegister(s, r) ?? s, [])
      const shuffled = [...regs, ...regs.slice(0, 5)].map((r, i) => ({ r, k: order(i) })).sort((x, y) => x.k - y.k).map((x) => x.r)
      const one = merge(regs)
      const two = merge(shuffled)
      assert.deepEqual(encode(stateToValue(one)), encode(stateToValue(two)))
      assert.deepEqual(materialize(one), materialize(two))
    }), { numRuns: 2000, seed: 7 })
  })
})
