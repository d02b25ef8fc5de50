import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { decode, decodeCanonical, encode, type Value } from '../../../engine/codec/index.ts'
import {
  CodecError, InvalidArgumentError, InvalidTagError, LimitExceededError, TruncatedInputError
} from '../../../engine/errors.ts'
import { hex, typedOrValue, valueArb } from './arbitraries.ts'

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

/** Decodes with both decoders; a success must re-encode consistently. */
function checkDecoders (b: Uint8Array): void {
  const lenient = typedOrValue(() => decode(b))
  if (lenient.ok) assert.deepStrictEqual(decode(encode(lenient.value)), lenient.value)
  const strict = typedOrValue(() => decodeCanonical(b))
  if (strict.ok) {
    assert.equal(hex(encode(strict.value)), hex(b))
    assert.ok(lenient.ok, 'decodeCanonical accepted what decode refused')
  }
}

describe('codec: hostile input', () => {
  it('random bytes give a value or a typed error, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), checkDecoders), { numRuns: 20_000 })
  })

  it('every truncation of a valid encoding is a TruncatedInputError', () => {
    fc.assert(fc.property(valueArb, (v) => {
      const b = encode(v)
      for (let n = 0; n < b.length; n++) {
        assert.throws(() => decode(b.subarray(0, n)), TruncatedInputError)
      }
    }), { numRuns: 200 })
  })

  it('single-byte mutations of valid encodings give a value or a typed error', () => {
    fc.assert(fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
      const b = encode(v).slice()
      b[at % b.length] = byte
      checkDecoders(b)
    }), { numRuns: 10_000 })
  })

  it('inserted and deleted bytes give a value or a typed error', () => {
    fc.assert(fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (v, at, byte, insert) => {
      const b = encode(v)
      const i = at % (b.length + 1)
      const mutated = insert
        ? Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)])
        : Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)])
      checkDecoders(mutated)
    }), { numRuns: 3000 })
  })

  it('rejects huge declared lengths and counts before allocating', () => {
    // Each declares ~4 GiB or 4 billion items with a handful of bytes behind it.
    const cases = ['cfffffffff61', 'd2ffffffff00', 'd5ffffffff00', 'd8ffffffff8161', 'd4ffff', 'd7ffff', 'cdff', 'd0ff', 'd3ff']
    for (const h of cases) assert.throws(() => decode(fromHex(h)), TruncatedInputError, h)
    // A map entry is at least 2 bytes: 3 entries cannot fit in 5 bytes.
    assert.throws(() => decode(fromHex('b3' + '8161008162')), TruncatedInputError)
    assert.throws(() => decode(fromHex('d9' + '09' + '00'.repeat(9))), CodecError)
  })

  it('rejects trailing bytes, unknown structure tags and non-string keys', () => {
    assert.throws(() => decode(fromHex('0000')), CodecError)
    assert.throws(() => decode(fromHex('e0')), InvalidTagError)
    assert.throws(() => decode(fromHex('de20')), InvalidTagError)
    assert.throws(() => decode(fromHex('b10101')), InvalidTagError)
    assert.throws(() => decode(new Uint8Array(0)), TruncatedInputError)
    assert.throws(() => decode('abc' as unknown as Uint8Array), InvalidArgumentError)
  })

  it('enforces maxDepth, maxItems and maxBytes', () => {
    const nest = (n: number): Uint8Array => Uint8Array.from([...new Array<number>(n).fill(0xa1), 0xc0])
    assert.doesNotThrow(() => decode(nest(64)))
    assert.throws(() => decode(nest(65)), LimitExceededError)
    assert.throws(() => decode(nest(10), { maxDepth: 9 }), LimitExceededError)
    assert.doesNotThrow(() => decode(nest(10), { maxDepth: 10 }))
    const list = encode([1, 2, [3, 4]])
    assert.doesNotThrow(() => decode(list, { maxItems: 5 }))
    assert.throws(() => decode(list, { maxItems: 4 }), LimitExceededError)
    assert.throws(() => decode(list, { maxBytes: list.length - 1 }), LimitExceededError)
    assert.throws(() => decode(list, { maxDepth: -1 }), InvalidArgumentError)
  })

  it('a 100k-deep input is refused without overflowing the stack, whatever maxDepth says', () => {
    const arrays = Uint8Array.from([...new Array<number>(100_000).fill(0xa1), 0xc0])
    const maps = new Uint8Array(300_001).fill(0xc0)
    for (let i = 0; i < 100_000; i++) maps.set([0xb1, 0x81, 0x6b], i * 3)
    for (const b of [arrays, maps]) {
      assert.throws(() => decode(b), LimitExceededError)
      assert.throws(() => decodeCanonical(b), LimitExceededError)
      assert.throws(() => decode(b, { maxDepth: Infinity }), LimitExceededError)
    }
  })

  it('decoded byte arrays are plain Uint8Array copies, even from a Buffer', () => {
    for (const input of [encode({ bytes: Uint8Array.from([1, 2, 3]) }).slice(), Buffer.from(encode({ bytes: Uint8Array.from([1, 2, 3]) }))]) {
      const out = decode(input) as { bytes: Uint8Array }
      input.fill(0)
      assert.deepStrictEqual(out.bytes, Uint8Array.from([1, 2, 3]))
      assert.equal(Object.getPrototypeOf(out.bytes), Uint8Array.prototype)
      assert.notEqual(out.bytes.buffer, input.buffer)
    }
  })

  it('reads from a Uint8Array view at any offset', () => {
    fc.assert(fc.property(valueArb, fc.nat({ max: 7 }), (v: Value, offset) => {
      const b = encode(v)
      const padded = new Uint8Array(b.length + offset + 3)
      padded.set(b, offset)
      assert.deepStrictEqual(decode(padded.subarray(offset, offset + b.length)), v)
    }), { numRuns: 200 })
  })
})
