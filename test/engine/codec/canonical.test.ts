import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { compareUtf8, decode, decodeCanonical, encode, type Value } from '../../../engine/codec/index.ts'
import { BlazeError, CodecError, LimitExceededError, NonCanonicalError, UnencodableValueError } from '../../../engine/errors.ts'
import { hex, keyArb, reversedKeys, valueArb } from './arbitraries.ts'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

describe('codec: canonical encoding', () => {
  it('round-trips any value through encode / decodeCanonical and decode', () => {
    fc.assert(fc.property(valueArb, (v) => {
      const b = encode(v)
      assert.deepStrictEqual(decodeCanonical(b), v)
      assert.deepStrictEqual(decode(b), v)
    }), { numRuns: 600 })
  })

  it('re-encodes decoded canonical bytes to the same bytes', () => {
    fc.assert(fc.property(valueArb, (v) => {
      const b = encode(v)
      assert.equal(hex(encode(decodeCanonical(b))), hex(b))
    }), { numRuns: 300 })
  })

  it('gives the same bytes whatever the key insertion order', () => {
    fc.assert(fc.property(valueArb, (v) => {
      assert.equal(hex(encode(reversedKeys(v))), hex(encode(v)))
    }), { numRuns: 300 })
  })

  it('sorts keys by UTF-8 bytes, not UTF-16 units', () => {
    fc.assert(fc.property(keyArb, keyArb, (a, b) => {
      const order = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))
      assert.equal(Math.sign(compareUtf8(a, b)), order)
    }))
    // '\u{10000}' sorts before '\uE000' in UTF-16 but after it in UTF-8.
    const b = encode({ '\u{10000}': 1, '\uE000': 2 })
    assert.equal(hex(b), 'b283ee808002' + '84f090808001')
    assert.deepStrictEqual(decodeCanonical(b), { '\uE000': 2, '\u{10000}': 1 })
  })

  it('writes integers in their shortest form', () => {
    const cases: Array<[number, string]> = [
      [0, '00'], [127, '7f'], [128, 'c580'], [255, 'c5ff'], [256, 'c60100'], [65535, 'c6ffff'],
      [65536, 'c700010000'], [2 ** 32 - 1, 'c7ffffffff'], [2 ** 32, 'c80000000100000000'],
      [Number.MAX_SAFE_INTEGER, 'c8001fffffffffffff'], [-1, 'ff'], [-16, 'f0'], [-17, 'c9ef'],
      [-128, 'c980'], [-129, 'caff7f'], [-32768, 'ca8000'], [-32769, 'cbffff7fff'],
      [-(2 ** 31), 'cb80000000'], [-(2 ** 31) - 1, 'ccffffffff7fffffff'],
      [-Number.MAX_SAFE_INTEGER, 'ccffe0000000000001']
    ]
    for (const [n, expected] of cases) {
      assert.equal(hex(encode(n)), expected, String(n))
      assert.equal(decodeCanonical(encode(n)), n)
    }
  })

  it('keeps -0, one NaN, float32 where exact and float64 otherwise', () => {
    assert.equal(hex(encode(-0)), 'c380000000')
    assert.ok(Object.is(decodeCanonical(encode(-0)), -0))
    assert.equal(hex(encode(NaN)), 'c37fc00000')
    assert.equal(hex(encode(1.5)), 'c33fc00000')
    assert.equal(hex(encode(Infinity)), 'c37f800000')
    assert.equal(hex(encode(0.1)), 'c43fb999999999999a')
    assert.equal(hex(encode(2 ** 53)), 'c35a000000') // not a safe integer: a float
    assert.equal(hex(encode(Number.MAX_VALUE)), 'c47fefffffffffffff')
  })

  it('encodes bigints and Dates as their own types', () => {
    assert.equal(hex(encode(0n)), 'd900')
    assert.equal(hex(encode(5n)), 'd90105')
    assert.equal(hex(encode(-1n)), 'da00')
    assert.equal(hex(encode(-256n)), 'da01ff')
    assert.equal(hex(encode(2n ** 64n - 1n)), 'd908ffffffffffffffff')
    assert.equal(hex(encode(-(2n ** 63n))), 'da087fffffffffffffff')
    assert.equal(typeof decodeCanonical(encode(5n)), 'bigint')
    assert.equal(hex(encode(new Date(1000))), 'db00000001')
    assert.equal(hex(encode(new Date(1))), 'dc0000' + '00000001')
    assert.equal(hex(encode(new Date(-1))), 'dcffffffffffff')
    assert.equal(hex(encode(new Date(8.64e15))), 'dd' + '001eb208c2dc0000')
  })

  it('accepts Buffers, null-prototype objects and keeps __proto__ as a key', () => {
    assert.deepStrictEqual(decode(encode(Buffer.from([1, 2]))), Uint8Array.from([1, 2]))
    const bare = Object.assign(Object.create(null) as Record<string, Value>, { b: 1, a: 2 })
    assert.equal(hex(encode(bare)), hex(encode({ a: 2, b: 1 })))
    const proto = JSON.parse('{"__proto__": {"x": 1}}') as Value
    const back = decodeCanonical(encode(proto)) as Record<string, Value>
    assert.equal(Object.getPrototypeOf(back), Object.prototype)
    assert.deepStrictEqual(Object.keys(back), ['__proto__'])
    assert.deepStrictEqual(back, proto)
    assert.equal(decodeCanonical(encode('\uFEFFbom')), '\uFEFFbom')
  })

  it('throws UnencodableValueError for values with no BlazeBinary form', () => {
    class Point { x = 1 }
    const bad: unknown[] = [
      undefined, () => 1, Symbol('s'), new Point(), new Map(), new Int8Array(2), new Date(NaN),
      '\uD800', 'a\uDC00b', 'x'.repeat(100) + '\uD800', 2n ** 64n, -(2n ** 63n) - 1n,
      { a: undefined }, [1, undefined], [1, , 3], { a: [{ b: new Set() }] } // eslint-disable-line no-sparse-arrays
    ]
    for (const v of bad) assert.throws(() => encode(v as Value), UnencodableValueError, String(v))
  })

  it('bounds nesting on encode: deep values and cycles throw LimitExceededError', () => {
    let deep: Value = 1
    for (let i = 0; i < 64; i++) deep = [deep]
    assert.deepStrictEqual(decode(encode(deep)), deep)
    assert.throws(() => encode([deep]), LimitExceededError)
    assert.doesNotThrow(() => encode([deep], { maxDepth: 65 }))
    const cyclic: Record<string, Value> = {}
    cyclic.self = cyclic
    assert.throws(() => encode(cyclic), LimitExceededError)
    let huge: Value = 1
    for (let i = 0; i < 100_000; i++) huge = { k: huge }
    assert.throws(() => encode(huge, { maxDepth: 1_000_000 }), LimitExceededError)
  })

  it('keeps every earlier result intact while later calls fill and outgrow the output slab', () => {
    const values: Value[] = []
    const results: Uint8Array[] = []
    for (let i = 0; i < 3000; i++) {
      const v: Value = i % 500 === 7 ? { big: 'x'.repeat(100_000 + i), i } : { i, s: 'y'.repeat(i % 300) }
      values.push(v)
      results.push(encode(v))
      if (i % 100 === 3) assert.throws(() => encode({ bad: [1, 2, undefined] } as unknown as Value), UnencodableValueError)
    }
    results.forEach((b, i) => assert.deepStrictEqual(decodeCanonical(b), values[i]))
  })

  it('handles ever-new key sets (dictionaries) and very long keys', () => {
    for (let i = 0; i < 20_000; i++) {
      const v = { [`user-${i}`]: i, [`u-${i * 7}`]: [i], z: null }
      if (i % 997 === 0) assert.deepStrictEqual(decodeCanonical(encode(v)), v)
      else encode(v)
    }
    const long = { ['k'.repeat(70_000)]: 1, ['\u00e9'.repeat(3000)]: 2, a: 3 }
    const b = encode(long)
    assert.deepStrictEqual(decodeCanonical(b), long)
    assert.equal(hex(encode(reversedKeys(long))), hex(b))
  })

  it('survives encode being called from a getter during encode', () => {
    const inner = { a: 1 }
    const outer = { get x () { return hex(encode(inner)) }, y: 2 } as unknown as Value
    assert.deepStrictEqual(decode(encode(outer)), { x: 'b18161' + '01', y: 2 })
  })

  it('decodeCanonical rejects every non-canonical variant that decode accepts', () => {
    const variants: Array<[string, Value]> = [
      ['c505', 5], ['c60005', 5], ['c700000005', 5], ['c80000000000000005', 5], ['c9ff', -1], ['ca0080', 128],
      ['cd0161', 'a'], ['ce000161', 'a'], ['d30101', [1]], ['d70000', {}],
      ['c43ff8000000000000', 1.5], ['c33f800000', 1], ['c37fc00001', NaN],
      ['c4fff8000000000000', NaN], ['d9020001', 1n], ['dc000000000000', new Date(0)],
      ['b2816201816101', { a: 1, b: 1 }], ['b18161cd0161', { a: 'a' }]
    ]
    for (const [h, expected] of variants) {
      const b = Buffer.from(h, 'hex')
      assert.deepStrictEqual(decode(b), expected, h)
      assert.throws(() => decodeCanonical(b), NonCanonicalError, h)
    }
  })

  it('both decoders reject duplicate keys, integers beyond the safe range and bad UTF-8', () => {
    const bad = ['b2816101816102', 'b3816101816201816101', 'c80020000000000000', 'cc ffdfffffffffffff', '82c0af', '83eda080', '82c180']
    for (const h of bad) {
      const b = Buffer.from(h.replace(/ /g, ''), 'hex')
      assert.throws(() => decode(b), CodecError, h)
      assert.throws(() => decodeCanonical(b), BlazeError, h)
    }
  })

  it('any bytes decodeCanonical accepts re-encode to themselves', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
      let v: Value
      try { v = decodeCanonical(b) } catch { return }
      assert.equal(hex(encode(v)), hex(b))
    }), { numRuns: 3000 })
    assert.deepStrictEqual(decodeCanonical(bytes(0xa2, 0x01, 0xc0)), [1, null])
  })
})
