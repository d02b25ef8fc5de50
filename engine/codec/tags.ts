/**
 * BlazeBinary tag bytes. The table in `index.ts` is the specification; these constants
 * follow it one for one. Ranges carry a small count or value in the tag byte itself.
 */

/** 0x00–0x7f: the integer 0–127. */
export const FIXINT_MAX = 0x7f
/** 0x80–0x9f: a string of 0–31 UTF-8 bytes. */
export const FIXSTR = 0x80
/** 0xa0–0xaf: an array of 0–15 items. */
export const FIXARRAY = 0xa0
/** 0xb0–0xbf: a map of 0–15 entries with inline keys. */
export const FIXMAP = 0xb0

export const NULL = 0xc0
export const FALSE = 0xc1
export const TRUE = 0xc2
export const F32 = 0xc3
export const F64 = 0xc4
export const U8 = 0xc5
export const U16 = 0xc6
export const U32 = 0xc7
export const U64 = 0xc8
export const I8 = 0xc9
export const I16 = 0xca
export const I32 = 0xcb
export const I64 = 0xcc
export const STR8 = 0xcd
export const STR16 = 0xce
export const STR32 = 0xcf
export const BIN8 = 0xd0
export const BIN16 = 0xd1
export const BIN32 = 0xd2
export const ARR8 = 0xd3
export const ARR16 = 0xd4
export const ARR32 = 0xd5
export const MAP8 = 0xd6
export const MAP16 = 0xd7
export const MAP32 = 0xd8
export const BIGINT_POS = 0xd9
export const BIGINT_NEG = 0xda
export const DATE_S32 = 0xdb
export const DATE_MS48 = 0xdc
export const DATE_MS64 = 0xdd
export const SHAPE8 = 0xde
export const SHAPE16 = 0xdf
/** 0xe0–0xef: a map of registered shape 0–15 (StructureTable form only). */
export const FIXSHAPE = 0xe0
/** 0xf0–0xff: the integer −16 … −1. */
export const FIXNEG = 0xf0

/** Count limits of the tag ranges. */
export const FIXSTR_LIMIT = 32
export const FIXCOUNT_LIMIT = 16
export const FIXSHAPE_LIMIT = 16

/** The one NaN canonical BlazeBinary writes (float32 quiet NaN). */
export const CANONICAL_NAN_BITS = 0x7fc00000
/** Largest |milliseconds| a JS Date holds (ECMA-262 TimeClip). */
export const MAX_DATE_MS = 8.64e15
