/**
 * BlazeBinary: the value encoding of BlazeDB, and frames around it.
 *
 * - `encode` writes the **canonical** form, one byte sequence per value: it is what changes
 *   are hashed and signed over. `decodeCanonical` accepts only that form; `decode` also
 *   accepts harmless variations (longer integer or length forms, unsorted keys).
 * - `StructureTable` writes the compact **storage** form: maps of a registered key set are a
 *   shape reference plus values.
 * - `encodeFrame` / `decodeFrame` / `FrameDecoder` wrap payloads with a CRC32 and optional
 *   zstd (layout in `frame.ts`).
 *
 * ```ts
 * import { encode, decodeCanonical, encodeFrame, decodeFrame } from './engine/codec/index.ts'
 * const bytes = encode({ b: 1n, a: [new Date(0), 'x'] }) // keys written as a, b
 * decodeCanonical(bytes)                                 // { a: [Date(0), 'x'], b: 1n }
 * decodeFrame(encodeFrame(bytes, { type: 7 }))           // { type: 7, payload: bytes, compressed: false }
 * ```
 *
 * ## Value format, version 1
 *
 * Every value is one tag byte, then its fields. Integers in fields are big-endian;
 * "len"/"count" fields are unsigned.
 *
 * | tag         | value                                  | follows                                   |
 * | ----------- | -------------------------------------- | ----------------------------------------- |
 * | 0x00–0x7f   | integer 0…127                          | —                                         |
 * | 0x80–0x9f   | string of 0…31 UTF-8 bytes (tag&0x1f)   | the bytes                                 |
 * | 0xa0–0xaf   | array of 0…15 items (tag&0x0f)          | the items                                 |
 * | 0xb0–0xbf   | map of 0…15 entries (tag&0x0f)          | entries: key (a string value), value      |
 * | 0xc0        | null                                   | —                                         |
 * | 0xc1 / 0xc2 | false / true                           | —                                         |
 * | 0xc3        | float32 number                         | 4 bytes IEEE 754                          |
 * | 0xc4        | float64 number                         | 8 bytes IEEE 754                          |
 * | 0xc5–0xc8   | unsigned integer: u8, u16, u32, u64    | 1, 2, 4, 8 bytes (u64 ≤ 2^53−1)           |
 * | 0xc9–0xcc   | signed integer: i8, i16, i32, i64      | 1, 2, 4, 8 bytes two's complement (i64 ≥ −(2^53−1)) |
 * | 0xcd–0xcf   | string, len u8 / u16 / u32             | len, then the UTF-8 bytes                 |
 * | 0xd0–0xd2   | Uint8Array, len u8 / u16 / u32         | len, then the bytes                       |
 * | 0xd3–0xd5   | array, count u8 / u16 / u32            | count, then the items                     |
 * | 0xd6–0xd8   | map, count u8 / u16 / u32              | count, then the entries                   |
 * | 0xd9        | bigint ≥ 0                              | n (u8, 0…8), n bytes magnitude            |
 * | 0xda        | bigint < 0, value = −1 − magnitude      | n (u8, 0…8), n bytes magnitude (< 2^63)   |
 * | 0xdb        | Date, whole seconds since 1970          | 4 bytes u32 seconds                       |
 * | 0xdc        | Date, milliseconds                      | 6 bytes signed (int48)                    |
 * | 0xdd        | Date, milliseconds                      | 8 bytes signed (|ms| ≤ 8.64e15)           |
 * | 0xde        | shape map, id u8 (storage form only)    | id, then one value per shape key          |
 * | 0xdf        | shape map, id u16 (storage form only)   | id, then one value per shape key          |
 * | 0xe0–0xef   | shape map, id 0…15 (storage form only)  | one value per shape key, in shape order   |
 * | 0xf0–0xff   | integer −16…−1                          | —                                         |
 *
 * ### Canonical rules (what `encode` writes and `decodeCanonical` demands)
 *
 * 1. A number that is a safe integer (|n| ≤ 2^53−1) is an integer, in the shortest form
 *    that holds it (fixint, u8 before u16…, fixneg, i8 before i16…). `-0` is not the
 *    integer 0: it is float32 `0x80000000`, so it survives the round trip.
 * 2. Any other number is float32 if `Math.fround(n) === n` (this includes ±Infinity),
 *    else float64. NaN has one form: float32 `0x7fc00000`.
 * 3. bigint (−2^63 … 2^64−1, a separate type from number) uses the fewest magnitude
 *    bytes: no leading zero byte, 0n and −1n have n = 0.
 * 4. Dates: whole seconds in 0…2^32−1 use 0xdb, else int48 ms if it fits, else 0xdd.
 *    An invalid Date (NaN time) does not encode.
 * 5. Lengths and counts use the fix form, else the smallest width that holds them.
 * 6. Map keys are sorted by their UTF-8 bytes, no duplicates. Strings must be
 *    well-formed (no lone surrogates) and are stored as exact UTF-8.
 * 7. Shape references (0xde, 0xdf, 0xe0–0xef) never appear.
 *
 * `decode` also accepts what these rules exclude but reads unambiguously: longer integer,
 * length and Date forms, float64 where float32 would do, floats holding integers, any NaN,
 * bigint magnitudes with leading zeros, unsorted keys.
 *
 * Both decoders reject: truncation, trailing bytes, unknown tags, non-string keys,
 * duplicate keys, invalid UTF-8, integers outside the safe range, out-of-range Dates and
 * bigints, nesting beyond `maxDepth` (64), more than `maxItems` items, inputs over
 * `maxBytes`. Every declared length or count is checked against the remaining bytes
 * (≥ 1 byte per item, 2 per map entry) before anything is allocated.
 *
 * Storage form (`StructureTable`): as above, except that a map whose key set is a
 * registered shape is written as its shape reference and its values in the shape's key
 * order, and other maps keep their own key order. Shape ids are table-local.
 */
import { decodeValue } from './decoder.ts'
import { encodeValue } from './encoder.ts'
import type { DecodeLimits, EncodeOptions, Value } from './types.ts'

export type { DecodeLimits, EncodeOptions, Value } from './types.ts'
export { StructureTable, type ShapeDefinition, type StructureTableOptions } from './structures.ts'
export {
  encodeFrame, decodeFrame, frameLength, FrameDecoder,
  type Frame, type EncodeFrameOptions, type DecodeFrameOptions,
  DEFAULT_MAX_PAYLOAD_BYTES, COMPRESS_THRESHOLD, FRAME_VERSION
} from './frame.ts'
export { compareUtf8 } from './utf8.ts'

/**
 * The canonical encoding of `value`.
 *
 * The result is a view into an output slab shared with other results (as Node's small
 * Buffers share a pool): use its bytes, not its `.buffer`, and `.slice()` it if you keep
 * it for long, so that it does not pin the 64 KiB slab.
 * @throws UnencodableValueError for undefined, functions, symbols, class instances other
 *   than Date and Uint8Array, invalid Dates, lone surrogates, bigints outside int64/uint64
 * @throws LimitExceededError when nesting exceeds `maxDepth` (default 64; catches cycles)
 */
export function encode (value: Value, options?: EncodeOptions): Uint8Array {
  return encodeValue(value, options, null)
}

/**
 * Decodes one value, accepting non-canonical but unambiguous forms.
 * @throws a BlazeError (TruncatedInputError, InvalidTagError, LimitExceededError, CodecError…) for any bad input
 */
export function decode (bytes: Uint8Array, limits?: DecodeLimits): Value {
  return decodeValue(bytes, limits, false, null)
}

/**
 * Decodes one value that must be in canonical form, so `encode(decodeCanonical(b))` equals `b`.
 * Use it for anything hashed or signed.
 * @throws NonCanonicalError for a valid but non-canonical encoding, else as `decode`
 */
export function decodeCanonical (bytes: Uint8Array, limits?: DecodeLimits): Value {
  return decodeValue(bytes, limits, true, null)
}
