/**
 * Pairing messages. Each is one BlazeBinary frame (engine/codec/frame.ts: magic, version,
 * flags, type, length, CRC32; never compressed) whose payload is a canonical map:
 *
 * | type | message | from   | payload                                                              |
 * |------|---------|--------|----------------------------------------------------------------------|
 * | 32   | START   | joiner | { v: 1, sid: bytes(16), y: bytes(32) } — fresh session id, CPace share Ya |
 * | 33   | REPLY   | member | { y: bytes(32) } — CPace share Yb                                    |
 * | 34   | CONFIRM | joiner | { mac: bytes(32) } — HMAC-SHA-256 under the joiner's confirmation key |
 * | 35   | WELCOME | member | { mac: bytes(32), iv: bytes(12), box: bytes } — the member's MAC, and |
 * |      |         |        | AES-256-GCM(welcome key, iv, AAD = transcript hash) of the canonical  |
 * |      |         |        | map { db: bytes(16), role, member: peer id, addrs: [multiaddr] } ‖ tag |
 * | 36   | ERROR   | either | { code: string (ERROR_CODES), message: string }; then the stream closes |
 *
 * The order is fixed: START, REPLY, CONFIRM, WELCOME; either side may send ERROR instead of
 * its next message. No message carries the code or anything computed from the code alone.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { decodeCanonical, encode, encodeFrame, FrameDecoder, type Frame, type Value } from '../../engine/codec/index.ts'
import { ERROR_CODES, FRAME, MAX_ADDRESSES, MAX_FRAME_BYTES, SID_BYTES, type PairWireCode } from './constants.ts'
import { PairingProtocolError } from './errors.ts'

export interface Start { v: number, sid: Uint8Array, y: Uint8Array }
export interface Welcome { db: Uint8Array, role: string, member: string, addrs: string[] }

function frame (type: number, value: Value): Uint8Array {
  return encodeFrame(encode(value), { type, compress: 'never' })
}

function map (payload: Uint8Array, what: string): Record<string, Value> {
  let v: Value
  try {
    v = decodeCanonical(payload, { maxDepth: 3 })
  } catch (cause) {
    throw new PairingProtocolError(`malformed ${what} message`, ERROR_CODES.malformed, { cause })
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date) throw new PairingProtocolError(`malformed ${what} message`, ERROR_CODES.malformed)
  return v
}

function bytes (v: Value | undefined, length: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) throw new PairingProtocolError(`malformed ${what} message`, ERROR_CODES.malformed)
  return v
}

export const encodeStart = (m: Start): Uint8Array => frame(FRAME.start, { v: m.v, sid: m.sid, y: m.y })
export function decodeStart (payload: Uint8Array): Start {
  const m = map(payload, 'START')
  if (typeof m.v !== 'number') throw new PairingProtocolError('malformed START message', ERROR_CODES.malformed)
  return { v: m.v, sid: bytes(m.sid, SID_BYTES, 'START'), y: bytes(m.y, 32, 'START') }
}

export const encodeReply = (y: Uint8Array): Uint8Array => frame(FRAME.reply, { y })
export const decodeReply = (payload: Uint8Array): Uint8Array => bytes(map(payload, 'REPLY').y, 32, 'REPLY')

export const encodeConfirm = (mac: Uint8Array): Uint8Array => frame(FRAME.confirm, { mac })
export const decodeConfirm = (payload: Uint8Array): Uint8Array => bytes(map(payload, 'CONFIRM').mac, 32, 'CONFIRM')

export function encodeWelcome (mac: Uint8Array, key: Uint8Array, aad: Uint8Array, iv: Uint8Array, welcome: Welcome): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(aad)
  const plain = encode({ db: welcome.db, role: welcome.role, member: welcome.member, addrs: welcome.addrs.slice(0, MAX_ADDRESSES) })
  const box = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
  return frame(FRAME.welcome, { mac, iv, box })
}

export function decodeWelcome (payload: Uint8Array): { mac: Uint8Array, open: (key: Uint8Array, aad: Uint8Array) => Welcome } {
  const m = map(payload, 'WELCOME')
  const mac = bytes(m.mac, 32, 'WELCOME')
  const iv = bytes(m.iv, 12, 'WELCOME')
  const box = m.box
  if (!(box instanceof Uint8Array) || box.length < 16) throw new PairingProtocolError('malformed WELCOME message', ERROR_CODES.malformed)
  return {
    mac,
    open: (key, aad) => {
      let plain: Buffer
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv)
        decipher.setAAD(aad)
        decipher.setAuthTag(box.subarray(box.length - 16))
        plain = Buffer.concat([decipher.update(box.subarray(0, box.length - 16)), decipher.final()])
      } catch (cause) {
        throw new PairingProtocolError('the welcome message does not authenticate (tampered with, or not from the member); ask for a new code with `blaze pair`', ERROR_CODES.protocol, { cause })
      }
      const w = map(plain, 'WELCOME')
      const addrs = w.addrs
      if (!(w.db instanceof Uint8Array) || w.db.length !== 16 || typeof w.role !== 'string' || typeof w.member !== 'string' ||
        !Array.isArray(addrs) || addrs.length > MAX_ADDRESSES || addrs.some((a) => typeof a !== 'string')) {
        throw new PairingProtocolError('malformed WELCOME contents', ERROR_CODES.malformed)
      }
      return { db: w.db, role: w.role, member: w.member, addrs: addrs as string[] }
    }
  }
}

export const encodeError = (code: PairWireCode, message: string): Uint8Array => frame(FRAME.error, { code, message: message.slice(0, 500) })
export function decodeError (payload: Uint8Array): { code: string, message: string } {
  const m = map(payload, 'ERROR')
  return { code: String(m.code), message: String(m.message).slice(0, 500) }
}

/** The part of a libp2p 3.x Stream pairing needs (an in-memory pair provides it too). */
export interface PairStream extends AsyncIterable<Uint8Array | { subarray: () => Uint8Array }> {
  send (data: Uint8Array): boolean
  onDrain (options?: { signal?: AbortSignal }): Promise<void>
  close (options?: { signal?: AbortSignal }): Promise<void>
  abort (err: Error): void
}

/** Reads one frame at a time from a stream, each within a bound; reads are capped at MAX_FRAME_BYTES. */
export class FrameReader {
  private readonly iterator: AsyncIterator<Uint8Array | { subarray: () => Uint8Array }>
  private readonly decoder = new FrameDecoder({ maxPayloadBytes: MAX_FRAME_BYTES })
  private readonly queue: Frame[] = []

  constructor (stream: PairStream) {
    this.iterator = stream[Symbol.asyncIterator]()
  }

  /** The next frame; PairingProtocolError if the stream ends, a frame is bad, or `signal` fires first. */
  async next (signal: AbortSignal): Promise<Frame> {
    while (this.queue.length === 0) {
      if (signal.aborted) throw new PairingProtocolError('the other device took too long to answer; try again', ERROR_CODES.timeout)
      let onAbort: (() => void) | undefined
      const aborted = new Promise<never>((_resolve, reject) => {
        onAbort = () => reject(new PairingProtocolError('the other device took too long to answer; try again', ERROR_CODES.timeout))
        signal.addEventListener('abort', onAbort, { once: true })
      })
      let result: IteratorResult<Uint8Array | { subarray: () => Uint8Array }>
      const next = this.iterator.next()
      // if the timeout wins, this read may still fail later (the stream is aborted): not unhandled
      next.catch(() => {})
      aborted.catch(() => {})
      try {
        result = await Promise.race([next, aborted])
      } finally {
        signal.removeEventListener('abort', onAbort!)
      }
      if (result.done === true) throw new PairingProtocolError('the other device closed the pairing stream early', ERROR_CODES.protocol)
      const chunk = result.value instanceof Uint8Array ? result.value : result.value.subarray()
      try {
        this.queue.push(...this.decoder.push(chunk))
      } catch (cause) {
        throw new PairingProtocolError(`bad pairing frame: ${(cause as Error).message}`, ERROR_CODES.malformed, { cause })
      }
    }
    return this.queue.shift()!
  }
}

export async function writeFrame (stream: PairStream, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain({ signal })
}
