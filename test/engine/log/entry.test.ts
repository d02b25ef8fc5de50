import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeChangeBatch, encodeChangeBatch, decodeStoredEntry, encodeStoredEntry } from '../../../engine/log/entry.ts'
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
