import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BTREE_LIMITS, Branch, EMPTY, insert, Leaf, lookup, remove, scan, type Node } from '../../../engine/store/btree.ts'

/** Checks the invariants listed in btree.ts; returns the keys in order. */
function check (node: Node, isRoot: boolean, lo: string | undefined, hi: string | undefined): { depth: number, keys: string[] } {
  const size = node instanceof Leaf ? node.keys.length : node.kids.length
  if (!isRoot) assert.ok(size >= BTREE_LIMITS.MIN && size <= BTREE_LIMITS.MAX, `node size ${size}`)
  if (node instanceof Leaf) {
    assert.equal(node.vals.length, node.keys.length)
    node.keys.forEach((k, i) => {
      if (i > 0) assert.ok(node.keys[i - 1]! < k, 'leaf keys increase')
      assert.ok((lo === undefined || k >= lo) && (hi === undefined || k < hi), 'leaf key within its separators')
    })
    return { depth: 1, keys: node.keys }
  }
  assert.ok(node instanceof Branch)
  assert.equal(node.seps.length, node.kids.length - 1)
  if (isRoot) assert.ok(node.kids.length >= 2, 'a branch root has two children')
  const parts = node.kids.map((kid, i) => check(kid, false, i === 0 ? lo : node.seps[i - 1], i === node.kids.length - 1 ? hi : node.seps[i]))
  assert.ok(parts.every((p) => p.depth === parts[0]!.depth), 'leaves at one depth')
  return { depth: parts[0]!.depth + 1, keys: parts.flatMap((p) => p.keys) }
}

const value = (n: number): Uint8Array => Uint8Array.of(n & 0xff)

describe('persistent B+tree', function () {
  it('keeps its invariants and matches a Map under random inserts and deletes; old roots never change', function () {
    const op = fc.record({ del: fc.boolean(), k: fc.nat({ max: 3000 }), n: fc.nat({ max: 255 }) })
    fc.assert(fc.property(fc.array(op, { maxLength: 2000, size: 'max' }), fc.nat({ max: 5 }), (ops, editEvery) => {
      let root = EMPTY
      let edit = {}
      const model = new Map<string, number>()
      const frozen: Array<{ root: Node, model: Map<string, number> }> = []
      ops.forEach(({ del, k, n }, i) => {
        if (editEvery > 0 && i % (editEvery * 100) === 0) {
          frozen.push({ root, model: new Map(model) })
          edit = {}
        }
        const key = k.toString(36).padStart(3, '0')
        if (del) {
          root = remove(root, key, edit)
          model.delete(key)
        } else {
          root = insert(root, key, value(n), edit)
          model.set(key, n)
        }
      })
      const { keys } = check(root, true, undefined, undefined)
      assert.deepEqual(keys, [...model.keys()].sort())
      for (const [k, n] of model) assert.equal(lookup(root, k)?.[0], n)
      for (const f of frozen) {
        assert.deepEqual([...scan(f.root, undefined, undefined, false)].map(([k, v]) => [k, v[0]]), [...f.model].sort(([a], [b]) => (a < b ? -1 : 1)))
      }
    }), { numRuns: 60 })
  })

  it('keeps its invariants under bursts of inserts and deletes over runs of adjacent keys', function () {
    // runs empty one node while its neighbour stays full, which is when nodes are evened out
    const burst = fc.record({ del: fc.boolean(), start: fc.nat({ max: 4000 }), length: fc.integer({ min: 1, max: 300 }), step: fc.integer({ min: 1, max: 3 }) })
    fc.assert(fc.property(fc.array(burst, { minLength: 5, maxLength: 40, size: 'max' }), (bursts) => {
      let root = EMPTY
      const model = new Set<string>()
      for (const { del, start, length, step } of bursts) {
        const edit = {}
        for (let k = start; k < start + length * step; k += step) {
          const key = k.toString().padStart(5, '0')
          if (del) { root = remove(root, key, edit); model.delete(key) } else { root = insert(root, key, value(k), edit); model.add(key) }
        }
        assert.deepEqual(check(root, true, undefined, undefined).keys, [...model].sort())
      }
    }), { numRuns: 80 })
  })

  it('evens out a shrinking branch with a full left neighbour', function () {
    const key = (n: number, suffix = ''): string => String(n).padStart(6, '0') + suffix
    let root = EMPTY
    const edit = {}
    const model = new Set<string>()
    const put = (k: string): void => { root = insert(root, k, value(1), edit); model.add(k) }
    for (let i = 0; i < 10000; i++) put(key(i))
    assert.ok(root instanceof Branch && root.kids[0] instanceof Branch, 'three levels')
    const bounds = (i: number): [number, number] => [Number((root as Branch).seps[i - 1]!.slice(0, 6)), Number((root as Branch).seps[i]!.slice(0, 6))]
    const [leftLo, leftHi] = bounds(1)
    for (let n = leftLo; n < leftLo + (leftHi - leftLo) * 0.6; n++) { put(key(n, 'x')); put(key(n, 'y')) }
    const left = (root as Branch).kids[1] as Branch
    assert.ok(left.kids.length > BTREE_LIMITS.MAX - BTREE_LIMITS.MIN, `left neighbour full enough (${left.kids.length})`)
    const [rightLo, rightHi] = bounds(2)
    for (let n = rightHi - 1; n > rightLo + 200; n--) {
      root = remove(root, key(n), edit)
      model.delete(key(n))
    }
    assert.deepEqual(check(root, true, undefined, undefined).keys, [...model].sort())
  })

  it('scans bounded ranges both ways', function () {
    let root = EMPTY
    const edit = {}
    const keys = Array.from({ length: 5000 }, (_, i) => String(i * 7 % 5000).padStart(4, '0'))
    for (const k of keys) root = insert(root, k, value(1), edit)
    const sorted = [...keys].sort()
    const pick = (gte: string | undefined, lt: string | undefined, reverse: boolean): string[] => [...scan(root, gte, lt, reverse)].map(([k]) => k)
    for (const [gte, lt] of [['0100', '0200'], [undefined, '0005'], ['4990', undefined], ['0100x', '0101x'], ['9', undefined], [undefined, '/']] as const) {
      const want = sorted.filter((k) => (gte === undefined || k >= gte) && (lt === undefined || k < lt))
      assert.deepEqual(pick(gte, lt, false), want)
      assert.deepEqual(pick(gte, lt, true), [...want].reverse())
    }
  })
})
