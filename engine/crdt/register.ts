/**
 * Document state as a set of registers, merged field by field.
 *
 * A register is one write at a path: `set` (the path takes a value, replacing what was
 * below it), `unset` (the path is removed; at the root path this is the document's delete
 * tombstone) or `inc` (adds to a counter at the path). Each carries a stamp
 * `(hlc, author, idx)` — idx orders ops within one change — and stamps are totally ordered.
 *
 * Invariants (they make merge commutative, associative and idempotent):
 * 1. A `set`/`unset` register dominates every register at its own path or below it with a
 *    smaller stamp: those can never affect the result again, so they are dropped.
 * 2. `inc` registers dominate nothing; several may share a path.
 * 3. The kept set is exactly "every register ever received that no other received register
 *    dominates" — a function of the set of registers, not of arrival order — and it is kept
 *    sorted by (path, stamp), so equal sets encode to equal bytes.
 * 4. The document is the replay of the kept registers in stamp order (`materialize`).
 */
import type { Hlc } from '../clock/hlc.ts'
import type { Value } from '../codec/index.ts'

export type Path = readonly string[]
export type Doc = { [key: string]: Value }

export interface Stamp {
  readonly hlc: Hlc
  readonly author: Uint8Array
  readonly idx: number
}

export type Register =
  | { readonly kind: 'set', readonly path: Path, readonly stamp: Stamp, readonly value: Value }
  | { readonly kind: 'unset', readonly path: Path, readonly stamp: Stamp }
  | { readonly kind: 'inc', readonly path: Path, readonly stamp: Stamp, readonly by: number }

export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}

export function compareStamps (a: Stamp, b: Stamp): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  const byAuthor = compareBytes(a.author, b.author)
  if (byAuthor !== 0) return byAuthor
  return a.idx - b.idx
}

function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function comparePaths (a: Path, b: Path): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const c = compareStrings(a[i]!, b[i]!)
    if (c !== 0) return c
  }
  return a.length - b.length
}

/** Whether `prefix` is `path` or one of its ancestors. */
export function isPrefix (prefix: Path, path: Path): boolean {
  if (prefix.length > path.length) return false
  for (let i = 0; i < prefix.length; i++) {
    if (prefix[i] !== path[i]) return false
  }
  return true
}

function dominates (a: Register, b: Register): boolean {
  return a.kind !== 'inc' && isPrefix(a.path, b.path) && compareStamps(a.stamp, b.stamp) > 0
}

function sameRegister (a: Register, b: Register): boolean {
  return compareStamps(a.stamp, b.stamp) === 0 && comparePaths(a.path, b.path) === 0
}

/**
 * Merges one register into a state. Returns the new state, or `undefined` when the
 * register changes nothing (already present, or dominated).
 */
export function mergeRegister (state: readonly Register[], incoming: Register): Register[] | undefined {
  for (const r of state) {
    if (sameRegister(r, incoming) || dominates(r, incoming)) return undefined
  }
  const next: Register[] = []
  let inserted = false
  for (const r of state) {
    if (dominates(incoming, r)) continue
    if (!inserted && compareRegisters(incoming, r) < 0) {
      next.push(incoming)
      inserted = true
    }
    next.push(r)
  }
  if (!inserted) next.push(incoming)
  return next
}

export function compareRegisters (a: Register, b: Register): number {
  return comparePaths(a.path, b.path) || compareStamps(a.stamp, b.stamp)
}

function isPlainObject (v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)
}

function cloneValue (v: Value): Value {
  if (Array.isArray(v)) return v.map(cloneValue)
  if (isPlainObject(v)) {
    const out: Doc = {}
    for (const k of Object.keys(v)) out[k] = cloneValue(v[k]!)
    return out
  }
  return v
}

/** The parent object of `path`, creating (or replacing non-objects with) objects on the way. */
function parentOf (doc: Doc, path: Path): Doc {
  let node = doc
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!
    const child = node[key]
    if (!isPlainObject(child)) {
      const fresh: Doc = {}
      node[key] = fresh
      node = fresh
    } else {
      node = child
    }
  }
  return node
}

function existingParent (doc: Doc, path: Path): Doc | undefined {
  let node: Value = doc
  for (let i = 0; i < path.length - 1; i++) {
    if (!isPlainObject(node)) return undefined
    node = node[path[i]!]!
  }
  return isPlainObject(node) ? node : undefined
}

/**
 * Whether the state describes a live document, without building it: after pruning, a root
 * `unset` (the delete tombstone) has dominated everything older, so any surviving `set` or
 * `inc` is newer than the tombstone and revives the document.
 */
export function exists (state: readonly Register[]): boolean {
  for (const r of state) if (r.kind !== 'unset') return true
  return false
}

/**
 * The document a state describes, or `undefined` if it is deleted or has no registers.
 * Values are not shared with the state when `fresh` is false (the default): callers may
 * mutate the result. Pass `fresh: true` when the state was just decoded and is thrown away.
 */
export function materialize (state: readonly Register[], fresh = false): Doc | undefined {
  if (state.length === 1) {
    const only = state[0]!
    if (only.kind === 'set' && only.path.length === 0 && isPlainObject(only.value)) {
      return (fresh ? only.value : cloneValue(only.value)) as Doc
    }
  }
  const ordered = [...state].sort((a, b) => compareStamps(a.stamp, b.stamp))
  let doc: Doc | undefined
  for (const r of ordered) {
    if (r.path.length === 0) {
      if (r.kind === 'set') doc = isPlainObject(r.value) ? cloneValue(r.value) as Doc : {}
      else if (r.kind === 'unset') doc = undefined
      continue
    }
    const key = r.path[r.path.length - 1]!
    if (r.kind === 'set') {
      doc ??= {}
      parentOf(doc, r.path)[key] = cloneValue(r.value)
    } else if (r.kind === 'unset') {
      if (doc === undefined) continue
      const parent = existingParent(doc, r.path)
      if (parent !== undefined) delete parent[key]
    } else {
      doc ??= {}
      const parent = parentOf(doc, r.path)
      const current = parent[key]
      parent[key] = (typeof current === 'number' ? current : 0) + r.by
    }
  }
  return doc
}
