/**
 * A persistent (copy-on-write) B+tree from string keys to byte values.
 *
 * Keys are the one-byte-per-char strings of `keyString`, so string order is bytewise order.
 * A tree is immutable once its writer is done with it: a snapshot is just a root.
 * Writers pass an `Edit` token; nodes created under the same token are changed in place
 * (like Clojure's transients), every other node is copied first, so a transaction of
 * many writes copies each touched node once, and the trees that readers hold never change.
 *
 * Invariants (checked by the tests):
 * 1. All leaves are at the same depth; keys within a node are strictly increasing.
 * 2. A branch with n children has n - 1 separators; child i holds keys k with
 *    seps[i-1] <= k < seps[i].
 * 3. Every node but the root holds between MIN and MAX entries (children for branches).
 */
import type { Bytes } from './types.ts'

/** Identity of one writer; a fresh object per transaction (or per frozen view). */
export type Edit = object

const MAX = 64
const MIN = 16

export class Leaf {
  keys: string[]
  vals: Bytes[]
  edit: Edit | null
  constructor (keys: string[], vals: Bytes[], edit: Edit | null) {
    this.keys = keys
    this.vals = vals
    this.edit = edit
  }
}

export class Branch {
  seps: string[]
  kids: Node[]
  edit: Edit | null
  constructor (seps: string[], kids: Node[], edit: Edit | null) {
    this.seps = seps
    this.kids = kids
    this.edit = edit
  }
}

export type Node = Leaf | Branch

export const EMPTY: Node = new Leaf([], [], null)

export const BTREE_LIMITS = { MAX, MIN } as const

/** first index i with arr[i] >= key */
function lowerBound (arr: string[], key: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** first index i with arr[i] > key */
function upperBound (arr: string[], key: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid]! <= key) lo = mid + 1
    else hi = mid
  }
  return lo
}

export function lookup (root: Node, key: string): Bytes | undefined {
  let node = root
  while (node instanceof Branch) node = node.kids[upperBound(node.seps, key)]!
  const i = lowerBound(node.keys, key)
  return i < node.keys.length && node.keys[i] === key ? node.vals[i] : undefined
}

function ownLeaf (node: Leaf, edit: Edit): Leaf {
  return node.edit === edit ? node : new Leaf(node.keys.slice(), node.vals.slice(), edit)
}

function ownBranch (node: Branch, edit: Edit): Branch {
  return node.edit === edit ? node : new Branch(node.seps.slice(), node.kids.slice(), edit)
}

function own (node: Node, edit: Edit): Node {
  return node instanceof Leaf ? ownLeaf(node, edit) : ownBranch(node, edit)
}

function size (node: Node): number {
  return node instanceof Leaf ? node.keys.length : node.kids.length
}

// The recursive insert reports a split of the node it returns through these two
// variables instead of allocating a result object on every level.
let splitSep = ''
let splitRight: Node | undefined

/** Returns the new root. */
export function insert (root: Node, key: string, value: Bytes, edit: Edit): Node {
  const node = insertInto(root, key, value, edit)
  if (splitRight === undefined) return node
  const right = splitRight
  splitRight = undefined
  return new Branch([splitSep], [node, right], edit)
}

function insertInto (node: Node, key: string, value: Bytes, edit: Edit): Node {
  if (node instanceof Leaf) {
    const i = lowerBound(node.keys, key)
    const n = ownLeaf(node, edit)
    splitRight = undefined
    if (i < n.keys.length && n.keys[i] === key) {
      n.vals[i] = value
      return n
    }
    n.keys.splice(i, 0, key)
    n.vals.splice(i, 0, value)
    if (n.keys.length > MAX) {
      const half = n.keys.length >>> 1
      const right = new Leaf(n.keys.splice(half), n.vals.splice(half), edit)
      splitSep = right.keys[0]!
      splitRight = right
    }
    return n
  }
  const i = upperBound(node.seps, key)
  const child = insertInto(node.kids[i]!, key, value, edit)
  const n = ownBranch(node, edit)
  n.kids[i] = child
  if (splitRight === undefined) return n
  n.kids.splice(i + 1, 0, splitRight)
  n.seps.splice(i, 0, splitSep)
  splitRight = undefined
  if (n.kids.length > MAX) {
    const half = n.kids.length >>> 1
    const rightKids = n.kids.splice(half)
    const rightSeps = n.seps.splice(half)
    splitSep = n.seps.pop()!
    splitRight = new Branch(rightSeps, rightKids, edit)
  }
  return n
}

let removed = false

/** Returns the new root (the same root when the key was absent). */
export function remove (root: Node, key: string, edit: Edit): Node {
  let node = removeFrom(root, key, edit)
  while (node instanceof Branch && node.kids.length === 1) node = node.kids[0]!
  return node
}

function removeFrom (node: Node, key: string, edit: Edit): Node {
  if (node instanceof Leaf) {
    const i = lowerBound(node.keys, key)
    if (i >= node.keys.length || node.keys[i] !== key) {
      removed = false
      return node
    }
    const n = ownLeaf(node, edit)
    n.keys.splice(i, 1)
    n.vals.splice(i, 1)
    removed = true
    return n
  }
  const i = upperBound(node.seps, key)
  const child = removeFrom(node.kids[i]!, key, edit)
  if (!removed) return node
  const n = ownBranch(node, edit)
  n.kids[i] = child
  if (size(child) < MIN) rebalance(n, i, edit)
  return n
}

/** Merges the underfull child i with a sibling, or evens out the pair. */
function rebalance (parent: Branch, i: number, edit: Edit): void {
  if (parent.kids.length < 2) return
  const j = i > 0 ? i - 1 : i
  const left = own(parent.kids[j]!, edit)
  const right = own(parent.kids[j + 1]!, edit)
  if (left instanceof Leaf && right instanceof Leaf) {
    const keys = left.keys.concat(right.keys)
    const vals = left.vals.concat(right.vals)
    if (keys.length <= MAX) {
      left.keys = keys
      left.vals = vals
      parent.kids.splice(j, 2, left)
      parent.seps.splice(j, 1)
      return
    }
    const half = keys.length >>> 1
    left.keys = keys.slice(0, half)
    left.vals = vals.slice(0, half)
    right.keys = keys.slice(half)
    right.vals = vals.slice(half)
    parent.seps[j] = right.keys[0]!
  } else if (left instanceof Branch && right instanceof Branch) {
    const seps = [...left.seps, parent.seps[j]!, ...right.seps]
    const kids = left.kids.concat(right.kids)
    if (kids.length <= MAX) {
      left.seps = seps
      left.kids = kids
      parent.kids.splice(j, 2, left)
      parent.seps.splice(j, 1)
      return
    }
    const half = kids.length >>> 1
    left.kids = kids.slice(0, half)
    left.seps = seps.slice(0, half - 1)
    parent.seps[j] = seps[half - 1]!
    right.kids = kids.slice(half)
    right.seps = seps.slice(half)
  } else {
    throw new Error('B+tree invariant broken: siblings at different depths')
  }
  parent.kids[j] = left
  parent.kids[j + 1] = right
}

/**
 * Entries with gte <= key < lt, ascending (or descending when `reverse`).
 * The tree must not change while this runs (give it a frozen root).
 */
export function * scan (root: Node, gte: string | undefined, lt: string | undefined, reverse: boolean): Generator<[string, Bytes], undefined, undefined> {
  const path: Branch[] = []
  const index: number[] = []
  let node = root
  if (!reverse) {
    while (node instanceof Branch) {
      const i = gte === undefined ? 0 : upperBound(node.seps, gte)
      path.push(node)
      index.push(i)
      node = node.kids[i]!
    }
    let i = gte === undefined ? 0 : lowerBound(node.keys, gte)
    for (;;) {
      const { keys, vals } = node
      for (; i < keys.length; i++) {
        const k = keys[i]!
        if (lt !== undefined && k >= lt) return
        yield [k, vals[i]!]
      }
      let d = path.length - 1
      while (d >= 0 && index[d]! + 1 >= path[d]!.kids.length) d--
      if (d < 0) return
      path.length = d + 1
      index.length = d + 1
      node = path[d]!.kids[++index[d]!]!
      while (node instanceof Branch) {
        path.push(node)
        index.push(0)
        node = node.kids[0]!
      }
      i = 0
    }
  }
  while (node instanceof Branch) {
    const i = lt === undefined ? node.kids.length - 1 : lowerBound(node.seps, lt)
    path.push(node)
    index.push(i)
    node = node.kids[i]!
  }
  let i = (lt === undefined ? node.keys.length : lowerBound(node.keys, lt)) - 1
  for (;;) {
    const { keys, vals } = node
    for (; i >= 0; i--) {
      const k = keys[i]!
      if (gte !== undefined && k < gte) return
      yield [k, vals[i]!]
    }
    let d = path.length - 1
    while (d >= 0 && index[d] === 0) d--
    if (d < 0) return
    path.length = d + 1
    index.length = d + 1
    node = path[d]!.kids[--index[d]!]!
    while (node instanceof Branch) {
      path.push(node)
      index.push(node.kids.length - 1)
      node = node.kids[node.kids.length - 1]!
    }
    i = node.keys.length - 1
  }
}
