/**
 * The BlazeBinary encoder: canonical form (sorted inline keys) and StructureTable form
 * (registered shapes).
 *
 * Output goes into a slab (64 KiB) that successive calls fill one after another; each call
 * returns a view of exactly its bytes. A fresh ArrayBuffer per call costs far more than
 * encoding a small record (its allocation and GC tracking dominate), so results share
 * slabs, as Node's own small Buffers share a pool: read a result through its
 * `byteOffset`/`byteLength`, never through `.buffer` alone. Only encoder output shares a slab.
 */
import { InvalidArgumentError } from '../errors.ts'
import { describeValue, LONE_SURROGATE, toPublicError, Unencodable } from './encode-errors.ts'
import { keyPlan } from './key-plans.ts'
import type { ShapeRegistry } from './shapes.ts'
import * as T from './tags.ts'
import { DEFAULT_MAX_DEPTH, type EncodeOptions, type Value } from './types.ts'
import { utf8Encoder, writeUtf8 } from './utf8.ts'

const SLAB_SIZE = 64 * 1024
/** A call starts a new slab when less than this is left in the current one. */
const SLAB_MIN_ROOM = 2048
/** A slab grown past this for one huge value is not reused for the next call. */
const KEEP_SIZE = 1 << 20
const TWO_32 = 0x1_0000_0000
const TWO_47 = 0x8000_0000_0000
const MAX_U64 = 0xffff_ffff_ffff_ffffn
const MIN_I64 = -0x8000_0000_0000_0000n

let buf: Uint8Array = new Uint8Array(SLAB_SIZE)
let view: DataView = new DataView(buf.buffer)
/** Where the current call's output starts in `buf`; earlier bytes belong to earlier results. */
let start = 0
let pos = 0
let maxDepth = DEFAULT_MAX_DEPTH
/** Non-null while encoding the StructureTable form. */
let shapes: ShapeRegistry | null = null
/** True while a call is running: a getter that calls `encode` again gets its own slab. */
let busy = false

/**
 * `reserve`: bytes left (uninitialised) before the value in the result, for a header the
 * caller writes there, so header and value need no second buffer and copy.
 */
export function encodeValue (value: Value, options: EncodeOptions | undefined, registry: ShapeRegistry | null, reserve = 0): Uint8Array {
  const depth = options?.maxDepth ?? DEFAULT_MAX_DEPTH
  if (!Number.isInteger(depth) || depth < 0) {
    throw new InvalidArgumentError(`maxDepth must be a non-negative integer, got ${String(depth)}`)
  }
  if (busy) return encodeReentrant(value, depth, registry, reserve)
  busy = true
  if (buf.length - pos < SLAB_MIN_ROOM + reserve || buf.length > KEEP_SIZE) newSlab()
  start = pos
  pos += reserve
  maxDepth = depth
  shapes = registry
  try {
    write(value, 0)
    return buf.subarray(start, pos)
  } catch (err) {
    pos = start
    throw toPublicError(err)
  } finally {
    busy = false
    shapes = null
  }
}

function encodeReentrant (value: Value, depth: number, registry: ShapeRegistry | null, reserve: number): Uint8Array {
  const saved = { buf, view, start, pos, maxDepth, shapes }
  setBuffer(new Uint8Array(SLAB_SIZE + reserve))
  start = 0
  pos = reserve
  maxDepth = depth
  shapes = registry
  try {
    write(value, 0)
    return buf.subarray(start, pos)
  } catch (err) {
    throw toPublicError(err)
  } finally {
    buf = saved.buf
    view = saved.view
    start = saved.start
    pos = saved.pos
    maxDepth = saved.maxDepth
    shapes = saved.shapes
  }
}

function newSlab (): void {
  setBuffer(new Uint8Array(SLAB_SIZE))
  pos = 0
}

function setBuffer (next: Uint8Array): void {
  buf = next
  view = new DataView(next.buffer, next.byteOffset, next.byteLength)
}

function ensure (n: number): void {
  if (pos + n > buf.length) grow(n)
}

/** Moves the current call's output to a larger slab; earlier results keep the old one. */
function grow (n: number): void {
  const used = pos - start
  const next = new Uint8Array(Math.max(SLAB_SIZE, (used + n) * 2))
  next.set(buf.subarray(start, pos))
  setBuffer(next)
  start = 0
  pos = used
}

function write (value: Value, depth: number): void {
  switch (typeof value) {
    case 'string': writeString(value); return
    case 'number': writeNumber(value); return
    case 'boolean': ensure(1); buf[pos++] = value ? T.TRUE : T.FALSE; return
    case 'bigint': writeBigInt(value); return
    case 'object':
      if (value === null) { ensure(1); buf[pos++] = T.NULL; return }
      if (Array.isArray(value)) { writeArray(value, depth); return }
      if (value instanceof Uint8Array) { writeBinary(value); return }
      if (value instanceof Date) { writeDate(value); return }
      {
        const proto: unknown = Object.getPrototypeOf(value)
        if (proto === Object.prototype || proto === null) {
          if (shapes === null) writeMapCanonical(value, depth)
          else writeMapShaped(value, depth)
          return
        }
      }
      throw new Unencodable(`${describeValue(value)} is not a plain object, array, Date or Uint8Array; convert it to one first`)
    default:
      throw new Unencodable(`${describeValue(value)} has no BlazeBinary form (${typeof value === 'undefined' ? 'strip undefined map values, use null in arrays' : 'only data values encode'})`)
  }
}

// ---- scalars ----

function writeNumber (v: number): void {
  if (Number.isSafeInteger(v)) {
    if (v === 0 && 1 / v < 0) writeFloat32(v) // -0 stays -0: it is not the integer 0
    else writeInt(v)
  } else if (v !== v) {
    ensure(5)
    buf[pos] = T.F32
    view.setUint32(pos + 1, T.CANONICAL_NAN_BITS)
    pos += 5
  } else if (Math.fround(v) === v) {
    writeFloat32(v)
  } else {
    ensure(9)
    buf[pos] = T.F64
    view.setFloat64(pos + 1, v)
    pos += 9
  }
}

function writeFloat32 (v: number): void {
  ensure(5)
  buf[pos] = T.F32
  view.setFloat32(pos + 1, v)
  pos += 5
}

/** Safe integers, smallest form first. */
function writeInt (v: number): void {
  ensure(9)
  if (v >= 0) {
    if (v <= T.FIXINT_MAX) {
      buf[pos++] = v
    } else if (v <= 0xff) {
      buf[pos] = T.U8; buf[pos + 1] = v; pos += 2
    } else if (v <= 0xffff) {
      buf[pos] = T.U16; buf[pos + 1] = v >>> 8; buf[pos + 2] = v; pos += 3
    } else if (v < TWO_32) {
      buf[pos] = T.U32; view.setUint32(pos + 1, v); pos += 5
    } else {
      buf[pos] = T.U64
      view.setUint32(pos + 1, Math.floor(v / TWO_32))
      view.setUint32(pos + 5, v >>> 0)
      pos += 9
    }
  } else if (v >= -16) {
    buf[pos++] = v & 0xff
  } else if (v >= -0x80) {
    buf[pos] = T.I8; buf[pos + 1] = v; pos += 2
  } else if (v >= -0x8000) {
    buf[pos] = T.I16; view.setInt16(pos + 1, v); pos += 3
  } else if (v >= -0x8000_0000) {
    buf[pos] = T.I32; view.setInt32(pos + 1, v); pos += 5
  } else {
    const hi = Math.floor(v / TWO_32)
    buf[pos] = T.I64
    view.setInt32(pos + 1, hi)
    view.setUint32(pos + 5, v - hi * TWO_32)
    pos += 9
  }
}

function writeBigInt (v: bigint): void {
  let magnitude: bigint
  ensure(10)
  if (v >= 0n) {
    if (v > MAX_U64) throw new Unencodable(`bigint ${v} is above the uint64 range; store it as a string`)
    magnitude = v
    buf[pos] = T.BIGINT_POS
  } else {
    if (v < MIN_I64) throw new Unencodable(`bigint ${v} is below the int64 range; store it as a string`)
    magnitude = -1n - v
    buf[pos] = T.BIGINT_NEG
  }
  const hi = Number(magnitude >> 32n)
  const lo = Number(magnitude & 0xffff_ffffn)
  const n = hi !== 0 ? 4 + byteLength(hi) : byteLength(lo)
  buf[pos + 1] = n
  let p = pos + 2 + n
  for (let i = 0, x = lo; i < n && i < 4; i++, x >>>= 8) buf[--p] = x & 0xff
  for (let x = hi; x !== 0; x >>>= 8) buf[--p] = x & 0xff
  pos += 2 + n
}

function byteLength (u32: number): number {
  return u32 === 0 ? 0 : u32 < 0x100 ? 1 : u32 < 0x1_0000 ? 2 : u32 < 0x100_0000 ? 3 : 4
}

function writeDate (d: Date): void {
  const ms = d.getTime()
  if (ms !== ms) throw new Unencodable('an invalid Date (its time is NaN) has no value to store; use null')
  ensure(9)
  if (ms >= 0 && ms % 1000 === 0 && ms / 1000 < TWO_32) {
    buf[pos] = T.DATE_S32
    view.setUint32(pos + 1, ms / 1000)
    pos += 5
  } else if (ms >= -TWO_47 && ms < TWO_47) {
    const hi = Math.floor(ms / TWO_32)
    buf[pos] = T.DATE_MS48
    view.setInt16(pos + 1, hi)
    view.setUint32(pos + 3, ms - hi * TWO_32)
    pos += 7
  } else {
    const hi = Math.floor(ms / TWO_32)
    buf[pos] = T.DATE_MS64
    view.setInt32(pos + 1, hi)
    view.setUint32(pos + 5, ms - hi * TWO_32)
    pos += 9
  }
}

function writeBinary (bytes: Uint8Array): void {
  const n = bytes.length
  ensure(5 + n)
  if (n <= 0xff) {
    buf[pos] = T.BIN8; buf[pos + 1] = n; pos += 2
  } else if (n <= 0xffff) {
    buf[pos] = T.BIN16; view.setUint16(pos + 1, n); pos += 3
  } else {
    buf[pos] = T.BIN32; view.setUint32(pos + 1, n); pos += 5
  }
  buf.set(bytes, pos)
  pos += n
}

// ---- strings ----

function headerSize (byteLength: number): number {
  return byteLength < T.FIXSTR_LIMIT ? 1 : byteLength <= 0xff ? 2 : byteLength <= 0xffff ? 3 : 5
}

function writeStringHeader (at: number, n: number): void {
  if (n < T.FIXSTR_LIMIT) {
    buf[at] = T.FIXSTR | n
  } else if (n <= 0xff) {
    buf[at] = T.STR8; buf[at + 1] = n
  } else if (n <= 0xffff) {
    buf[at] = T.STR16; buf[at + 1] = n >>> 8; buf[at + 2] = n
  } else {
    buf[at] = T.STR32; view.setUint32(at + 1, n)
  }
}

function writeString (s: string): void {
  const len = s.length
  if (len <= 0xff) {
    // Optimistic ASCII pass: header sized for `len` bytes; room for the worst case so the
    // fallback below needs no second `ensure`.
    ensure(5 + len * 3)
    const h = len < T.FIXSTR_LIMIT ? 1 : 2
    let p = pos + h
    let i = 0
    for (; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      buf[p++] = c
    }
    if (i === len) {
      if (h === 1) buf[pos] = T.FIXSTR | len
      else { buf[pos] = T.STR8; buf[pos + 1] = len }
      pos = p
      return
    }
  }
  writeStringGeneral(s)
}

function writeStringGeneral (s: string): void {
  const len = s.length
  const max = len * 3
  ensure(5 + max)
  const reserved = headerSize(max)
  const at = pos + reserved
  let n: number
  if (len < 64) {
    n = writeUtf8(s, buf, at) - at
  } else {
    if (!s.isWellFormed()) throw new Unencodable(LONE_SURROGATE)
    n = utf8Encoder.encodeInto(s, buf.subarray(at, at + max)).written
  }
  const h = headerSize(n)
  if (h < reserved) buf.copyWithin(pos + h, at, at + n)
  writeStringHeader(pos, n)
  pos += h + n
}

// ---- containers ----

function enter (depth: number): void {
  if (depth >= maxDepth) {
    throw new Unencodable(`nesting deeper than maxDepth ${maxDepth} (a cycle, or pass a larger maxDepth to both encode and decode)`, true)
  }
}

function writeCountHeader (fix: number, tag8: number, n: number): void {
  ensure(5)
  if (n < T.FIXCOUNT_LIMIT) {
    buf[pos++] = fix | n
  } else if (n <= 0xff) {
    buf[pos] = tag8; buf[pos + 1] = n; pos += 2
  } else if (n <= 0xffff) {
    buf[pos] = tag8 + 1; buf[pos + 1] = n >>> 8; buf[pos + 2] = n; pos += 3
  } else {
    buf[pos] = tag8 + 2; view.setUint32(pos + 1, n); pos += 5
  }
}

function writeArray (arr: readonly Value[], depth: number): void {
  enter(depth)
  const n = arr.length
  writeCountHeader(T.FIXARRAY, T.ARR8, n)
  let i = 0
  try {
    for (; i < n; i++) write(arr[i]!, depth + 1)
  } catch (err) {
    if (err instanceof Unencodable) err.path.push(i)
    throw err
  }
}

type PlainObject = { [key: string]: Value }

function writeMapCanonical (obj: PlainObject, depth: number): void {
  enter(depth)
  const keys = Object.keys(obj)
  const plan = keyPlan(keys)
  const sorted = plan.sorted
  const keyBytes = plan.bytes
  const ends = plan.ends
  writeCountHeader(T.FIXMAP, T.MAP8, sorted.length)
  let key = ''
  try {
    for (let i = 0, from = 0; i < sorted.length; i++) {
      key = sorted[i]!
      const v = obj[key]
      if (v === undefined) throw new Unencodable('undefined is not a value; strip keys whose value is undefined')
      const to = ends[i]!
      ensure(to - from)
      while (from < to) buf[pos++] = keyBytes[from++]!
      write(v, depth + 1)
    }
  } catch (err) {
    if (err instanceof Unencodable) err.path.push(key)
    throw err
  }
}

function writeEntries (obj: PlainObject, keys: readonly string[], depth: number): void {
  let key = ''
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i]!
      const v = obj[key]
      if (v === undefined) throw new Unencodable('undefined is not a value; strip keys whose value is undefined')
      writeString(key)
      write(v, depth + 1)
    }
  } catch (err) {
    if (err instanceof Unencodable) err.path.push(key)
    throw err
  }
}

function writeMapShaped (obj: PlainObject, depth: number): void {
  enter(depth)
  const keys = Object.keys(obj)
  const shape = shapes!.lookup(keys)
  if (shape === null) {
    writeCountHeader(T.FIXMAP, T.MAP8, keys.length)
    writeEntries(obj, keys, depth)
    return
  }
  const id = shape.id
  ensure(3)
  if (id < T.FIXSHAPE_LIMIT) {
    buf[pos++] = T.FIXSHAPE | id
  } else if (id <= 0xff) {
    buf[pos] = T.SHAPE8; buf[pos + 1] = id; pos += 2
  } else {
    buf[pos] = T.SHAPE16; buf[pos + 1] = id >>> 8; buf[pos + 2] = id; pos += 3
  }
  const shapeKeys = shape.keys
  let key = ''
  try {
    for (let i = 0; i < shapeKeys.length; i++) {
      key = shapeKeys[i]!
      const v = obj[key]
      if (v === undefined) throw new Unencodable('undefined is not a value; strip keys whose value is undefined')
      write(v, depth + 1)
    }
  } catch (err) {
    if (err instanceof Unencodable) err.path.push(key)
    throw err
  }
}
