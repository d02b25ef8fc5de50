/**
 * Secondary indexes: declared per collection (and per replica — like SQLite's, indexes are
 * local configuration, not replicated data), built for existing documents, and kept up to
 * date in the same store transaction as every change that touches them, local or remote.
 *
 * Key: I ‖ index id (u32) ‖ encoded field values (key-encoding.ts) ‖ document id;
 * value: the document id.
 */
import type { Value } from '../codec/index.ts'
import { encode, decode } from '../codec/index.ts'
import type { Doc } from '../crdt/register.ts'
import { getPath } from '../db/patch.ts'
import type { Sargable, QueryPlan } from '../query/index.ts'
import type { Store, StoreReader, StoreTxn } from '../store/types.ts'
import { docKey } from '../keys.ts'
import { concat, encodeIndexBound, encodeIndexValue, encodeStringPrefix, successor } from './key-encoding.ts'
export { isTruncated, MAX_INDEX_FIELDS } from './key-encoding.ts'

export const INDEX_PREFIX = 0x49 // 'I'

export interface IndexDef {
  id: number
  collection: string
  name: string
  /** dotted paths, in key order */
  fields: string[]
}

const enc = new TextEncoder()

const prefixes = new Map<number, Uint8Array>()

/** I ‖ id (u32); cached — on the path of every indexed query and write. Never mutated. */
function indexPrefix (id: number): Uint8Array {
  let out = prefixes.get(id)
  if (out === undefined) {
    out = new Uint8Array(5)
    out[0] = INDEX_PREFIX
    new DataView(out.buffer).setUint32(1, id)
    prefixes.set(id, out)
  }
  return out
}

export function indexRange (id: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: indexPrefix(id), lt: indexPrefix(id + 1) }
}

export function indexKey (def: IndexDef, id: string, doc: Doc): Uint8Array {
  const parts = [indexPrefix(def.id)]
  for (const f of def.fields) parts.push(encodeIndexValue(f === 'id' ? id : getPath(doc, f.split('.')) as Value | undefined))
  parts.push(enc.encode(id))
  return concat(...parts)
}

export function encodeDef (def: IndexDef): Uint8Array { return encode({ id: def.id, collection: def.collection, name: def.name, fields: def.fields }) }
export function decodeDef (bytes: Uint8Array): IndexDef { return decode(bytes) as unknown as IndexDef }

function same (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0
}

/** Index entries for a document that changed from `before` to `after` (undefined: absent). */
export function maintain (txn: StoreTxn, defs: readonly IndexDef[], id: string, before: Doc | undefined, after: Doc | undefined): void {
  const value = enc.encode(id)
  for (const def of defs) {
    const old = before === undefined ? undefined : indexKey(def, id, before)
    const now = after === undefined ? undefined : indexKey(def, id, after)
    if (same(old, now)) continue
    if (old !== undefined) txn.delete(old)
    if (now !== undefined) txn.put(now, value)
  }
}

interface Range { gte: Uint8Array, lt: Uint8Array }

/**
 * The key ranges of `def` holding every document that can match the plan, or undefined when
 * the index cannot narrow it. Equality conditions consume leading fields; then one
 * eq/in/range/startsWith condition on the next field bounds the scan.
 */
export function rangesFor (def: IndexDef, plan: QueryPlan): Range[] | undefined {
  return rangesOn(def, sargableByPath(plan))
}

function sargableByPath (plan: QueryPlan): Map<string, Sargable[]> {
  const byPath = new Map<string, Sargable[]>()
  for (const s of plan.sargable) {
    const list = byPath.get(s.path) ?? []
    list.push(s)
    byPath.set(s.path, list)
  }
  return byPath
}

function rangesOn (def: IndexDef, byPath: Map<string, Sargable[]>): Range[] | undefined {
  if (!byPath.has(def.fields[0]!)) return undefined
  let prefix = indexPrefix(def.id)
  let used = 0
  for (const field of def.fields) {
    const conds = byPath.get(field) ?? []
    const eq = conds.find((c) => c.op === 'eq')
    if (eq !== undefined) {
      prefix = concat(prefix, encodeIndexValue(eq.value))
      used++
      continue
    }
    const ranges = boundsOn(prefix, conds)
    if (ranges !== undefined) return ranges
    break
  }
  return used === 0 ? undefined : [{ gte: prefix, lt: successor(prefix) }]
}

function boundsOn (prefix: Uint8Array, conds: Sargable[]): Range[] | undefined {
  const inCond = conds.find((c) => c.op === 'in')
  if (inCond !== undefined && Array.isArray(inCond.value)) {
    const seen = new Set<string>()
    const out: Range[] = []
    for (const v of inCond.value) {
      const p = concat(prefix, encodeIndexValue(v))
      const k = Buffer.from(p).toString('latin1')
      if (seen.has(k)) continue
      seen.add(k)
      out.push({ gte: p, lt: successor(p) })
    }
    return out.sort((a, b) => Buffer.compare(a.gte, b.gte))
  }
  const sw = conds.find((c) => c.op === 'startsWith')
  if (sw !== undefined && typeof sw.value === 'string') {
    const p = concat(prefix, encodeStringPrefix(sw.value))
    return [{ gte: p, lt: successor(p) }]
  }
  const lower = conds.find((c) => c.op === 'gt' || c.op === 'gte')
  const upper = conds.find((c) => c.op === 'lt' || c.op === 'lte')
  const bound = lower ?? upper
  if (bound === undefined) return undefined
  // range conditions only match values of the operand's type class: stay inside it
  const cls = encodeIndexValue(bound.value).subarray(0, 1)
  const classStart = concat(prefix, cls)
  const classEnd = successor(classStart)
  // equal values encode equally, so exclusive bounds can skip the operand's own keys; a bound
  // too long to be kept whole widens to every value sharing its kept prefix
  const low = lower === undefined ? undefined : encodeIndexBound(lower.value)
  const high = upper === undefined ? undefined : encodeIndexBound(upper.value)
  const gte = low === undefined ? classStart : !low.exact || lower!.op === 'gte' ? concat(prefix, low.bytes) : successor(concat(prefix, low.bytes))
  const lt = high === undefined ? classEnd : high.exact && upper!.op === 'lt' ? concat(prefix, high.bytes) : successor(concat(prefix, high.bytes))
  return [{ gte, lt }]
}

/** Picks the index whose ranges narrow the plan most (more leading fields used first). */
export function chooseIndex (defs: readonly IndexDef[], plan: QueryPlan): { def: IndexDef, ranges: Range[] } | undefined {
  if (plan.sargable.length === 0) return undefined
  const byPath = sargableByPath(plan)
  let best: { def: IndexDef, ranges: Range[], score: number } | undefined
  for (const def of defs) {
    const ranges = rangesOn(def, byPath)
    if (ranges === undefined) continue
    const score = ranges.reduce((n, r) => n + r.gte.length, 0) / ranges.length
    if (best === undefined || score > best.score) best = { def, ranges, score }
  }
  return best === undefined ? undefined : { def: best.def, ranges: best.ranges }
}

/** The document ids in the given ranges of an index, in key order (or reverse). */
export function * idsIn (reader: StoreReader, ranges: readonly Range[], reverse = false): Generator<string> {
  const dec = new TextDecoder()
  for (const r of reverse ? [...ranges].reverse() : ranges) {
    for (const { value } of reader.range(reverse ? { ...r, reverse: true } : r)) yield dec.decode(value)
  }
}

/**
 * Whether reading `def` in key order yields documents ordered by the plan's leading sort
 * key: the sort's first path is the first index field not fixed by an equality, and every
 * earlier field is fixed (so it does not reorder the scan).
 */
export function orderFor (def: IndexDef, plan: QueryPlan): { path: string, dir: 'asc' | 'desc' } | undefined {
  const first = plan.sort[0]
  if (first === undefined) return undefined
  for (const field of def.fields) {
    if (field === first.path) return { path: field, dir: first.dir }
    if (!plan.sargable.some((s) => s.path === field && s.op === 'eq')) return undefined
  }
  return undefined
}

/**
 * The encoded value of `path` in a document, as index keys order it: for a value too long
 * to be kept whole, its kept prefix (values sharing it come in hash order, so they compare
 * equal here, and `isTruncated` tells that their ties are not in id order).
 */
export function orderKey (path: string): (doc: Doc) => Uint8Array {
  const parts = path.split('.')
  return (doc) => encodeIndexBound(path === 'id' ? (doc as { id?: Value }).id : getPath(doc, parts) as Value | undefined).bytes
}

/**
 * Documents per distinct value of the index's first field, counted by the store (LMDB counts
 * keys natively) — one document read per group, for its value. Undefined (the caller then
 * scans) when a group's encoding could hold unequal values: arrays and objects share one
 * class byte, and numbers beyond 2^53 round together.
 */
export function countGroups (core: { store: Store, docOf: (raw: Uint8Array) => Doc | undefined }, def: IndexDef, collection: string, path: string): Array<{ value: Value | undefined, count: number }> | undefined {
  const store = core.store
  const { lt } = indexRange(def.id)
  const prefix = indexPrefix(def.id)
  const parts = path.split('.')
  const dec = new TextDecoder()
  const out: Array<{ value: Value | undefined, count: number }> = []
  let cursor: Uint8Array = prefix
  for (;;) {
    const first = store.range({ gte: cursor, lt, limit: 1 }).next()
    if (first.done === true) return out
    const id = dec.decode(first.value.value)
    const raw = store.get(docKey(collection, id))
    const doc = raw === undefined ? undefined : core.docOf(raw)
    if (doc === undefined) return undefined
    const value = path === 'id' ? id : getPath(doc, parts) as Value | undefined
    if (typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array)) return undefined
    if (typeof value === 'bigint' || (typeof value === 'number' && Math.abs(value) >= 2 ** 53)) return undefined
    const group = concat(prefix, encodeIndexValue(value))
    const end = successor(group)
    out.push({ value, count: store.count({ gte: group, lt: end }) })
    cursor = end
  }
}
