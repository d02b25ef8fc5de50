/**
 * Sync messages. Every message is one BlazeBinary frame (magic, version, flags, type,
 * length, CRC32; zstd when it pays — engine/codec/frame.ts) whose payload is:
 *
 * | type | message | payload                                                          |
 * |------|---------|------------------------------------------------------------------|
 * | 1    | CHANGES | a change batch (engine/log/entry.ts): signed changes, runs per author end signed |
 * | 16   | HELLO   | canonical map { v: protocol version, db: bytes(16), vv: { peerId: seq } } |
 * | 17   | ACK     | canonical map { vv } — what the sender now holds (drives GC later) |
 * | 18   | NEED    | canonical map { vv } — resend from here (after a gap)              |
 * | 19   | ERROR   | canonical map { code: string, message: string }; then the stream closes |
 */
import { decodeCanonical, encode, encodeFrame, type Value } from '../../engine/codec/index.ts'
import type { VersionVector } from '../../engine/log/version-vector.ts'
import { FRAME, type WireErrorCode } from './constants.ts'
import { SyncProtocolError } from './errors.ts'

export interface Hello { v: number, db: Uint8Array, vv: VersionVector }

function map (payload: Uint8Array, what: string): Record<string, Value> {
  let v: Value
  try {
    v = decodeCanonical(payload, { maxDepth: 4 })
  } catch (cause) {
    throw new SyncProtocolError(`malformed ${what} message`, 'MALFORMED', { cause })
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date) throw new SyncProtocolError(`malformed ${what} message`, 'MALFORMED')
  return v
}

function vvOf (v: Value | undefined, what: string): VersionVector {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date) throw new SyncProtocolError(`malformed version vector in ${what}`, 'MALFORMED')
  for (const seq of Object.values(v)) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new SyncProtocolError(`malformed version vector in ${what}`, 'MALFORMED')
  }
  return v as VersionVector
}

export function encodeHello (hello: Hello): Uint8Array {
  return encodeFrame(encode({ v: hello.v, db: hello.db, vv: hello.vv }), { type: FRAME.hello })
}

export function decodeHello (payload: Uint8Array): Hello {
  const m = map(payload, 'HELLO')
  if (typeof m.v !== 'number' || !(m.db instanceof Uint8Array)) throw new SyncProtocolError('malformed HELLO message', 'MALFORMED')
  return { v: m.v, db: m.db, vv: vvOf(m.vv, 'HELLO') }
}

export function encodeVector (type: typeof FRAME.ack | typeof FRAME.need, vv: VersionVector): Uint8Array {
  return encodeFrame(encode({ vv }), { type })
}

export function decodeVector (payload: Uint8Array, what: string): VersionVector {
  return vvOf(map(payload, what).vv, what)
}

export function encodeError (code: WireErrorCode, message: string): Uint8Array {
  return encodeFrame(encode({ code, message }), { type: FRAME.error })
}

export function decodeError (payload: Uint8Array): { code: string, message: string } {
  const m = map(payload, 'ERROR')
  return { code: String(m.code), message: String(m.message) }
}
