import assert from 'node:assert/strict'
import { arraySource, type Doc } from '../../../engine/query/index.ts'
import { FullTextIndex, search } from '../../../engine/fulltext/index.ts'

const DOCS: Doc[] = [
  { id: 'a', title: 'The quick brown fox', body: 'jumps over the lazy dog', status: 'open' },
  { id: 'b', title: 'Quick start guide', body: 'install the database quickly', status: 'closed' },
  { id: 'c', title: 'Brown bears', body: ['a fox', 'and a bear'], status: 'open' },
  { id: 'd', title: 42, status: 'open' }
]

function indexOf (docs: Doc[], fields = ['title', 'body']): { index: FullTextIndex, getDoc: (id: string) => Doc | undefined } {
  const index = new FullTextIndex({ fields })
  for (const doc of docs) index.add(doc.id, doc)
  const byId = new Map(docs.map((d) => [d.id, d]))
  return { index, getDoc: (id) => byId.get(id) }
}

describe('fulltext: FullTextIndex', () => {
  it('returns what the scan returns', () => {
    const { index, getDoc } = indexOf(DOCS)
    for (const query of ['fox', 'quick', 'brown f', 'qui* the', 'bear', 'nothing']) {
      for (const filter of [undefined, { status: 'open' }]) {
        const options = filter === undefined ? { query } : { query, filter }
        assert.deepStrictEqual(index.search(options, getDoc), search(arraySource(DOCS), { fields: ['title', 'body'], ...options }), query)
      }
    }
  })

  it('indexes only documents with text in the fields, and keeps the corpus totals', () => {
    const { index } = indexOf(DOCS, ['title'])
    assert.equal(index.size, 3) // d's title is a number
    assert.equal(index.has('d'), false)
    assert.deepEqual(index.stats, { docCount: 3, totalLength: 4 + 3 + 2 })
    assert.equal(index.add('e', { other: 'text' }), false)
    assert.equal(index.add('f', { title: '' }), true) // text without tokens: length 0
    assert.deepEqual(index.stats, { docCount: 4, totalLength: 9 })
  })

  it('removing every document leaves an empty index', () => {
    const { index } = indexOf(DOCS)
    for (const doc of DOCS) index.remove(doc.id, doc)
    assert.equal(index.size, 0)
    assert.equal(index.termCount, 0)
    assert.deepEqual(index.stats, { docCount: 0, totalLength: 0 })
    assert.deepEqual(index.search({ query: 'fox' }, () => undefined), [])
  })

  it('updates as remove(old) then add(new)', () => {
    const { index } = indexOf(DOCS)
    const docs = new Map(DOCS.map((d) => [d.id, d]))
    const changed: Doc = { ...DOCS[0]!, title: 'A slow red fox' }
    index.remove('a', DOCS[0]!)
    index.add('a', changed)
    docs.set('a', changed)
    const fromScan = search(arraySource(docs.values()), { fields: ['title', 'body'], query: 'slow' })
    assert.deepStrictEqual(index.search({ query: 'slow' }, (id) => docs.get(id)), fromScan)
    assert.deepEqual(fromScan.map((h) => h.doc.id), ['a'])
    assert.deepEqual(index.search({ query: 'brown', prefix: false }, (id) => docs.get(id)).map((h) => h.doc.id), ['c'])
  })

  it('removing an id that is not indexed does nothing', () => {
    const { index } = indexOf(DOCS)
    assert.equal(index.remove('zzz', { title: 'fox' }), false)
    assert.equal(index.remove('d', DOCS[3]!), false)
    assert.equal(index.size, 3)
  })

  it('throws InvalidArgumentError for adding an id twice', () => {
    const { index } = indexOf(DOCS)
    assert.throws(() => index.add('a', { title: 'other' }), { name: 'InvalidArgumentError' })
    assert.throws(() => index.add(7 as unknown as string, { title: 'x' }), { name: 'InvalidArgumentError' })
  })

  it('throws InvalidArgumentError for removing a different version, and changes nothing', () => {
    const { index, getDoc } = indexOf(DOCS)
    const before = index.search({ query: 'fox' }, getDoc)
    const stats = index.stats
    for (const wrong of [{ title: 'The quick brown fox' }, { ...DOCS[0]!, body: 'jumps over the lazy cat' }, { ...DOCS[0]!, title: 'The quick brown fox fox' }, {}]) {
      assert.throws(() => index.remove('a', wrong), { name: 'InvalidArgumentError' })
    }
    assert.deepEqual(index.stats, stats)
    assert.deepStrictEqual(index.search({ query: 'fox' }, getDoc), before)
  })

  it('throws QueryError for bad fields, and for bad searches as the scan does', () => {
    assert.throws(() => new FullTextIndex({ fields: [] }), { name: 'QueryError' })
    assert.throws(() => new FullTextIndex({ fields: ['a..b'] }), { name: 'QueryError' })
    const { index, getDoc } = indexOf(DOCS)
    assert.throws(() => index.search({ query: '  ' }, getDoc), { name: 'QueryError' })
    assert.throws(() => index.search({ query: 'fox', limit: -1 }, getDoc), { name: 'QueryError' })
    assert.deepEqual(new FullTextIndex({ fields: ['t', 't', 'u'] }).fields, ['t', 'u'])
  })

  it('reads only the documents that could enter the top k', () => {
    // added best first: after the first, every other candidate ranks below the kept hit
    const docs: Doc[] = Array.from({ length: 50 }, (_, i) => ({ id: `d${String(i).padStart(2, '0')}`, t: `fox ${'pad '.repeat(i)}` }))
    const { index } = indexOf(docs, ['t'])
    const read: string[] = []
    const byId = new Map(docs.map((d) => [d.id, d]))
    const hits = index.search({ query: 'fox', limit: 1 }, (id) => { read.push(id); return byId.get(id) })
    assert.deepEqual(hits.map((h) => h.doc.id), ['d00'])
    assert.deepEqual(read, ['d00'])
  })

  it('skips documents getDoc does not find, and fills the limit from the rest', () => {
    const { index, getDoc } = indexOf(DOCS)
    const all = index.search({ query: 'fox' }, getDoc).map((h) => h.doc.id)
    assert.equal(all.length, 2)
    const [best, second] = all
    const hits = index.search({ query: 'fox', limit: 1 }, (id) => id === best ? undefined : getDoc(id))
    assert.deepEqual(hits.map((h) => h.doc.id), [second])
  })

  it('applies the filter to what getDoc returns', () => {
    const { index, getDoc } = indexOf(DOCS)
    assert.deepEqual(index.search({ query: 'quick', filter: { status: 'closed' } }, getDoc).map((h) => h.doc.id), ['b'])
  })

  it('keeps its stop words for documents and queries', () => {
    const index = new FullTextIndex({ fields: ['t'], stopWords: new Set(['the']) })
    index.add('a', { t: 'the end' })
    assert.deepEqual(index.stats, { docCount: 1, totalLength: 1 })
    assert.throws(() => index.search({ query: 'the', prefix: false }, () => undefined), { name: 'QueryError' })
  })
})
