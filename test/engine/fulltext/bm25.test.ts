import assert from 'node:assert/strict'
import { arraySource, type Doc } from '../../../engine/query/index.ts'
import { BM25_DEFAULTS, averageLength, idf, search, termScore } from '../../../engine/fulltext/index.ts'

const scoreOf = (docs: Doc[], query: string, id: string): number => {
  const hit = search(arraySource(docs), { fields: ['text'], query, prefix: false, limit: 100 }).find((h) => h.doc.id === id)
  assert.ok(hit, `${id} should match ${query}`)
  return hit.score
}

describe('fulltext: BM25', () => {
  it('computes the standard formula', () => {
    // N = 10, df = 2, tf = 3, dl = 8, avgdl = 10
    const expectedIdf = Math.log(1 + (10 - 2 + 0.5) / (2 + 0.5))
    assert.equal(idf(2, 10), expectedIdf)
    const expected = expectedIdf * (3 * 2.2) / (3 + 1.2 * (1 - 0.75 + 0.75 * 8 / 10))
    assert.ok(Math.abs(termScore(3, 8, 10, 2, 10) - expected) < 1e-12)
    assert.deepEqual(BM25_DEFAULTS, { k1: 1.2, b: 0.75 })
    assert.equal(averageLength({ docCount: 0, totalLength: 0 }), 0)
    assert.equal(averageLength({ docCount: 4, totalLength: 10 }), 2.5)
  })

  it('idf falls as a term gets commoner, and stays positive for a term in every document', () => {
    for (let df = 1; df < 100; df++) assert.ok(idf(df, 100) > idf(df + 1, 100))
    assert.ok(idf(100, 100) > 0)
  })

  it('tf saturates: each extra occurrence adds less, and the score stays below idf·(k1+1)', () => {
    let prev = 0
    let prevGain = Infinity
    for (let tf = 1; tf <= 50; tf++) {
      const s = termScore(tf, 10, 10, 3, 100)
      assert.ok(s > prev)
      assert.ok(s - prev < prevGain)
      assert.ok(s < idf(3, 100) * 2.2)
      prevGain = s - prev
      prev = s
    }
  })

  it('b = 0 ignores length; k1 = 0 ignores tf', () => {
    assert.equal(termScore(2, 5, 10, 3, 100, { k1: 1.2, b: 0 }), termScore(2, 50, 10, 3, 100, { k1: 1.2, b: 0 }))
    assert.equal(termScore(1, 5, 10, 3, 100, { k1: 0, b: 0.75 }), termScore(9, 5, 10, 3, 100, { k1: 0, b: 0.75 }))
  })

  it('ranks: a rarer term weighs more', () => {
    const docs: Doc[] = [
      { id: 'a', text: 'rare common' },
      { id: 'b', text: 'common filler' },
      { id: 'c', text: 'common filler' },
      { id: 'd', text: 'filler filler' }
    ]
    assert.ok(scoreOf(docs, 'rare', 'a') > scoreOf(docs, 'common', 'a'))
  })

  it('ranks: a shorter document with the same tf ranks higher', () => {
    const docs: Doc[] = [
      { id: 'long', text: 'the quick brown fox jumps over the lazy dog' },
      { id: 'short', text: 'brown fox' },
      { id: 'other', text: 'nothing to see' }
    ]
    const hits = search(arraySource(docs), { fields: ['text'], query: 'fox' })
    assert.deepEqual(hits.map((h) => h.doc.id), ['short', 'long'])
  })

  it('ranks: more occurrences rank higher, with diminishing gains', () => {
    const docs: Doc[] = [1, 2, 4, 8].map((tf) => ({
      id: `tf${tf}`,
      text: [...Array<string>(tf).fill('fox'), ...Array<string>(8 - tf).fill('pad')].join(' ')
    }))
    docs.push({ id: 'none', text: 'pad pad pad pad pad pad pad pad' })
    const scores = [1, 2, 4, 8].map((tf) => scoreOf(docs, 'fox', `tf${tf}`))
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i]! > scores[i - 1]!)
    // doubling tf from 4 to 8 gains less than doubling it from 1 to 2
    assert.ok(scores[3]! - scores[2]! < scores[1]! - scores[0]!)
  })
})
