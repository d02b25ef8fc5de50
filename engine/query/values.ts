/**
 * The total order over BlazeBinary values that filters, sorts, cursors and min/max share:
 *
 *   missing < null < booleans < numbers and bigints < strings < dates < bytes < arrays < objects
 *
 * - Numbers and bigints form one class, compared by exact numeric value (`1` equals `1n`);
 *   NaN equals NaN and sorts below every other number; `-0` equals `0`.
 * - Strings compare by code point (the order of their UTF-8 bytes), not by UTF-16 unit.
 * - Dates by time; bytes lexicographically, shorter first on a common prefix.
 * - Arrays element by element, shorter first on a common prefix.
 * - Objects as their entries sorted by key: key, then value, pair by pair; fewer entries
 *   first on a common prefix. Key order in the object does not matter.
 *
 * "Missing" (`undefined`, a path that does not exist) is below everything so that sorting
 * is total; filters never let a missing field satisfy a comparison.
 */
import { compareUtf8, type Value } from '../codec/index.ts'
import { QueryError } from '../errors.ts'

/** Rank of each type class in the total order. */
export const TYPE_RANK = {
  missing: 0,
  null: 1,
  boolean: 2,
  number: 3,
  string: 4,
  date: 5,
  bytes: 6,
  array: 7,
  object: 8
} as const

export type TypeClass = keyof typeof TYPE_RANK

export function typeClass (v: Value | undefined): TypeClass {
  switch (typeof v) {
    case 'undefined': return 'missing'
    case 'boolean': return 'boolean'
    case 'number':
    case 'bigint': return 'number'
    case 'string': return 'string'
    default:
      if (v === null) return 'null'
      if (v instanceof Date) return 'date'
      if (v instanceof Uint8Array) return 'bytes'
      if (Array.isArray(v)) return 'array'
      return 'object'
  }
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in the total order. */
export function compareValues (a: Value | undefined, b: Value | undefined): number {
  // fast paths for the common same-type cases
  if (typeof a === 'string' && typeof b === 'string') return a === b ? 0 : compareUtf8(a, b)
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b)
  const ca = typeClass(a)
  const cb = typeClass(b)
  if (ca !== cb) return TYPE_RANK[ca] - TYPE_RANK[cb]
  switch (ca) {
    case 'missing':
    case 'null': return 0
    case 'boolean': return Number(a) - Number(b)
    case 'number': return compareNumeric(a as number | bigint, b as number | bigint)
    case 'date': return compareNumbers((a as Date).getTime(), (b as Date).getTime())
    case 'bytes': return compareBytes(a as Uint8Array, b as Uint8Array)
    case 'array': return compareArrays(a as Value[], b as Value[])
    case 'object': return compareObjects(a as Record<string, Value>, b as Record<string, Value>)
    default: return 0 // strings were handled above
  }
}

/** Deep equality under the total order (`compareValues(a, b) === 0`). */
export function valuesEqual (a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true
  if (typeof a === 'string' || typeof b === 'string') return false
  return compareValues(a, b) === 0
}

/** True when both values are present and of the same type class, so a range op may compare them. */
export function comparable (a: Value | undefined, b: Value): boolean {
  if (a === undefined) return false
  if (typeof a === typeof b && typeof a !== 'object') return true
  return typeClass(a) === typeClass(b)
}

function compareNumbers (a: number, b: number): number {
  if (a < b) return -1
  if (a > b) return 1
  if (a === b) return 0 // also -0 vs 0
  // at least one NaN: NaN sorts first, NaN equals NaN
  const na = Number.isNaN(a)
  const nb = Number.isNaN(b)
  return na === nb ? 0 : na ? -1 : 1
}

/** Exact comparison of a number and a bigint, in either order. */
function compareNumeric (a: number | bigint, b: number | bigint): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b)
  return typeof a === 'number' ? compareNumberBigint(a, b as bigint) : -compareNumberBigint(b as number, a)
}

function compareNumberBigint (n: number, b: bigint): number {
  if (Number.isNaN(n)) return -1
  if (n === Infinity) return 1
  if (n === -Infinity) return -1
  // a non-integer n lies strictly between floor(n) and floor(n) + 1, so floor decides
  const f = BigInt(Math.floor(n))
  if (f < b) return -1
  if (f > b) return 1
  return Number.isInteger(n) ? 0 : 1
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}

function compareArrays (a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i])
    if (c !== 0) return c
  }
  return a.length - b.length
}

function compareObjects (a: Record<string, Value>, b: Record<string, Value>): number {
  const ka = Object.keys(a).sort(compareUtf8)
  const kb = Object.keys(b).sort(compareUtf8)
  const n = Math.min(ka.length, kb.length)
  for (let i = 0; i < n; i++) {
    const k = compareUtf8(ka[i]!, kb[i]!)
    if (k !== 0) return k
    const c = compareValues(a[ka[i]!], b[kb[i]!])
    if (c !== 0) return c
  }
  return ka.length - kb.length
}

/**
 * A string that is equal for two values exactly when `compareValues` says they are equal:
 * the key of a group in `aggregate`.
 */
export function canonicalKey (v: Value | undefined): string {
  switch (typeClass(v)) {
    case 'missing': return 'm'
    case 'null': return 'z'
    case 'boolean': return v === true ? 't' : 'f'
    case 'number': {
      if (typeof v === 'bigint') return `i${v}`
      const n = v as number
      if (Number.isInteger(n)) return `i${BigInt(n)}` // -0 becomes 0; matches the equal bigint
      return Number.isNaN(n) ? 'n' : `d${n}`
    }
    case 'string': return `s${JSON.stringify(v)}`
    case 'date': return `t${(v as Date).getTime()}`
    case 'bytes': return `b${Buffer.from(v as Uint8Array).toString('hex')}`
    case 'array': return `[${(v as Value[]).map(canonicalKey).join(',')}]`
    case 'object': {
      const o = v as Record<string, Value>
      const keys = Object.keys(o).sort(compareUtf8)
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`).join(',')}}`
    }
  }
}

export function isPlainObject (v: unknown): v is Record<string, Value> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/**
 * The value at a path of keys, or `undefined` when a step is missing or not a plain
 * object. Only own keys count (so `constructor` or `__proto__` never reach a prototype).
 */
export function getField (doc: Value, keys: readonly string[]): Value | undefined {
  let node: Value | undefined = doc
  for (const key of keys) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined
    node = node[key]
  }
  return node
}

/** Sets an own key, even `__proto__`, without touching prototypes. */
export function setOwn (obj: Record<string, Value>, key: string, value: Value): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

/**
 * Splits a dotted path (`'owner.name'`) into keys.
 * @throws QueryError for a non-string, empty path or an empty key
 */
export function splitPath (path: unknown, what: string): string[] {
  const keys = typeof path === 'string' ? path.split('.') : []
  if (keys.length === 0 || keys.some((k) => k.length === 0)) {
    throw new QueryError(`${what} must be a dotted field path such as "status" or "owner.name", got ${show(path)}`)
  }
  return keys
}

/** A short, safe rendering of a value for error messages. */
export function show (v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'function') return 'a function'
  if (v === undefined) return 'undefined'
  try {
    const s = JSON.stringify(v)
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s
  } catch {
    return String(v)
  }
}
