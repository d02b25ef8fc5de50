/**
 * fast-check generators of BlazeBinary values, and a check that a failure is a typed error.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { BlazeError } from '../../../engine/errors.ts'
import type { Value } from '../../../engine/codec/index.ts'

/** Integers at every width boundary, where off-by-one bugs live. */
const edgeIntegers = [
  0, 1, 15, 16, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
  Number.MAX_SAFE_INTEGER, -1, -16, -17, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
  -Number.MAX_SAFE_INTEGER, 2 ** 53, -(2 ** 53), 2 ** 60
]

/** Keys that stress ordering (surrogates vs U+E000), prototypes and empty strings. */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', '', 'a', 'b', '\u{1F600}', '\uE000', '\uFFFF', '0', '1', '10')
)

export const scalarArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(...edgeIntegers),
  fc.maxSafeInteger(),
  fc.double(),
  fc.float().map(Number),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.constantFrom(0n, -1n, 255n, 256n, -256n, -257n, 2n ** 32n, -(2n ** 63n), 2n ** 64n - 1n),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', minLength: 30, maxLength: 300 }),
  fc.uint8Array({ maxLength: 40 }),
  fc.date({ noInvalidDate: true }),
  fc.integer({ min: -2e12, max: 5e12 }).map((ms) => new Date(ms)),
  fc.integer({ min: 0, max: 5e9 }).map((s) => new Date(s * 1000))
)

const { value } = fc.letrec<{ value: Value, array: Value[], map: { [key: string]: Value } }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarArb, tie('array'), tie('map')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  map: fc.dictionary(keyArb, tie('value'), { maxKeys: 6, noNullPrototype: true })
}))

export const valueArb: fc.Arbitrary<Value> = value

const plain = { noNullPrototype: true }

/** Lists of records sharing a few key sets, as stored documents do. */
export const recordsArb: fc.Arbitrary<Value[]> = fc.array(fc.oneof(
  fc.record({ id: fc.string(), n: fc.integer(), tags: fc.array(fc.string(), { maxLength: 3 }) }, plain),
  fc.record({ id: fc.string(), at: fc.date({ noInvalidDate: true }), nested: fc.record({ x: fc.double(), y: fc.double() }, plain) }, plain),
  fc.record({ b: valueArb, a: valueArb, c: fc.option(scalarArb, { nil: null }) }, plain)
), { maxLength: 8 })

/** Copies a map with its keys in reverse insertion order (same entries, different order). */
export function reversedKeys (v: Value): Value {
  if (Array.isArray(v)) return v.map(reversedKeys)
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Date) return v
  const out: { [key: string]: Value } = {}
  for (const k of Object.keys(v).reverse()) {
    Object.defineProperty(out, k, { value: reversedKeys(v[k]!), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * Runs `fn`; if it throws, the error must be a BlazeError raised on purpose — not a
 * RangeError/TypeError, and not the decoder's "internal failure" wrapper (which carries a cause).
 */
export function typedOrValue<T> (fn: () => T): { ok: true, value: T } | { ok: false, error: BlazeError } {
  try {
    return { ok: true, value: fn() }
  } catch (err) {
    assert.ok(err instanceof BlazeError, `expected a BlazeError, got ${String(err)}`)
    assert.equal(err.cause, undefined, `internal failure: ${String(err.cause)}`)
    return { ok: false, error: err }
  }
}

export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
