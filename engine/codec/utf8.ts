/**
 * String helpers shared by the encoder, the decoder and the structure table.
 */
import { LONE_SURROGATE, Unencodable } from './encode-errors.ts'

/**
 * Orders two strings by their UTF-8 bytes, which is code point order. UTF-16 code unit
 * order agrees except where one side is a surrogate (a code point ≥ U+10000) and the other
 * a unit in U+E000–U+FFFF: the surrogate must sort after it.
 */
export function compareUtf8 (a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000
      }
      return x - y
    }
  }
  return a.length - b.length
}

/** True when the strings are sorted strictly ascending by UTF-8 bytes. */
export function isSortedUtf8 (keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if (compareUtf8(keys[i - 1]!, keys[i]!) >= 0) return false
  }
  return true
}

/** `ignoreBOM` keeps a leading U+FEFF, so decoding is the exact inverse of encoding. */
export const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
export const utf8Encoder = new TextEncoder()

/** Writes `s` as UTF-8 into `buf` at `p` (room for 3 bytes per unit ensured); returns the end. Rejects lone surrogates. */
export function writeUtf8 (s: string, buf: Uint8Array, p: number): number {
  const len = s.length
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      buf[p++] = c
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6)
      buf[p++] = 0x80 | (c & 0x3f)
    } else if (c < 0xd800 || c >= 0xe000) {
      buf[p++] = 0xe0 | (c >> 12)
      buf[p++] = 0x80 | ((c >> 6) & 0x3f)
      buf[p++] = 0x80 | (c & 0x3f)
    } else {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0
      if (c >= 0xdc00 || d < 0xdc00 || d >= 0xe000) {
        throw new Unencodable(LONE_SURROGATE)
      }
      i++
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
      buf[p++] = 0xf0 | (c >> 18)
      buf[p++] = 0x80 | ((c >> 12) & 0x3f)
      buf[p++] = 0x80 | ((c >> 6) & 0x3f)
      buf[p++] = 0x80 | (c & 0x3f)
    }
  }
  return p
}
