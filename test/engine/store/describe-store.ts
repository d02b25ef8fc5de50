/**
 * The Store compliance suite: every implementation runs exactly these tests.
 *
 *   describeStore('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} }))
 */
import assert from 'node:assert/strict'
import type { Bytes, Entry, Store, StoreTxn } from '../../../engine/store/types.ts'
import { MAX_KEY_BYTES } from '../../../engine/store/checks.ts'
import { describeStoreModel } from './store-model.ts'

export type OpenStore = () => Promise<{ store: Store, cleanup: () => Promise<void> }>

export const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes)
export const s = (text: string): Uint8Array => new TextEncoder().encode(text)
export const hex = (bytes: Bytes | undefined): string | undefined => bytes === undefined ? undefined : Buffer.from(bytes).toString('hex')
export const rows = (entries: Iterable<Entry>): Array<[string, string]> => [...entries].map((e) => [hex(e.key)!, hex(e.value)!])

async function rejectsWith (promise: Promise<unknown>, name: string): Promise<void> {
  await assert.rejects(promise, (error: Error) => error.name === name)
}

function throwsWith (fn: () => unknown, name: string): void {
  assert.throws(fn, (error: Error) => error.name === name)
}

export function describeStore (name: string, open: OpenStore): void {
  describe(`Store compliance: ${name}`, function () {
    let store: Store
    let cleanup: () => Promise<void>

    beforeEach(async function () {
      ({ store, cleanup } = await open())
    })
    afterEach(async function () {
      try {
        await store.close()
      } finally {
        await cleanup()
      }
    })

    const put = async (key: Uint8Array, value: Uint8Array): Promise<void> => { await store.transact((t) => { t.put(key, value) }) }
    const putAll = async (keys: Uint8Array[]): Promise<void> => {
      await store.transact((t) => { for (const k of keys) t.put(k, Uint8Array.of(k.length, ...k.subarray(0, 3))) })
    }

    describe('get, put, delete', function () {
      it('reads back what was put, and nothing once deleted', async function () {
        assert.equal(store.get(s('a')), undefined)
        await put(s('a'), s('one'))
        assert.equal(hex(store.get(s('a'))), hex(s('one')))
        await put(s('a'), s('two'))
        assert.equal(hex(store.get(s('a'))), hex(s('two')))
        await store.transact((t) => { t.delete(s('a')) })
        assert.equal(store.get(s('a')), undefined)
        await store.transact((t) => { t.delete(s('never-there')) })
      })

      it('keeps empty, binary and large values exactly', async function () {
        const large = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff)
        await store.transact((t) => {
          t.put(s('empty'), new Uint8Array(0))
          t.put(s('bin'), b(0, 255, 0, 1))
          t.put(s('large'), large)
        })
        assert.equal(store.get(s('empty'))?.length, 0)
        assert.equal(hex(store.get(s('bin'))), '00ff0001')
        assert.equal(hex(store.get(s('large'))), hex(large))
      })

      it('copies values in and out', async function () {
        const value = s('original')
        await store.transact((t) => { t.put(s('k'), value); value[0] = 0 })
        assert.equal(hex(store.get(s('k'))), hex(s('original')))
        const first = store.get(s('k'))!
        first.fill(0)
        const kept = [...store.range({})][0]!.value
        assert.equal(hex(store.get(s('k'))), hex(s('original')))
        store.get(s('other'))
        assert.equal(hex(kept), hex(s('original')), 'a value from range stays valid after later reads')
      })

      it('accepts keys of 1 to MAX_KEY_BYTES bytes and refuses others', async function () {
        const longest = new Uint8Array(MAX_KEY_BYTES).fill(7)
        await put(longest, s('v'))
        assert.equal(hex(store.get(longest)), hex(s('v')))
        throwsWith(() => store.get(new Uint8Array(0)), 'InvalidArgumentError')
        throwsWith(() => store.get(new Uint8Array(MAX_KEY_BYTES + 1)), 'InvalidArgumentError')
        throwsWith(() => store.get('a' as unknown as Uint8Array), 'InvalidArgumentError')
        await rejectsWith(store.transact((t) => { t.put(new Uint8Array(0), s('v')) }), 'InvalidArgumentError')
        await rejectsWith(store.transact((t) => { t.put(s('k'), 'v' as unknown as Uint8Array) }), 'InvalidArgumentError')
        throwsWith(() => store.range({ limit: -1 }), 'InvalidArgumentError')
        throwsWith(() => store.range({ gte: 'a' as unknown as Uint8Array }), 'InvalidArgumentError')
      })
    })

    describe('key order and range', function () {
      const keys = [b(0), b(0, 0), b(0, 255), b(1), b(1, 0), b(127), b(128), b(255), b(255, 0), b(255, 255), s('a'), s('ab'), s('abc'), s('b')]
      const sorted = [...keys].sort(Buffer.compare).map((k) => hex(k)!)
      const keysOf = (entries: Iterable<Entry>): string[] => [...entries].map((e) => hex(e.key)!)
      const expect = (pred: (k: Buffer) => boolean): string[] => sorted.filter((k) => pred(Buffer.from(k, 'hex')))

      beforeEach(async function () { await putAll(keys) })

      it('sorts keys bytewise, unsigned, a prefix before its extensions', function () {
        assert.deepEqual(keysOf(store.range({})), sorted)
        assert.deepEqual(keysOf(store.range({ reverse: true })), [...sorted].reverse())
      })

      it('takes gte inclusive and lt exclusive, on present and absent keys', function () {
        const cases: Array<[Uint8Array | undefined, Uint8Array | undefined]> = [
          [b(0), b(1)], [b(0, 0), b(0, 255)], [b(0, 1), b(255)], [s('a'), s('abc')], [s('aa'), s('abd')],
          [undefined, b(1)], [b(128), undefined], [b(0), undefined], [undefined, b(0)], [b(255, 255), undefined], [b(255, 255, 0), undefined]
        ]
        for (const [gte, lt] of cases) {
          const want = expect((k) => (gte === undefined || Buffer.compare(k, gte) >= 0) && (lt === undefined || Buffer.compare(k, lt) < 0))
          const opts = { ...(gte === undefined ? {} : { gte }), ...(lt === undefined ? {} : { lt }) }
          assert.deepEqual(keysOf(store.range(opts)), want, `[${hex(gte)}, ${hex(lt)})`)
          assert.deepEqual(keysOf(store.range({ ...opts, reverse: true })), [...want].reverse(), `reverse [${hex(gte)}, ${hex(lt)})`)
          assert.deepEqual(keysOf(store.range({ ...opts, limit: 2 })), want.slice(0, 2), `limit [${hex(gte)}, ${hex(lt)})`)
          assert.deepEqual(keysOf(store.range({ ...opts, reverse: true, limit: 2 })), [...want].reverse().slice(0, 2), `reverse limit [${hex(gte)}, ${hex(lt)})`)
          assert.equal(store.count(opts), want.length, `count [${hex(gte)}, ${hex(lt)})`)
        }
        assert.equal(store.count({}), sorted.length)
        assert.equal(store.count({ gte: b(1), lt: b(0) }), 0)
      })

      it('yields nothing for empty or inverted bounds and limit 0', function () {
        assert.deepEqual(keysOf(store.range({ gte: s('b'), lt: s('b') })), [])
        assert.deepEqual(keysOf(store.range({ gte: s('b'), lt: s('a') })), [])
        assert.deepEqual(keysOf(store.range({ lt: new Uint8Array(0) })), [])
        assert.deepEqual(keysOf(store.range({ limit: 0 })), [])
        assert.deepEqual(keysOf(store.range({ gte: new Uint8Array(0) })), sorted, 'an empty gte is the start')
      })

      it('returns values with their keys', function () {
        for (const e of store.range({ gte: s('a'), lt: s('b') })) {
          assert.equal(hex(e.value), hex(Uint8Array.of(e.key.length, ...e.key.subarray(0, 3))))
        }
      })

      it('stays sorted through many inserts and deletes', async function () {
        const many = Array.from({ length: 3000 }, (_, i) => s(`k${((i * 7919) % 3000).toString(36)}`))
        await putAll(many)
        await store.transact((t) => { for (let i = 0; i < many.length; i += 2) t.delete(many[i]!) })
        const left = new Set([...keys, ...many.filter((_, i) => i % 2 === 1)].map((k) => hex(k)!))
        assert.deepEqual(keysOf(store.range({})), [...left].sort())
        assert.deepEqual(keysOf(store.range({ reverse: true, gte: s('k'), limit: 5 })), [...left].filter((k) => k >= hex(s('k'))!).sort().reverse().slice(0, 5))
      })
    })

    describe('transact', function () {
      it('resolves with the function result', async function () {
        assert.equal(await store.transact(() => 42), 42)
        assert.deepEqual(await store.transact((t) => { t.put(s('x'), s('1')); return { ok: true } }), { ok: true })
      })

      it('writes nothing when the function throws, and rejects with its error', async function () {
        await put(s('keep'), s('old'))
        const boom = new Error('boom')
        await assert.rejects(store.transact((t) => {
          t.put(s('new'), s('1'))
          t.put(s('keep'), s('changed'))
          t.delete(s('keep'))
          throw boom
        }), (e) => e === boom)
        assert.equal(store.get(s('new')), undefined)
        assert.equal(hex(store.get(s('keep'))), hex(s('old')))
      })

      it('keeps a failing function out of a batch of succeeding ones in the same tick', async function () {
        await put(s('shared'), s('0'))
        const results = await Promise.allSettled([
          store.transact((t) => { t.put(s('a'), s('1')) }),
          store.transact((t) => { t.put(s('b'), s('1')); t.put(s('shared'), s('bad')); t.delete(s('a')); throw new Error('fails') }),
          store.transact((t) => { t.put(s('c'), s('1')); return hex(t.get(s('shared'))) }),
          store.transact((t) => { t.put(s('d'), s('1')); throw new Error('fails too') }),
          store.transact((t) => { t.put(s('e'), s('1')) })
        ])
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'])
        assert.equal((results[2] as PromiseFulfilledResult<unknown>).value, hex(s('0')))
        assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'shared'].map((k) => hex(store.get(s(k)))), [hex(s('1')), undefined, hex(s('1')), undefined, hex(s('1')), hex(s('0'))])
      })

      it('refuses a function that returns a promise, writing nothing', async function () {
        await rejectsWith(store.transact((t) => { t.put(s('p'), s('1')); return Promise.resolve(1) }), 'InvalidArgumentError')
        await rejectsWith(store.transact((t) => { t.put(s('p'), s('1')); return Promise.reject(new Error('x')) }), 'InvalidArgumentError')
        assert.equal(store.get(s('p')), undefined)
      })

      it('serialises concurrent read-modify-write transactions', async function () {
        const counter = s('counter')
        const bump = (t: StoreTxn): number => {
          const now = (t.get(counter)?.[0] ?? 0) + ((t.get(counter)?.[1] ?? 0) << 8)
          t.put(counter, b((now + 1) & 0xff, (now + 1) >> 8))
          return now + 1
        }
        const seen = await Promise.all(Array.from({ length: 200 }, () => store.transact(bump)))
        assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1))
        const v = store.get(counter)!
        assert.equal(v[0]! + (v[1]! << 8), 200)
      })

      it('applies transactions in the order they were started', async function () {
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.transact((t) => { t.put(s('last'), b(i)) })))
        assert.equal(hex(store.get(s('last'))), hex(b(49)))
      })

      it('lets a transaction read its own writes with get and range', async function () {
        await store.transact((t) => { for (const k of ['a', 'c', 'e', 'g']) t.put(s(k), s('stored')) })
        const seen = await store.transact((t) => {
          t.put(s('b'), s('own'))
          t.put(s('c'), s('own'))
          t.delete(s('e'))
          t.put(s('h'), s('own'))
          t.put(s('h'), s('own2'))
          t.delete(s('x'))
          return {
            get: ['a', 'b', 'c', 'e', 'h', 'x'].map((k) => t.get(s(k)) === undefined ? '-' : Buffer.from(t.get(s(k))!).toString()),
            all: [...t.range({})].map((e) => `${Buffer.from(e.key).toString()}=${Buffer.from(e.value).toString()}`),
            reverse: [...t.range({ reverse: true, limit: 3 })].map((e) => Buffer.from(e.key).toString()),
            bounded: [...t.range({ gte: s('c'), lt: s('h'), limit: 2 })].map((e) => Buffer.from(e.key).toString())
          }
        })
        assert.deepEqual(seen.get, ['stored', 'own', 'own', '-', 'own2', '-'])
        assert.deepEqual(seen.all, ['a=stored', 'b=own', 'c=own', 'g=stored', 'h=own2'])
        assert.deepEqual(seen.reverse, ['h', 'g', 'c'])
        assert.deepEqual(seen.bounded, ['c', 'g'])
        assert.deepEqual(rows(store.range({})).map(([k]) => Buffer.from(k, 'hex').toString()), ['a', 'b', 'c', 'g', 'h'])
      })

      it('lets a transaction see the writes of transactions started before it', async function () {
        const [, seen] = await Promise.all([
          store.transact((t) => { t.put(s('first'), s('1')) }),
          store.transact((t) => hex(t.get(s('first'))))
        ])
        assert.equal(seen, hex(s('1')))
      })

      it('ends the transaction handle, and its range iterators, when the function returns', async function () {
        await putAll([s('a'), s('b'), s('c')])
        let kept: StoreTxn | undefined
        let iter: Iterator<Entry> | undefined
        await store.transact((t) => {
          kept = t
          iter = t.range({})
          iter.next()
        })
        throwsWith(() => kept!.get(s('a')), 'TransactionFinishedError')
        throwsWith(() => { kept!.put(s('z'), s('1')) }, 'TransactionFinishedError')
        throwsWith(() => iter!.next(), 'TransactionFinishedError')
        assert.equal(store.get(s('z')), undefined)
      })

      it('resolves flushed() after every transaction started before it', async function () {
        const pending = Array.from({ length: 20 }, (_, i) => store.transact((t) => { t.put(b(i + 1), b(i)) }))
        await store.flushed()
        assert.equal([...store.range({})].length, 20)
        await Promise.all(pending)
      })
    })

    describe('snapshots', function () {
      it('do not see writes made after they were taken', async function () {
        await putAll([s('a'), s('b'), s('c')])
        const snap = store.snapshot()
        const before = rows(snap.range({}))
        await store.transact((t) => { t.put(s('a'), s('new')); t.delete(s('b')); t.put(s('d'), s('new')) })
        assert.equal(hex(snap.get(s('a'))), hex(b(1, ...s('a'))))
        assert.equal(hex(snap.get(s('b'))), hex(b(1, ...s('b'))))
        assert.equal(snap.get(s('d')), undefined)
        assert.deepEqual(rows(snap.range({})), before)
        assert.deepEqual(rows(snap.range({ reverse: true, limit: 1 })), [before[2]])
        assert.equal(hex(store.get(s('a'))), hex(s('new')))
        const inside = await store.transact((t) => { t.put(s('e'), s('1')); return [hex(snap.get(s('a'))), hex(snap.get(s('d'))), hex(snap.get(s('e'))), rows(snap.range({})).length] })
        assert.deepEqual(inside, [hex(b(1, ...s('a'))), undefined, undefined, 3], 'a snapshot read inside a transaction function still reads the snapshot')
        snap.release()
      })

      it('refuse use once released, and release is idempotent', async function () {
        await putAll([s('a')])
        const snap = store.snapshot()
        const iter = snap.range({})
        snap.release()
        snap.release()
        throwsWith(() => snap.get(s('a')), 'SnapshotReleasedError')
        throwsWith(() => snap.range({}), 'SnapshotReleasedError')
        throwsWith(() => iter.next(), 'SnapshotReleasedError')
        assert.equal(hex(store.get(s('a'))), hex(b(1, ...s('a'))))
      })

      it('can be many at once, each at its own point', async function () {
        const snaps = []
        for (let i = 0; i < 5; i++) {
          await put(s('v'), b(i))
          snaps.push(store.snapshot())
        }
        assert.deepEqual(snaps.map((x) => hex(x.get(s('v')))), [0, 1, 2, 3, 4].map((i) => hex(b(i))))
        for (const x of snaps) x.release()
      })

      it('a store range iterator reads one consistent view', async function () {
        await putAll([s('a'), s('b'), s('c'), s('d')])
        const iter = store.range({})
        assert.equal(hex(iter.next().value?.key), hex(s('a')))
        await store.transact((t) => { t.delete(s('c')); t.put(s('bb'), s('1')); t.put(s('e'), s('1')) })
        assert.deepEqual([...iter].map((e) => Buffer.from(e.key).toString()), ['b', 'c', 'd'])
      })
    })

    describe('close', function () {
      it('waits for pending transactions, then refuses every operation', async function () {
        await putAll([s('a')])
        const snap = store.snapshot()
        const iter = store.range({})
        iter.next()
        let committed = false
        const pending = store.transact((t) => { t.put(s('late'), s('1')) }).then(() => { committed = true })
        await store.close()
        assert.equal(committed, true)
        await pending
        throwsWith(() => store.get(s('a')), 'StoreClosedError')
        throwsWith(() => store.range({}), 'StoreClosedError')
        throwsWith(() => store.snapshot(), 'StoreClosedError')
        throwsWith(() => snap.get(s('a')), 'StoreClosedError')
        throwsWith(() => iter.next(), 'StoreClosedError')
        await rejectsWith(store.transact(() => 1), 'StoreClosedError')
        snap.release()
        await store.close()
        await store.flushed()
      })
    })

    describeStoreModel(open)
  })
}
