/**
 * Stored LMDB values carry a CRC32 of (key ‖ value): LMDB has no checksums and its
 * encryption no authentication tag, so without it a damaged byte would read back as a
 * silently wrong value.
 *
 * | bytes | field                                   |
 * |-------|-----------------------------------------|
 * | n     | the value                               |
 * | 4     | CRC32 (zlib) of key ‖ value, big-endian |
 */
import { crc32 } from 'node:zlib'
import type { Bytes } from './types.ts'

export const CHECKSUM_BYTES = 4

export function seal (key: Bytes, value: Bytes): Buffer {
  const n = value.length
  const out = Buffer.allocUnsafe(n + CHECKSUM_BYTES)
  out.set(value, 0)
  const sum = crc32(value, crc32(key))
  out[n] = sum >>> 24
  out[n + 1] = (sum >>> 16) & 0xff
  out[n + 2] = (sum >>> 8) & 0xff
  out[n + 3] = sum & 0xff
  return out
}

function storedSum (raw: Uint8Array, n: number): number {
  return ((raw[n]! << 24) | (raw[n + 1]! << 16) | (raw[n + 2]! << 8) | raw[n + 3]!) >>> 0
}

/** The value in `raw` copied out (raw may be a buffer LMDB reuses), or undefined if damaged. */
export function unsealCopy (key: Bytes, raw: Buffer): Buffer | undefined {
  const n = raw.length - CHECKSUM_BYTES
  if (n < 0) return undefined
  const out = Buffer.allocUnsafe(n)
  raw.copy(out, 0, 0, n)
  return crc32(out, crc32(key)) === storedSum(raw, n) ? out : undefined
}

/** The value in `raw` as a view (raw must be a buffer the caller owns), or undefined if damaged. */
export function unsealView (key: Bytes, raw: Buffer): Buffer | undefined {
  const n = raw.length - CHECKSUM_BYTES
  if (n < 0) return undefined
  const value = raw.subarray(0, n)
  return crc32(value, crc32(key)) === storedSum(raw, n) ? value : undefined
}

/** The value of a sealed buffer this process made itself (no check needed), copied. */
export function unsealOwn (sealed: Buffer): Buffer {
  return Buffer.from(sealed.subarray(0, sealed.length - CHECKSUM_BYTES))
}
