import { strict as assert } from 'node:assert'
import { crc32, zstdCompressSync } from 'node:zlib'
import fc from 'fast-check'
import {
  decodeFrame, encode, encodeFrame, FrameDecoder, frameLength, type Frame
} from '../../../engine/codec/index.ts'
import {
  BlazeError, ChecksumError, CodecError, InvalidArgumentError, LimitExceededError, TruncatedInputError, UnsupportedVersionError
} from '../../../engine/errors.ts'

/** A frame built by hand, for headers that encodeFrame would never write. */
function forgeFrame (stored: Uint8Array, options: { rawLength?: number, flags?: number, version?: number, type?: number }): Uint8Array {
  const compressed = options.rawLength !== undefined
  const header = compressed ? 17 : 13
  const out = new Uint8Array(header + stored.length)
  const view = new DataView(out.buffer)
  out.set([0xb1, 0xdb, options.version ?? 1, options.flags ?? (compressed ? 1 : 0), options.type ?? 0])
  view.setUint32(5, stored.length)
  if (compressed) view.setUint32(9, options.rawLength!)
  out.set(stored, header)
  view.setUint32(header - 4, crc32(stored, crc32(out.subarray(0, header - 4))))
  return out
}

const text = (n: number): Uint8Array => new TextEncoder().encode('the quick brown fox jumps over the lazy dog '.repeat(Math.ceil(n / 44)).slice(0, n))

function plain (frame: Frame): { type: number, payload: number[], compressed: boolean } {
  return { type: frame.type, payload: [...frame.payload], compressed: frame.compressed }
}

describe('codec: frames', () => {
  it('round-trips payloads of any size and type, compressed or not', () => {
    fc.assert(fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 5000 }).map(text)),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom('auto', 'always', 'never') as fc.Arbitrary<'auto' | 'always' | 'never'>,
      (payload, type, compress) => {
        const frame = encodeFrame(payload, { type, compress })
        const out = decodeFrame(frame)
        assert.deepStrictEqual([...out.payload], [...payload])
        assert.equal(out.type, type)
        assert.equal(out.compressed, compress === 'always' || (compress === 'auto' && out.compressed))
        assert.equal(frameLength(frame), frame.length)
      }), { numRuns: 200 })
  })

  it("'auto' compresses only large payloads that shrink by at least 10%", () => {
    assert.equal(decodeFrame(encodeFrame(text(500))).compressed, false)
    const big = encodeFrame(text(5000))
    assert.equal(decodeFrame(big).compressed, true)
    assert.ok(big.length < 1000)
    let x = 2463534242
    const noise = new Uint8Array(4000).map(() => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff })
    assert.equal(decodeFrame(encodeFrame(noise)).compressed, false)
    assert.equal(encodeFrame(new Uint8Array(3)).length, 13 + 3)
  })

  it('detects every flipped bit: a typed error, a ChecksumError in the type, payload or CRC', () => {
    for (const frame of [encodeFrame(encode({ a: [1, 'x'] }), { type: 9 }), encodeFrame(text(900), { compress: 'always' })]) {
      const headerLength = frame[3] === 1 ? 17 : 13
      for (let bit = 0; bit < frame.length * 8; bit++) {
        const damaged = frame.slice()
        damaged[bit >> 3]! ^= 1 << (bit & 7)
        const byte = bit >> 3
        const mustBeChecksum = byte === 4 || byte >= headerLength - 4
        assert.throws(() => decodeFrame(damaged), mustBeChecksum ? ChecksumError : BlazeError, `bit ${bit}`)
      }
    }
  })

  it('rejects truncated frames, trailing bytes, foreign magic, versions and flags', () => {
    const frame = encodeFrame(text(100), { compress: 'never' })
    for (let n = 0; n < frame.length; n++) assert.throws(() => decodeFrame(frame.subarray(0, n)), TruncatedInputError, String(n))
    assert.throws(() => decodeFrame(Uint8Array.from([...frame, 0])), CodecError)
    assert.throws(() => decodeFrame(forgeFrame(text(10), { version: 2 })), UnsupportedVersionError)
    assert.throws(() => decodeFrame(forgeFrame(text(10), { flags: 2 })), UnsupportedVersionError)
    const foreign = frame.slice()
    foreign[0] = 0x42
    assert.throws(() => decodeFrame(foreign), CodecError)
    assert.throws(() => encodeFrame(text(1), { type: 256 }), InvalidArgumentError)
    assert.throws(() => encodeFrame(text(1), { compress: 'maybe' as 'auto' }), InvalidArgumentError)
  })

  it('refuses a decompression bomb: 100 MB of zeros in a few kB', () => {
    const bomb = zstdCompressSync(new Uint8Array(100 * 1024 * 1024))
    assert.ok(bomb.length < 100_000)
    // Honest header: refused from the declared size alone.
    assert.throws(() => decodeFrame(forgeFrame(bomb, { rawLength: 100 * 1024 * 1024 })), LimitExceededError)
    assert.throws(() => frameLength(forgeFrame(bomb, { rawLength: 100 * 1024 * 1024 })), LimitExceededError)
    // Lying header: inflation stops at the declared size.
    assert.throws(() => decodeFrame(forgeFrame(bomb, { rawLength: 1000 })), CodecError)
    // Declared length larger than the real one.
    const small = zstdCompressSync(text(600))
    assert.throws(() => decodeFrame(forgeFrame(small, { rawLength: 601 })), CodecError)
    assert.throws(() => decodeFrame(forgeFrame(small, { rawLength: 599 })), CodecError)
    assert.equal(decodeFrame(forgeFrame(small, { rawLength: 600 })).payload.length, 600)
    assert.throws(() => decodeFrame(encodeFrame(text(2000)), { maxPayloadBytes: 1999 }), LimitExceededError)
  })

  it('FrameDecoder yields the same frames however the stream is chunked', () => {
    const frameArb = fc.record({
      payload: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 3000 }).map(text)),
      type: fc.integer({ min: 0, max: 255 })
    })
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), (frames, cuts) => {
      const encoded = frames.map((f) => encodeFrame(f.payload, { type: f.type }))
      const stream = Buffer.concat(encoded)
      const decoder = new FrameDecoder()
      const out: Frame[] = []
      let at = 0
      for (const cut of [...cuts, stream.length]) {
        const next = Math.min(stream.length, at + cut)
        out.push(...decoder.push(stream.subarray(at, next)))
        at = next
      }
      decoder.end()
      assert.equal(decoder.bufferedBytes, 0)
      assert.deepStrictEqual(out.map(plain), encoded.map((f) => plain(decodeFrame(f))))
    }), { numRuns: 200 })
  })

  it('FrameDecoder enforces maxPayloadBytes from the header, before buffering the payload', () => {
    const decoder = new FrameDecoder({ maxPayloadBytes: 1000 })
    const header = forgeFrame(new Uint8Array(0), {})
    new DataView(header.buffer).setUint32(5, 1_000_000_000)
    assert.throws(() => decoder.push(header.subarray(0, 9)), LimitExceededError)
    assert.throws(() => decoder.push(new Uint8Array(1)), LimitExceededError) // poisoned
    const partial = new FrameDecoder()
    assert.deepStrictEqual(partial.push(encodeFrame(text(50)).subarray(0, 20)), [])
    assert.throws(() => partial.end(), TruncatedInputError)
    assert.equal(frameLength(header.subarray(0, 8)), undefined)
    assert.throws(() => new FrameDecoder().push(Uint8Array.from([1, 2, 3])), CodecError)
  })
})
