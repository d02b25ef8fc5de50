import assert from 'node:assert/strict'
import fc from 'fast-check'
import { COMPRESS_STORED_BYTES, decodeChangeBatch, encodeChangeBatch, decodeStoredEntry, encodeStoredEntry } from '../../../engine/log/entry.ts'
import { decodeChange, encodeChange } from '../../../engine/log/change.ts'
import { makeHlc } from '../../../engine/clock/hlc.ts'
import { BlazeError } from '../../../engine/errors.ts'

const change = encodeChange({ db: new Uint8Array(16), author: new Uint8Array(32).fill(1), seq: 1, prev: null, hlc: makeHlc(5, 0), ops: [{ op: 'set', c: 'x', id: 'a', p: [], v: { n: 1 } }] })

describe('change log encodings', () => {
  it('round-trips stored entries and batches', () => {
    const sig = new Uint8Array(64).fill(9)
    const stored = decodeStoredEntry(encodeStoredEntry({ bytes: change, hash: new Uint8Array(32).fill(2), signature: sig }))
    assert.deepEqual(stored.signature, sig)
    assert.deepEqual(stored.bytes, change)
    const batch = decodeChangeBatch(encodeChangeBatch([{ bytes: change, signature: null }, { bytes: change, signature: sig }]))
    assert.equal(batch.length, 2)
    assert.equal(batch[0]!.signature, null)
    assert.deepEqual(decodeChange(batch[1]!.bytes).ops, [{ op: 'set', c: 'x', id: 'a', p: [], v: { n: 1 } }])
  })

  it('stores a large change compressed and gives back its exact bytes; a damaged one is a CorruptionError', () => {
    const ops = Array.from({ length: 200 }, (_, i) => ({ op: 'set' as const, c: 'bugs', id: `bug-${i}`, p: [], v: { title: 'crash when syncing', status: 'open', votes: i } }))
    const big = encodeChange({ db: new Uint8Array(16), author: new Uint8Array(32).fill(1), seq: 1, prev: null, hlc: makeHlc(5, 0), ops })
    assert.ok(big.length >= COMPRESS_STORED_BYTES)
    const hash = new Uint8Array(32).fill(2)
    for (const signature of [null, new Uint8Array(64).fill(9)]) {
      const stored = encodeStoredEntry({ bytes: big, hash, signature })
      assert.ok(stored.length < big.length / 2, `stored ${stored.length} bytes for a change of ${big.length}`)
      const back = decodeStoredEntry(stored)
      assert.deepEqual(back.bytes, big)
      assert.deepEqual(back.hash, hash)
      assert.deepEqual(back.signature, signature)
      const damaged = stored.slice()
      damaged[damaged.length - 10]! ^= 0xff
      damaged[damaged.length - 30]! ^= 0xff
      assert.throws(() => decodeStoredEntry(damaged), { name: 'CorruptionError' })
      assert.throws(() => decodeStoredEntry(stored.subarray(0, signature === null ? 35 : 99)), { name: 'CorruptionError' })
    }
    // small changes stay as they are
    assert.equal(encodeStoredEntry({ bytes: change, hash, signature: null }).length, 33 + change.length)
  })

  it('any bytes as a batch or a change give a result or a typed error, never anything else', () => {
    const valid = encodeChangeBatch([{ bytes: change, signature: new Uint8Array(64) }])
    fc.assert(fc.property(fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const m = valid.slice(); m[i]! ^= x; return m }),
      fc.nat(valid.length).map((n) => valid.slice(0, n))
    ), (bytes) => {
      for (const fn of [() => decodeChangeBatch(bytes).map((e) => decodeChange(e.bytes)), () => decodeChange(bytes)]) {
        try { fn() } catch (error) { assert.ok(error instanceof BlazeError, String(error)) }
      }
    }), { numRuns: 3000 })
  })

  it('a batch declaring more entries than it can hold is refused before allocating', () => {
    const bytes = new Uint8Array(8)
    new DataView(bytes.buffer).setUint32(0, 0xffffffff)
    assert.throws(() => decodeChangeBatch(bytes), { name: 'InvalidChangeError' })
  })
})
