/**
 * Canonical key order plans: for an object's keys in their own order, the sorted order and
 * each key pre-encoded as a BlazeBinary string.
 */
import { LONE_SURROGATE, Unencodable } from './encode-errors.ts'
import * as T from './tags.ts'
import { compareUtf8, utf8Encoder } from './utf8.ts'

/** A key order's canonical order, with each key already encoded as a BlazeBinary string. */
export interface KeyPlan {
  sorted: string[]
  /** The sorted keys encoded back to back; key i ends at `ends[i]`. */
  bytes: Uint8Array
  ends: number[]
}
interface PlanNode { next: Map<string, PlanNode> | null, plan: KeyPlan | null }

/**
 * Sorting keys and encoding key strings dominate canonical encoding, and records repeat
 * their key order; so plans are cached in a tree keyed by the keys in their own order.
 * The tree is bounded: when full it starts over, so dictionaries with ever-new keys cost
 * a sort each (as without the cache) but cannot grow memory.
 */
const MAX_PLAN_NODES = 16_384
/** Plans whose keys take more bytes than this are used once, not cached. */
const MAX_PLAN_BYTES = 4096
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
  const plan = { sorted, ...encodeKeys(sorted) }
  if (plan.bytes.length > MAX_PLAN_BYTES) return plan
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

/** Every key as a BlazeBinary string (header and UTF-8), back to back in one array. */
function encodeKeys (sorted: readonly string[]): { bytes: Uint8Array, ends: number[] } {
  const parts: Uint8Array[] = []
  const ends: number[] = []
  let total = 0
  for (const key of sorted) {
    if (!key.isWellFormed()) throw new Unencodable(LONE_SURROGATE)
    const utf8 = utf8Encoder.encode(key)
    parts.push(utf8)
    total += headerSize(utf8.length) + utf8.length
    ends.push(total)
  }
  const bytes = new Uint8Array(total)
  const view = new DataView(bytes.buffer)
  let at = 0
  for (const utf8 of parts) {
    const n = utf8.length
    if (n < T.FIXSTR_LIMIT) {
      bytes[at++] = T.FIXSTR | n
    } else if (n <= 0xff) {
      bytes[at++] = T.STR8; bytes[at++] = n
    } else if (n <= 0xffff) {
      bytes[at++] = T.STR16; view.setUint16(at, n); at += 2
    } else {
      bytes[at++] = T.STR32; view.setUint32(at, n); at += 4
    }
    bytes.set(utf8, at)
    at += n
  }
  return { bytes, ends }
}

function headerSize (n: number): number {
  return n < T.FIXSTR_LIMIT ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5
}
