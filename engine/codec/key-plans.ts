/**
 * Canonical key order plans: for an object's keys in their own order, the sorted order and
 * each key pre-encoded as a BlazeBinary string.
 */
import { LONE_SURROGATE, Unencodable } from './encode-errors.ts'
import * as T from './tags.ts'
import { compareUtf8, utf8Encoder } from './utf8.ts'

/** A key order's canonical order, with each key already encoded as a BlazeBinary string. */
export interface KeyPlan { sorted: string[], encoded: Uint8Array[] }
interface PlanNode { next: Map<string, PlanNode> | null, plan: KeyPlan | null }

/**
 * Sorting keys and encoding key strings dominate canonical encoding, and records repeat
 * their key order; so plans are cached in a tree keyed by the keys in their own order.
 * The tree is bounded: when full it starts over, so dictionaries with ever-new keys cost
 * a sort each (as without the cache) but cannot grow memory.
 */
const MAX_PLAN_NODES = 16_384
let planRoot: PlanNode = { next: null, plan: null }
let planNodes = 0

export function keyPlan (keys: readonly string[]): KeyPlan {
  let node = planRoot
  for (let i = 0; i < keys.length; i++) {
    const next = node.next === null ? undefined : node.next.get(keys[i]!)
    if (next === undefined) return addPlan(keys)
    node = next
  }
  return node.plan ?? addPlan(keys)
}

function addPlan (keys: readonly string[]): KeyPlan {
  const sorted = keys.slice().sort(compareUtf8)
  const encoded = sorted.map(encodeKey)
  const plan = { sorted, encoded }
  if (planNodes + keys.length > MAX_PLAN_NODES) {
    planRoot = { next: null, plan: null }
    planNodes = 0
  }
  let node = planRoot
  for (const key of keys) {
    if (node.next === null) node.next = new Map()
    let next = node.next.get(key)
    if (next === undefined) {
      next = { next: null, plan: null }
      node.next.set(key, next)
      planNodes++
    }
    node = next
  }
  node.plan = plan
  return plan
}

function encodeKey (key: string): Uint8Array {
  if (!key.isWellFormed()) throw new Unencodable(LONE_SURROGATE)
  const utf8 = utf8Encoder.encode(key)
  const n = utf8.length
  const h = n < T.FIXSTR_LIMIT ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5
  const out = new Uint8Array(h + n)
  if (n < T.FIXSTR_LIMIT) {
    out[0] = T.FIXSTR | n
  } else if (n <= 0xff) {
    out[0] = T.STR8; out[1] = n
  } else if (n <= 0xffff) {
    out[0] = T.STR16; out[1] = n >>> 8; out[2] = n
  } else {
    out[0] = T.STR32; new DataView(out.buffer).setUint32(1, n)
  }
  out.set(utf8, h)
  return out
}
