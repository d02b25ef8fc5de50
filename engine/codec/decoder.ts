/**
 * The BlazeBinary decoder, for hostile input: every declared length or count is checked
 * against the bytes that remain before anything is allocated, nesting and item counts are
 * bounded, and every failure is a typed `BlazeError`.
 *
 * `strict` (decodeCanonical) also rejects every form `encode` would not have written, so
 * an accepted input re-encodes to itself byte for byte.
 */
import {
  BlazeError, CodecError, InvalidArgumentError, InvalidTagError, LimitExceededError,
  NonCanonicalError, TruncatedInputError, UnknownStructureError
} from '../errors.ts'
import type { ShapeRegistry } from './shapes.ts'
import * as T from './tags.ts'
import { DEFAULT_MAX_DEPTH, type DecodeLimits, type Value } from './types.ts'
import { cachedKey, cacheKey, KEY_CACHE_MAX_LENGTH, shortAscii } from './decode-strings.ts'
import { strictUtf8Decoder } from './utf8.ts'

const EMPTY = new Uint8Array(0)
const TWO_32 = 0x1_0000_0000
const TWO_47 = 0x8000_0000_0000
/** Shapes decoded this often get a compiled reader. */
const COMPILE_AFTER = 8

/** Node's native UTF-8 slice (lenient: invalid bytes become U+FFFD, which we then check for). */
const nativeUtf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Uint8Array, start: number, end: number) => string }).utf8Slice

// Float reads through a scratch word, avoiding a DataView per call.
const f32 = new Float32Array(1)
const f64 = new Float64Array(1)
const f32Bytes = new Uint8Array(f32.buffer)
const f64Bytes = new Uint8Array(f64.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

let src: Uint8Array = EMPTY
let pos = 0
let end = 0
let strict = false
let depthLeft = 0
let itemsLeft = 0
let shapes: ShapeRegistry | null = null
/** Byte range of the last map key read, for the ordering check. */
let keyStart = 0
let keyLength = 0

export function decodeValue (bytes: Uint8Array, limits: DecodeLimits | undefined, isStrict: boolean, registry: ShapeRegistry | null): Value {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError('decode takes a Uint8Array (or Buffer); pass the bytes encode produced')
  }
  const maxDepth = limit(limits?.maxDepth, 'maxDepth', DEFAULT_MAX_DEPTH)
  const maxBytes = limit(limits?.maxBytes, 'maxBytes', Infinity)
  const maxItems = limit(limits?.maxItems, 'maxItems', Infinity)
  if (bytes.length > maxBytes) {
    throw new LimitExceededError(`input is ${bytes.length} bytes, above maxBytes ${maxBytes}; raise maxBytes if the value is expected`)
  }
  src = bytes
  pos = 0
  end = bytes.length
  strict = isStrict
  depthLeft = maxDepth
  itemsLeft = maxItems
  shapes = registry
  try {
    const value = readValue()
    if (pos !== end) {
      throw new CodecError(`${end - pos} bytes follow the value at offset ${pos}; pass exactly one encoded value (frames carry lengths for concatenation)`)
    }
    return value
  } catch (err) {
    throw toBlazeError(err)
  } finally {
    src = EMPTY
    shapes = null
  }
}

function limit (value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new InvalidArgumentError(`${name} must be a non-negative number, got ${String(value)}`)
  }
  return value
}

function toBlazeError (err: unknown): BlazeError {
  if (err instanceof BlazeError) return err
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new LimitExceededError('input nests too deeply for the stack; lower maxDepth', { cause: err })
  }
  return new CodecError('internal decoder failure on this input; please report it with the input bytes', { cause: err })
}

function truncated (need: number): never {
  throw new TruncatedInputError(`input ends at offset ${end} but the value at offset ${pos} needs ${need} more bytes; the data is cut short or damaged`)
}

function nonCanonical (what: string): never {
  throw new NonCanonicalError(`${what} at offset ${pos} is not in canonical form; canonical bytes must come from encode(), decode() accepts this input`)
}

function need (n: number): void {
  if (n > end - pos) truncated(n)
}

function readU16 (): number {
  need(2)
  const v = (src[pos]! << 8) | src[pos + 1]!
  pos += 2
  return v
}

function readU32 (): number {
  need(4)
  const v = src[pos]! * 0x100_0000 + ((src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!)
  pos += 4
  return v
}

function readValue (): Value {
  if (pos >= end) truncated(1)
  const tag = src[pos++]!
  if (tag <= T.FIXINT_MAX) return tag
  if (tag < T.FIXARRAY) return readString(tag - T.FIXSTR)
  if (tag < T.FIXMAP) return readArray(tag - T.FIXARRAY)
  if (tag < T.NULL) return readMap(tag - T.FIXMAP)
  if (tag >= T.FIXNEG) return tag - 0x100
  if (tag >= T.FIXSHAPE) return readShape(tag - T.FIXSHAPE)
  switch (tag) {
    case T.NULL: return null
    case T.FALSE: return false
    case T.TRUE: return true
    case T.F32: return readFloat32()
    case T.F64: return readFloat64()
    case T.U8: {
      need(1)
      const v = src[pos]!
      if (strict && v <= T.FIXINT_MAX) nonCanonical('uint8 ' + v)
      pos++
      return v
    }
    case T.U16: {
      const v = readU16()
      if (strict && v <= 0xff) nonCanonical('uint16 ' + v)
      return v
    }
    case T.U32: {
      const v = readU32()
      if (strict && v <= 0xffff) nonCanonical('uint32 ' + v)
      return v
    }
    case T.U64: {
      const v = readU32() * TWO_32 + readU32()
      if (v > Number.MAX_SAFE_INTEGER) throw new CodecError(`uint64 at offset ${pos - 9} is above Number.MAX_SAFE_INTEGER; integers that large are encoded as bigint`)
      if (strict && v < TWO_32) nonCanonical('uint64 ' + v)
      return v
    }
    case T.I8: {
      need(1)
      const v = (src[pos]! << 24) >> 24
      if (strict && v >= -16) nonCanonical('int8 ' + v)
      pos++
      return v
    }
    case T.I16: {
      const v = (readU16() << 16) >> 16
      if (strict && v >= -0x80) nonCanonical('int16 ' + v)
      return v
    }
    case T.I32: {
      const v = readU32() | 0
      if (strict && v >= -0x8000) nonCanonical('int32 ' + v)
      return v
    }
    case T.I64: {
      const v = (readU32() | 0) * TWO_32 + readU32()
      if (!Number.isSafeInteger(v)) throw new CodecError(`int64 at offset ${pos - 9} is outside the safe integer range; integers that large are encoded as bigint`)
      if (strict && v >= -0x8000_0000) nonCanonical('int64 ' + v)
      return v
    }
    case T.STR8: {
      need(1)
      const n = src[pos++]!
      if (strict && n < T.FIXSTR_LIMIT) nonCanonical('str8 header')
      return readString(n)
    }
    case T.STR16: {
      const n = readU16()
      if (strict && n <= 0xff) nonCanonical('str16 header')
      return readString(n)
    }
    case T.STR32: {
      const n = readU32()
      if (strict && n <= 0xffff) nonCanonical('str32 header')
      return readString(n)
    }
    case T.BIN8: { need(1); return readBinary(src[pos++]!) }
    case T.BIN16: {
      const n = readU16()
      if (strict && n <= 0xff) nonCanonical('bin16 header')
      return readBinary(n)
    }
    case T.BIN32: {
      const n = readU32()
      if (strict && n <= 0xffff) nonCanonical('bin32 header')
      return readBinary(n)
    }
    case T.ARR8: case T.ARR16: case T.ARR32: return readArray(readCount(tag - T.ARR8))
    case T.MAP8: case T.MAP16: case T.MAP32: return readMap(readCount(tag - T.MAP8))
    case T.BIGINT_POS: case T.BIGINT_NEG: return readBigInt(tag === T.BIGINT_NEG)
    case T.DATE_S32: return new Date(readU32() * 1000)
    case T.DATE_MS48: {
      need(6)
      const ms = (readU16() << 16 >> 16) * TWO_32 + readU32()
      if (strict && ms >= 0 && ms % 1000 === 0 && ms / 1000 < TWO_32) nonCanonical('date')
      return new Date(ms)
    }
    case T.DATE_MS64: {
      const ms = (readU32() | 0) * TWO_32 + readU32()
      if (ms > T.MAX_DATE_MS || ms < -T.MAX_DATE_MS) throw new CodecError(`date at offset ${pos - 9} is outside the range a Date holds (±8.64e15 ms)`)
      if (strict && ms >= -TWO_47 && ms < TWO_47) nonCanonical('date')
      return new Date(ms)
    }
    case T.SHAPE8: need(1); return readShape(src[pos++]!)
    case T.SHAPE16: return readShape(readU16())
  }
  pos--
  throw new InvalidTagError(`byte 0x${tag.toString(16)} at offset ${pos} is not a BlazeBinary tag; the data is damaged or not BlazeBinary`)
}

/** Reads a count of 1, 2 or 4 bytes (`width` 0, 1, 2); strict mode wants the smallest form. */
function readCount (width: number): number {
  if (width === 0) {
    need(1)
    const n = src[pos++]!
    if (strict && n < T.FIXCOUNT_LIMIT) nonCanonical('count')
    return n
  }
  const n = width === 1 ? readU16() : readU32()
  if (strict && n <= (width === 1 ? 0xff : 0xffff)) nonCanonical('count')
  return n
}

function readFloat32 (): number {
  need(4)
  const p = pos
  if (littleEndian) {
    f32Bytes[0] = src[p + 3]!; f32Bytes[1] = src[p + 2]!; f32Bytes[2] = src[p + 1]!; f32Bytes[3] = src[p]!
  } else {
    f32Bytes[0] = src[p]!; f32Bytes[1] = src[p + 1]!; f32Bytes[2] = src[p + 2]!; f32Bytes[3] = src[p + 3]!
  }
  const v = f32[0]!
  if (strict) {
    if (v !== v) {
      if (src[p] !== 0x7f || src[p + 1] !== 0xc0 || src[p + 2] !== 0 || src[p + 3] !== 0) nonCanonical('NaN payload')
    } else if (Number.isSafeInteger(v) && !(v === 0 && src[p] === 0x80)) {
      nonCanonical('float32 holding an integer')
    }
  }
  pos += 4
  return v
}

function readFloat64 (): number {
  need(8)
  const p = pos
  if (littleEndian) {
    for (let i = 0; i < 8; i++) f64Bytes[i] = src[p + 7 - i]!
  } else {
    for (let i = 0; i < 8; i++) f64Bytes[i] = src[p + i]!
  }
  const v = f64[0]!
  if (strict && (v !== v || Math.fround(v) === v || Number.isSafeInteger(v))) nonCanonical('float64 that has a shorter form')
  pos += 8
  return v
}

function readBigInt (negative: boolean): bigint {
  need(1)
  const n = src[pos]!
  if (n > 8) throw new CodecError(`bigint at offset ${pos - 1} declares ${n} bytes; at most 8 (64 bits) are allowed`)
  pos++
  need(n)
  if (strict && n > 0 && src[pos] === 0) nonCanonical('bigint with a leading zero byte')
  if (negative && n === 8 && src[pos]! >= 0x80) throw new CodecError(`bigint at offset ${pos - 2} is below the int64 range`)
  let hi = 0
  let lo = 0
  for (let i = 0; i < n; i++) {
    hi = hi * 256 + Math.floor(lo / 0x100_0000)
    lo = (lo % 0x100_0000) * 256 + src[pos + i]!
  }
  pos += n
  const magnitude = hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo)
  return negative ? -1n - magnitude : magnitude
}

/** A copy, and a plain Uint8Array even from a Buffer (whose `slice` would return a view). */
function readBinary (n: number): Uint8Array {
  need(n)
  const out = new Uint8Array(n)
  out.set(src.subarray(pos, pos + n))
  pos += n
  return out
}

function readString (n: number): string {
  if (n === 0) return ''
  need(n)
  const p = pos
  pos += n
  if (n < 16) {
    let bits = 0
    for (let i = p; i < pos; i++) bits |= src[i]!
    if (bits < 0x80) return shortAscii(src, p, n)
  }
  if (nativeUtf8Slice !== undefined) {
    const s = nativeUtf8Slice.call(src, p, pos)
    // Invalid UTF-8 comes back as U+FFFD; only then pay for the validating decoder.
    if (s.indexOf('\ufffd') === -1) return s
  }
  try {
    return strictUtf8Decoder.decode(src.subarray(p, pos))
  } catch {
    pos = p
    throw new CodecError(`string at offset ${p} is not valid UTF-8; the data is damaged`)
  }
}

function enter (count: number, minBytesEach: number): void {
  if (count * minBytesEach > end - pos) {
    throw new TruncatedInputError(`container at offset ${pos} declares ${count} items but only ${end - pos} bytes remain; the data is cut short or damaged`)
  }
  if ((itemsLeft -= count) < 0) {
    throw new LimitExceededError(`input holds more than maxItems items; raise maxItems if the value is expected`)
  }
  if (depthLeft < 1) {
    throw new LimitExceededError(`input nests deeper than maxDepth; raise maxDepth (on both encode and decode) if the value is expected`)
  }
  depthLeft--
}

function readArray (n: number): Value[] {
  enter(n, 1)
  const arr = new Array<Value>(n)
  for (let i = 0; i < n; i++) arr[i] = readValue()
  depthLeft++
  return arr
}

function readKey (): string {
  need(1)
  const tag = src[pos]!
  let n: number
  if (tag >= T.FIXSTR && tag < T.FIXARRAY) {
    pos++
    n = tag - T.FIXSTR
  } else if (tag === T.STR8 || tag === T.STR16 || tag === T.STR32) {
    pos++
    n = tag === T.STR8 ? (need(1), src[pos++]!) : tag === T.STR16 ? readU16() : readU32()
    if (strict && n < (tag === T.STR8 ? T.FIXSTR_LIMIT : tag === T.STR16 ? 0x100 : 0x1_0000)) nonCanonical('key header')
  } else {
    throw new InvalidTagError(`map key at offset ${pos} is not a string (tag 0x${tag.toString(16)}); the data is damaged`)
  }
  keyStart = pos
  keyLength = n
  if (n > KEY_CACHE_MAX_LENGTH || n === 0) return readString(n)
  need(n)
  const cached = cachedKey(src, pos, n)
  if (cached !== undefined) {
    pos += n
    return cached
  }
  const key = readString(n)
  cacheKey(src, keyStart, n, key)
  return key
}

function compareKeyBytes (aStart: number, aLength: number, bStart: number, bLength: number): number {
  const n = aLength < bLength ? aLength : bLength
  for (let i = 0; i < n; i++) {
    const d = src[aStart + i]! - src[bStart + i]!
    if (d !== 0) return d
  }
  return aLength - bLength
}

function readMap (n: number): { [key: string]: Value } {
  enter(n, 2)
  const obj: { [key: string]: Value } = {}
  let prevStart = -1
  let prevLength = 0
  let ordered = true
  for (let i = 0; i < n; i++) {
    const key = readKey()
    if (ordered && prevStart >= 0) {
      const c = compareKeyBytes(prevStart, prevLength, keyStart, keyLength)
      if (c === 0) duplicateKey(key)
      if (c > 0) {
        if (strict) nonCanonical('map key order')
        ordered = false
      }
    }
    if (!ordered && Object.hasOwn(obj, key)) duplicateKey(key)
    prevStart = keyStart
    prevLength = keyLength
    const value = readValue()
    if (key === '__proto__') defineOwn(obj, key, value)
    else obj[key] = value
  }
  depthLeft++
  return obj
}

function duplicateKey (key: string): never {
  throw new CodecError(`map key ${JSON.stringify(key).slice(0, 80)} appears twice before offset ${pos}; the data is damaged or forged`)
}

function defineOwn (obj: object, key: string, value: Value): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
}

function readShape (id: number): { [key: string]: Value } {
  if (shapes === null) {
    throw new InvalidTagError(`structure reference at offset ${pos - 1} in plain BlazeBinary; decode it with the StructureTable that encoded it`)
  }
  const shape = shapes.byId[id]
  if (shape === undefined) {
    throw new UnknownStructureError(`structure ${id} at offset ${pos - 1} is not in this StructureTable; load the table's persisted structures before decoding`)
  }
  const keys = shape.keys
  enter(keys.length, 1)
  let obj: { [key: string]: Value }
  if (shape.read !== null) {
    obj = shape.read() as { [key: string]: Value }
  } else {
    if (++shape.uses === COMPILE_AFTER) shape.compile(readValue)
    obj = {}
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const value = readValue()
      if (shape.hasProtoKey && key === '__proto__') defineOwn(obj, key, value)
      else obj[key] = value
    }
  }
  depthLeft++
  return obj
}
