import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MemoryStore } from '../../../engine/store/memory.ts'
import { LmdbStore } from '../../../engine/store/lmdb.ts'
import { Savepoint } from '../../../engine/store/savepoint.ts'
import type { Store, StoreTxn } from '../../../engine/store/types.ts'
import { tempDir } from '../helpers.ts'

type Op = { t: 'put', k: number[], v: number[] } | { t: 'del', k: number[] }
const keyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x7f, 0xff), { minLength: 1, maxLength: 3 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('put' as const), k: keyArb, v: fc.array(fc.nat({ max: 255 }), { maxLength: 3 }) }),
  fc.record({ t: fc.constant('del' as const), k: keyArb })
)
const boundsArb = fc.record({
  gte: fc.option(keyArb, { nil: undefined }),
  lt: fc.option(keyArb, { nil: undefined }),
  reverse: fc.boolean(),
  limit: fc.option(fc.nat({ max: 6 }), { nil: undefined })
})

function apply (txn: StoreTxn, ops: Op[]): void {
  for (const op of ops) {
    if (op.t === 'put') txn.put(Uint8Array.from(op.k), Uint8Array.from(op.v))
    else txn.delete(Uint8Array.from(op.k))
  }
}

function options (b: { gte: number[] | undefined, lt: number[] | undefined, reverse: boolean, limit: number | undefined }): { gte?: Uint8Array, lt?: Uint8Array, reverse: boolean, limit?: number } {
  return { ...(b.gte === undefined ? {} : { gte: Uint8Array.from(b.gte) }), ...(b.lt === undefined ? {} : { lt: Uint8Array.from(b.lt) }), reverse: b.reverse, ...(b.limit === undefined ? {} : { limit: b.limit }) }
}

const dump = (it: Iterable<{ key: Uint8Array, value: Uint8Array }>): string[] => [...it].map((e) => `${Buffer.from(e.key).toString('hex')}=${Buffer.from(e.value).toString('hex')}`)

/**
 * A savepoint must read exactly like its parent transaction would with the same writes made
 * directly; released, it must leave the parent as if they had been; rolled back, untouched.
 */
function describeSavepoint (name: string, openStore: () => Promise<{ store: Store, done: () => Promise<void> }>): void {
  describe(`Savepoint over ${name}`, () => {
    it('reads, releases and rolls back like the same writes made on the parent', async () => {
      const { store, done } = await openStore()
      try {
        await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 8 }), fc.array(opArb, { maxLength: 8 }), fc.array(opArb, { maxLength: 8 }), boundsArb, fc.boolean(), async (committed, parentOps, ownOps, bounds, release) => {
          // reset
          await store.transact((txn) => { for (const { key } of txn.range({})) txn.delete(key); apply(txn, committed) })
          const want = await store.transact((txn) => {
            apply(txn, parentOps)
            apply(txn, ownOps)
            const out = { range: dump(txn.range(options(bounds))), gets: ownOps.map((o) => txn.get(Uint8Array.from(o.k))?.join(',') ?? null) }
            throw Object.assign(new Error('rollback'), { out })
          }).catch((e: { out: unknown }) => e.out)
          const got = await store.transact((txn) => {
            apply(txn, parentOps)
            const before = dump(txn.range({}))
            const sp = new Savepoint(txn)
            apply(sp, ownOps)
            const out = { range: dump(sp.range(options(bounds))), gets: ownOps.map((o) => sp.get(Uint8Array.from(o.k))?.join(',') ?? null) }
            if (release) sp.release(); else sp.rollback()
            const after = dump(txn.range({}))
            return { out, before, after }
          })
          assert.deepEqual(got.out, want)
          if (!release) assert.deepEqual(got.after, got.before)
          else {
            const direct = await store.transact((txn) => { apply(txn, parentOps); apply(txn, ownOps); throw Object.assign(new Error('x'), { all: dump(txn.range({})) }) }).catch((e: { all: string[] }) => e.all)
            assert.deepEqual(got.after, direct)
          }
        }), { numRuns: 150 })
      } finally {
        await done()
      }
    })

    it('refuses a bad key when it is written, not when released', async () => {
      const { store, done } = await openStore()
      try {
        await store.transact((txn) => {
          const sp = new Savepoint(txn)
          assert.throws(() => sp.put(new Uint8Array(0), Uint8Array.of(1)), { name: 'InvalidArgumentError' })
          assert.throws(() => sp.put(new Uint8Array(5000), Uint8Array.of(1)), { name: 'InvalidArgumentError' })
        })
      } finally {
        await done()
      }
    })
  })
}

describeSavepoint('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, done: async () => { await store.close() } }
})
describeSavepoint('LmdbStore', async () => {
  const dir = tempDir()
  const store = LmdbStore.open({ path: dir.path })
  return { store, done: async () => { await store.close(); dir.cleanup() } }
})
