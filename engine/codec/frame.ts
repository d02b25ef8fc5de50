/**
 * Frames: a checked envelope around a payload (usually BlazeBinary), for the log, snapshots
 * and the wire. Layout (all integers big-endian):
 *
 * | offset | bytes | field                                                         |
 * | ------ | ----- | ------------------------------------------------------------- |
 * | 0      | 2     | magic `0xB1 0xDB`                                             |
 * | 2      | 1     | version, 1                                                    |
 * | 3      | 1     | flags: bit 0 = payload is zstd-compressed; bits 1–7 must be 0 |
 * | 4      | 1     | type (0–255, the caller's message kind)                       |
 * | 5      | 4     | stored payload length                                         |
 * | 9      | 4     | uncompressed payload length — only when compressed            |
 * | 9 / 13 | 4     | CRC32 of every header byte before it plus the stored payload  |
 * | 13 / 17| n     | stored payload                                                |
 *
 * The header is 13 bytes (17 when compressed). Lengths are checked against
 * `maxPayloadBytes` from the header alone, before any payload is buffered or inflated.
 */
import * as zlib from 'node:zlib'
import {
  ChecksumError, CodecError, InvalidArgumentError, LimitExceededError, TruncatedInputError, UnsupportedVersionError
} from '../errors.ts'

export const FRAME_MAGIC_0 = 0xb1
export const FRAME_MAGIC_1 = 0xdb
export const FRAME_VERSION = 1
export const FLAG_ZSTD = 0x01
/** Bytes needed before `frameLength` can tell a frame's length. */
export const FRAME_PREFIX_BYTES = 9
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
/** 'auto' leaves payloads smaller than this uncompressed: zstd's own header would eat the gain. */
export const COMPRESS_THRESHOLD = 512
/** 'auto' keeps the compressed form only if it is at most this fraction of the original. */
export const COMPRESS_KEEP_RATIO = 0.9
const ZSTD_LEVEL = 3
const MAX_U32 = 0xffff_ffff

export interface EncodeFrameOptions {
  /** The caller's message kind, 0–255. Default 0. */
  type?: number
  /** 'auto' (default): zstd for payloads ≥ 512 bytes when it saves ≥ 10%. */
  compress?: 'auto' | 'always' | 'never'
}

export interface DecodeFrameOptions {
  /** Largest payload accepted, stored or uncompressed. Default 16 MiB. */
  maxPayloadBytes?: number
}

export interface Frame {
  type: number
  /** The (uncompressed) payload; for an uncompressed frame, a view into the input bytes. */
  payload: Uint8Array
  compressed: boolean
}

const zstdCompress = (zlib as Partial<typeof zlib>).zstdCompressSync
const zstdDecompress = (zlib as Partial<typeof zlib>).zstdDecompressSync

export function encodeFrame (payload: Uint8Array, options: EncodeFrameOptions = {}): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('encodeFrame takes the payload as a Uint8Array')
  const type = options.type ?? 0
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new InvalidArgumentError(`frame type must be an integer 0–255, got ${String(type)}`)
  }
  const mode = options.compress ?? 'auto'
  if (mode !== 'auto' && mode !== 'always' && mode !== 'never') {
    throw new InvalidArgumentError(`compress must be 'auto', 'always' or 'never', got ${String(mode)}`)
  }
  if (payload.length > MAX_U32) throw new LimitExceededError('payload exceeds 4 GiB; split it into several frames')
  let stored = payload
  let compressed = false
  const wantCompression = mode === 'always' || (mode === 'auto' && payload.length >= COMPRESS_THRESHOLD)
  if (wantCompression && zstdCompress !== undefined) {
    const packed = zstdCompress(payload, { params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } })
    if (mode === 'always' || packed.length <= payload.length * COMPRESS_KEEP_RATIO) {
      stored = packed
      compressed = true
    }
  } else if (mode === 'always') {
    throw new UnsupportedVersionError('this Node.js has no zstd (node:zlib zstdCompressSync); run Node ≥ 22.15 or use compress: \'auto\'')
  }
  const headerLength = compressed ? 17 : 13
  const out = new Uint8Array(headerLength + stored.length)
  const view = new DataView(out.buffer)
  out[0] = FRAME_MAGIC_0
  out[1] = FRAME_MAGIC_1
  out[2] = FRAME_VERSION
  out[3] = compressed ? FLAG_ZSTD : 0
  out[4] = type
  view.setUint32(5, stored.length)
  if (compressed) view.setUint32(9, payload.length)
  out.set(stored, headerLength)
  const crcAt = headerLength - 4
  const crc = zlib.crc32(stored, zlib.crc32(out.subarray(0, crcAt)))
  view.setUint32(crcAt, crc)
  return out
}

interface Header { headerLength: number, storedLength: number, rawLength: number, compressed: boolean, type: number }

/**
 * Parses and checks the header at `offset`. Returns undefined when more bytes are needed to
 * read it; throws when it is not a frame this version reads or declares too large a payload.
 */
function readHeader (bytes: Uint8Array, offset: number, maxPayloadBytes: number): Header | undefined {
  const available = bytes.length - offset
  if (available < 1) return undefined
  if (bytes[offset] !== FRAME_MAGIC_0 || (available >= 2 && bytes[offset + 1] !== FRAME_MAGIC_1)) {
    throw new CodecError(`no frame magic at offset ${offset}; the stream is out of step or not BlazeDB frames`)
  }
  if (available < FRAME_PREFIX_BYTES) return undefined
  const version = bytes[offset + 2]!
  if (version !== FRAME_VERSION) {
    throw new UnsupportedVersionError(`frame version ${version} at offset ${offset}; this build reads version ${FRAME_VERSION}, upgrade to read newer frames`)
  }
  const flags = bytes[offset + 3]!
  if ((flags & ~FLAG_ZSTD) !== 0) {
    throw new UnsupportedVersionError(`frame flags 0x${flags.toString(16)} at offset ${offset} are unknown to this version; upgrade to read them`)
  }
  const compressed = (flags & FLAG_ZSTD) !== 0
  const headerLength = compressed ? 17 : 13
  const storedLength = u32(bytes, offset + 5)
  if (storedLength > maxPayloadBytes) {
    throw new LimitExceededError(`frame payload of ${storedLength} bytes exceeds maxPayloadBytes ${maxPayloadBytes}; raise the limit if the peer is trusted`)
  }
  let rawLength = storedLength
  if (compressed) {
    if (available < 13) return undefined
    rawLength = u32(bytes, offset + 9)
    if (rawLength > maxPayloadBytes) {
      throw new LimitExceededError(`frame inflates to ${rawLength} bytes, above maxPayloadBytes ${maxPayloadBytes}; raise the limit if the peer is trusted`)
    }
  }
  return { headerLength, storedLength, rawLength, compressed, type: bytes[offset + 4]! }
}

function u32 (bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)
}

function maxPayload (options: DecodeFrameOptions): number {
  const max = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  if (typeof max !== 'number' || !(max >= 0)) {
    throw new InvalidArgumentError(`maxPayloadBytes must be a non-negative number, got ${String(max)}`)
  }
  return max
}

/**
 * Total length of the frame starting at `offset`, or undefined if the bytes so far do not
 * yet show it (fewer than 9, or 13 for a compressed frame). Throws as `decodeFrame` would
 * for a bad magic, version, flags or an oversized declared payload.
 */
export function frameLength (bytes: Uint8Array, offset = 0, options: DecodeFrameOptions = {}): number | undefined {
  const header = readHeader(bytes, offset, maxPayload(options))
  return header === undefined ? undefined : header.headerLength + header.storedLength
}

/** Decodes exactly one frame; `bytes` must hold nothing else. */
export function decodeFrame (bytes: Uint8Array, options: DecodeFrameOptions = {}): Frame {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('decodeFrame takes a Uint8Array')
  const header = readHeader(bytes, 0, maxPayload(options))
  if (header === undefined || bytes.length < header.headerLength) {
    throw new TruncatedInputError(`frame header needs ${header?.headerLength ?? FRAME_PREFIX_BYTES} bytes, got ${bytes.length}; the frame is cut short`)
  }
  const { headerLength, storedLength, rawLength, compressed, type } = header
  const total = headerLength + storedLength
  if (bytes.length < total) {
    throw new TruncatedInputError(`frame declares ${storedLength} payload bytes but only ${bytes.length - headerLength} follow; the frame is cut short`)
  }
  if (bytes.length > total) {
    throw new CodecError(`${bytes.length - total} bytes follow the frame; split a stream with FrameDecoder or frameLength()`)
  }
  const crcAt = headerLength - 4
  const stored = bytes.subarray(headerLength, total)
  const expected = u32(bytes, crcAt)
  const actual = zlib.crc32(stored, zlib.crc32(bytes.subarray(0, crcAt)))
  if (actual !== expected) {
    throw new ChecksumError(`frame CRC32 is 0x${actual.toString(16)}, header says 0x${expected.toString(16)}; the frame was damaged in storage or transit`)
  }
  if (!compressed) return { type, payload: stored, compressed }
  return { type, payload: inflate(stored, rawLength), compressed }
}

function inflate (stored: Uint8Array, rawLength: number): Uint8Array {
  if (zstdDecompress === undefined) {
    throw new UnsupportedVersionError('frame is zstd-compressed but this Node.js has no zstd; run Node ≥ 22.15')
  }
  let out: Uint8Array
  try {
    // maxOutputLength stops a bomb at the declared size instead of inflating it all.
    out = zstdDecompress(stored, { maxOutputLength: Math.max(1, rawLength) })
  } catch (err) {
    throw new CodecError(`compressed payload is damaged or inflates beyond its declared ${rawLength} bytes`, { cause: err })
  }
  if (out.length !== rawLength) {
    throw new CodecError(`compressed payload inflates to ${out.length} bytes but the header declares ${rawLength}; the frame is damaged or forged`)
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/**
 * Splits a byte stream into frames: `push` chunks as they arrive, get back the frames they
 * complete. A declared payload above `maxPayloadBytes` throws as soon as its header is in,
 * before its payload is buffered. After an error the stream is out of step; every later
 * `push` throws the same error.
 */
export class FrameDecoder {
  readonly #max: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  #failure: unknown = null

  constructor (options: DecodeFrameOptions = {}) {
    this.#max = maxPayload(options)
  }

  /** Bytes held that belong to a frame not yet complete. */
  get bufferedBytes (): number { return this.#buffered }

  push (chunk: Uint8Array): Frame[] {
    if (this.#failure !== null) throw this.#failure
    if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('FrameDecoder.push takes a Uint8Array')
    try {
      return this.#take(chunk)
    } catch (err) {
      this.#failure = err
      this.#chunks = []
      this.#buffered = 0
      throw err
    }
  }

  /** Call at end of stream: throws TruncatedInputError if a partial frame is left. */
  end (): void {
    if (this.#failure !== null) throw this.#failure
    if (this.#buffered > 0) {
      throw new TruncatedInputError(`stream ended inside a frame (${this.#buffered} bytes buffered); the sender stopped mid-frame`)
    }
  }

  #take (chunk: Uint8Array): Frame[] {
    const frames: Frame[] = []
    if (chunk.length > 0) {
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    for (;;) {
      const head = this.#peek(17)
      const length = frameLength(head, 0, { maxPayloadBytes: this.#max })
      if (length === undefined || this.#buffered < length) return frames
      frames.push(decodeFrame(this.#shift(length), { maxPayloadBytes: this.#max }))
    }
  }

  /** Up to `n` bytes from the front of the buffered chunks, without consuming them. */
  #peek (n: number): Uint8Array {
    const first = this.#chunks[0]
    if (first === undefined) return new Uint8Array(0)
    if (first.length >= n || this.#chunks.length === 1) return first.subarray(0, n)
    const out = new Uint8Array(Math.min(n, this.#buffered))
    let at = 0
    for (const c of this.#chunks) {
      const take = Math.min(c.length, out.length - at)
      out.set(c.subarray(0, take), at)
      at += take
      if (at === out.length) break
    }
    return out
  }

  /** Removes and returns the first `n` buffered bytes (a view when they lie in one chunk). */
  #shift (n: number): Uint8Array {
    const first = this.#chunks[0]!
    let out: Uint8Array
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let at = 0
      while (at < n) {
        const c = this.#chunks[0]!
        const take = Math.min(c.length, n - at)
        out.set(c.subarray(0, take), at)
        at += take
        if (take === c.length) this.#chunks.shift()
        else this.#chunks[0] = c.subarray(take)
      }
    }
    this.#buffered -= n
    return out
  }
}
