import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compareUtf8 } from '../../../engine/codec/index.ts'
import { SortedTerms } from '../../../engine/fulltext/sorted-terms.ts'
import { TopK } from '../../../engine/fulltext/top-k.ts'

describe('fulltext: TopK and SortedTerms', () => {
  it('TopK keeps the best k (score desc, id asc) and never holds more than k', () => {
    const hitsArb = fc.uniqueArray(
      fc.record({ id: fc.string({ maxLength: 3 }), score: fc.integer({ min: 0, max: 5 }) }),
      { selector: (h) => h.id, maxLength: 40 })
    fc.assert(fc.property(hitsArb, fc.integer({ min: 0, max: 12 }), (hits, k) => {
      const top = new TopK<{ id: string, score: number }>(k)
      for (const hit of hits) {
        const admitted = top.admits(hit.score, hit.id)
        const before = top.sorted()
        top.push(hit)
        assert.equal(admitted, top.sorted().includes(hit))
        if (!admitted) assert.deepEqual(top.sorted(), before)
        assert.ok(top.size <= k)
      }
      const expected = hits.slice().sort((a, b) => b.score - a.score || compareUtf8(a.id, b.id)).slice(0, k)
      assert.deepStrictEqual(top.sorted(), expected)
    }), { numRuns: 300 })
  })

  it('SortedTerms finds every term with a prefix, after any inserts and deletes', () => {
    const termArb = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '𠀀', 'z'), maxLength: 4 })
    const opArb = fc.tuple(fc.boolean(), termArb)
    fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), termArb, (ops, prefix) => {
      const terms = new SortedTerms()
      const model = new Set<string>()
      for (const [insert, term] of ops) {
        if (insert) {
          terms.insert(term)
          model.add(term)
        } else {
          terms.delete(term)
          model.delete(term)
        }
      }
      assert.equal(terms.size, model.size)
      const expected = [...model].filter((t) => t.startsWith(prefix)).sort()
      assert.deepEqual([...terms.withPrefix(prefix)], expected)
      assert.deepEqual(terms.all(), [...model].sort())
    }), { numRuns: 300 })
  })
})
