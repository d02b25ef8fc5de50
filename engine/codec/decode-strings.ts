/**
 * String decoding helpers for the hot path.
 */
const fromCharCode = String.fromCharCode

/** ASCII bytes to a string without a native call: fromCharCode with one argument per byte. */
export function shortAscii (s: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 1: return fromCharCode(s[p]!)
    case 2: return fromCharCode(s[p]!, s[p + 1]!)
    case 3: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!)
    case 4: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!)
    case 5: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!)
    case 6: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!)
    case 7: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!)
    case 8: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!)
    case 9: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!)
    case 10: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!)
    case 11: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!)
    case 12: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!)
    case 13: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!)
    case 14: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!, s[p + 13]!)
    case 15: return fromCharCode(s[p]!, s[p + 1]!, s[p + 2]!, s[p + 3]!, s[p + 4]!, s[p + 5]!, s[p + 6]!, s[p + 7]!, s[p + 8]!, s[p + 9]!, s[p + 10]!, s[p + 11]!, s[p + 12]!, s[p + 13]!, s[p + 14]!)
    default: return ''
  }
}

/**
 * Inline map keys repeat across values; a small cache hands back the same string, which
 * skips building it and lets V8 reuse its internalized form as a property name.
 */
const KEY_CACHE_SIZE = 4096
const keyCache = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined)

/** Keys up to this many bytes go through the cache. */
export const KEY_CACHE_MAX_LENGTH = 24

function slotOf (src: Uint8Array, p: number, n: number): number {
  let h = n
  for (let i = p; i < p + n; i++) h = (Math.imul(h, 31) + src[i]!) | 0
  return (h ^ (h >>> 13)) & (KEY_CACHE_SIZE - 1)
}

/** The cached string for the `n` key bytes at `p`, if the cache holds it. */
export function cachedKey (src: Uint8Array, p: number, n: number): string | undefined {
  const cached = keyCache[slotOf(src, p, n)]
  if (cached === undefined || cached.length !== n) return undefined
  for (let i = 0; i < n; i++) if (cached.charCodeAt(i) !== src[p + i]) return undefined
  return cached
}

/** Caches `key`, decoded from the `n` bytes at `p`. Only ASCII keys (length === bytes) are kept, so `cachedKey` can compare code units to bytes. */
export function cacheKey (src: Uint8Array, p: number, n: number, key: string): void {
  if (key.length === n) keyCache[slotOf(src, p, n)] = key
}
