import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Value } from '../../../engine/codec/index.ts'
import { compareValues, valuesEqual } from '../../../engine/query/index.ts'
import { canonicalKey, getField } from '../../../engine/query/values.ts'
import { reversedKeys, valueArb } from '../codec/arbitraries.ts'
import { refCompare } from './reference.ts'

const sign = (x: number): number => Math.sign(x) || 0

/** Groups of equal values, the groups in ascending order. */
const ORDER: Array<Array<Value | undefined>> = [
  [undefined],
  [null],
  [false],
  [true],
  [NaN],
  [-Infinity],
  [-(2n ** 63n)],
  [-1.5],
  [-1, -1n],
  [0, -0, 0n],
  [0.5],
  [1, 1n],
  [2 ** 53, 2n ** 53n],
  [2n ** 53n + 1n],
  [2 ** 60, 2n ** 60n],
  [2n ** 64n - 1n],
  [Infinity],
  [''],
  ['B'],
  ['a'],
  ['ab'],
  ['b'],
  ['\uE000'],
  ['\u{1F600}'], // after U+E000 by code point, before it by UTF-16 unit
  [new Date(-1)],
  [new Date(0)],
  [Uint8Array.of()],
  [Uint8Array.of(0)],
  [Uint8Array.of(0, 1)],
  [Uint8Array.of(1)],
  [[]],
  [[null]],
  [[1], [1n]],
  [[1, 'a']],
  [['a']],
  [{}],
  [{ a: 1 }],
  [{ a: 1, b: 1 }, { b: 1, a: 1 }],
  [{ a: 2 }],
  [{ b: 0 }]
]

describe('query: the total order of values', () => {
  it('orders the type classes and the values inside each, equal values tying', () => {
    ORDER.forEach((gi, i) => ORDER.forEach((gj, j) => {
      for (const a of gi) {
        for (const b of gj) {
          assert.equal(sign(compareValues(a, b)), sign(i - j), `${String(a)} vs ${String(b)}`)
          assert.equal(canonicalKey(a) === canonicalKey(b), i === j, `group keys of ${String(a)} and ${String(b)}`)
        }
      }
    }))
  })

  it('deep equality ignores key order and tells numbers from strings', () => {
    assert.ok(valuesEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1n, { b: 2 }] }))
    assert.ok(!valuesEqual({ a: 1 }, { a: 1, b: undefined as unknown as Value }))
    assert.ok(!valuesEqual('1', 1))
    assert.ok(valuesEqual(NaN, NaN))
  })

  it('is a total order on random values: antisymmetric, transitive, agreeing with the reference and group keys', () => {
    fc.assert(fc.property(valueArb, valueArb, valueArb, (a, b, c) => {
      assert.equal(sign(compareValues(a, b)) + sign(compareValues(b, a)), 0)
      assert.equal(sign(compareValues(a, b)), sign(refCompare(a, b)))
      assert.equal(compareValues(a, a), 0)
      assert.equal(compareValues(a, reversedKeys(a)), 0)
      assert.equal(canonicalKey(a) === canonicalKey(b), compareValues(a, b) === 0)
      const [x, y, z] = [a, b, c].sort(compareValues)
      assert.ok(compareValues(x, z) <= 0 && compareValues(x, y) <= 0 && compareValues(y, z) <= 0)
    }), { numRuns: 300 })
  })

  it('reads only own keys of plain objects along a path', () => {
    const doc: Record<string, Value> = { a: { b: 1 }, s: 'text', arr: [{ b: 2 }] }
    assert.equal(getField(doc, ['a', 'b']), 1)
    assert.equal(getField(doc, ['constructor']), undefined)
    assert.equal(getField(doc, ['a', 'toString']), undefined)
    assert.equal(getField(doc, ['__proto__']), undefined)
    assert.equal(getField(doc, ['s', 'length']), undefined)
    assert.equal(getField(doc, ['arr', '0']), undefined)
  })
})
