import assert from 'node:assert/strict'
import { arraySource, type Doc, type DocSource } from '../../../engine/query/index.ts'
import { averageLength, ENGLISH_STOP_WORDS, search, termScore, type SearchSpec } from '../../../engine/fulltext/index.ts'

const DOCS: Doc[] = [
  { id: 'a', title: 'The quick brown fox', body: 'jumps over the lazy dog', status: 'open' },
  { id: 'b', title: 'Quick start guide', body: 'install the database quickly', status: 'closed' },
  { id: 'c', title: 'Brown bears', body: 'a fox and a bear', status: 'open' },
  { id: 'd', title: 'Databases', body: 'fast data stores', tags: ['database', 'sync'], status: 'open' },
  { id: 'e', title: 42, body: ['red fox', 7, 'green apple'], status: 'closed' },
  { id: 'f', status: 'open' }
]

const ids = (spec: SearchSpec, docs: Doc[] = DOCS): string[] => search(arraySource(docs), spec).map((h) => h.doc.id)
const scores = (spec: SearchSpec, docs: Doc[] = DOCS): Map<string, number> =>
  new Map(search(arraySource(docs), { limit: 100, ...spec }).map((h) => [h.doc.id, h.score]))

describe('fulltext: search', () => {
  it('finds words in any of the fields, accent- and case-insensitively', () => {
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'FOX', prefix: false }).sort(), ['a', 'c', 'e'])
    const cafe: Doc[] = [{ id: 'x', t: 'Café au lait' }, { id: 'y', t: 'cafe' }]
    assert.deepEqual(ids({ fields: ['t'], query: 'CAFÉ' }).length, 0) // field t is not in DOCS
    assert.deepEqual(ids({ fields: ['t'], query: 'cafe' }, cafe).sort(), ['x', 'y'])
    assert.deepEqual(ids({ fields: ['t'], query: 'Café' }, cafe).sort(), ['x', 'y'])
  })

  it('needs every query word (AND), each in any field', () => {
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'brown fox', prefix: false }).sort(), ['a', 'c'])
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'quick dog', prefix: false }), ['a']) // title + body
    assert.deepEqual(ids({ fields: ['title'], query: 'quick dog', prefix: false }), [])
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'fox unicorn', prefix: false }), [])
  })

  it('treats the last word as a prefix by default, like search-as-you-type', () => {
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'brown f' }).sort(), ['a', 'c'])
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'brown f', prefix: false }), [])
    // only the last word: 'qui' in front is a whole word
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'qui fox' }), [])
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'datab' }).sort(), ['b', 'd'])
  })

  it('always treats a word ending in * as a prefix', () => {
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'qui* fox', prefix: false }), ['a'])
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'qui* brown', prefix: true }), ['a'])
    // the star makes the last token of its word a prefix: 'e-ma*' is 'e' and 'ma*'
    const mail: Doc[] = [{ id: 'm', t: 'e-mail' }, { id: 'n', t: 'email' }]
    assert.deepEqual(ids({ fields: ['t'], query: 'e-ma*', prefix: false }, mail), ['m'])
    // a star inside a word splits it like any punctuation
    assert.deepEqual(ids({ fields: ['title', 'body'], query: 'quick*brown', prefix: false }), ['a'])
  })

  it('scores a prefix by the document\'s best completion, not the sum of them', () => {
    const docs: Doc[] = [
      { id: 'p', t: 'card cart' },
      { id: 'q', t: 'card' },
      { id: 'r', t: 'cart' },
      { id: 's', t: 'dog' }
    ]
    const got = scores({ fields: ['t'], query: 'car' }, docs)
    const avg = averageLength({ docCount: 4, totalLength: 5 })
    // df: card 2, cart 2; p's two completions score alike, and only the best counts
    assert.equal(got.get('p'), termScore(1, 2, avg, 2, 4))
    assert.equal(got.get('q'), termScore(1, 1, avg, 2, 4))
    // a sum would put p first; the best completion ranks the shorter documents first
    assert.deepEqual([...got.keys()], ['q', 'r', 'p'])
  })

  it('sums the terms\' scores; a repeated query word counts once', () => {
    const both = scores({ fields: ['title', 'body'], query: 'brown fox', prefix: false })
    const brown = scores({ fields: ['title', 'body'], query: 'brown', prefix: false })
    const fox = scores({ fields: ['title', 'body'], query: 'fox', prefix: false })
    assert.equal(both.get('a'), 0 + brown.get('a')! + fox.get('a')!)
    assert.deepEqual(scores({ fields: ['title', 'body'], query: 'fox fox FOX', prefix: false }), fox)
  })

  it('indexes strings and the strings in arrays; skips numbers, objects and missing fields', () => {
    assert.deepEqual(ids({ fields: ['title'], query: '42', prefix: false }), [])
    assert.deepEqual(ids({ fields: ['body'], query: 'apple', prefix: false }), ['e'])
    assert.deepEqual(ids({ fields: ['body'], query: '7', prefix: false }), [])
    assert.deepEqual(ids({ fields: ['tags'], query: 'sync', prefix: false }), ['d'])
    assert.deepEqual(ids({ fields: ['nope'], query: 'fox' }), [])
  })

  it('reads dotted paths, own keys only', () => {
    const docs: Doc[] = [
      { id: 'a', owner: { name: 'Ada Lovelace' } },
      { id: 'b', owner: 'Ada' }, // owner.name does not exist
      { id: 'c', owner: { bio: ['loves ada', 'and maths'] } }
    ]
    assert.deepEqual(ids({ fields: ['owner.name'], query: 'ada' }, docs), ['a'])
    assert.deepEqual(ids({ fields: ['owner.name', 'owner.bio'], query: 'ada' }, docs).sort(), ['a', 'c'])
    assert.deepEqual(ids({ fields: ['constructor.name'], query: 'object' }, docs), [])
  })

  it('takes statistics only from documents with text in the fields', () => {
    const base: Doc[] = [{ id: 'a', t: 'fox one' }, { id: 'b', t: 'two three' }]
    const before = scores({ fields: ['t'], query: 'fox' }, base)
    // no text in t: missing, a number, an array without strings, an object
    const noText: Doc[] = [...base, { id: 'c' }, { id: 'd', t: 5 }, { id: 'e', t: [1, null] }, { id: 'f', t: { x: 'fox' } }]
    assert.deepEqual(scores({ fields: ['t'], query: 'fox' }, noText), before)
    // an empty string is text: one more document, of length 0
    const withEmpty = scores({ fields: ['t'], query: 'fox' }, [...base, { id: 'g', t: '' }])
    assert.equal(withEmpty.get('a'), termScore(1, 2, averageLength({ docCount: 3, totalLength: 4 }), 1, 3))
  })

  it('filters results, not statistics: a document scores the same with or without the filter', () => {
    const spec: SearchSpec = { fields: ['title', 'body'], query: 'fox', prefix: false }
    const all = scores(spec)
    const open = scores({ ...spec, filter: { status: 'open' } })
    assert.deepEqual([...open.keys()].sort(), ['a', 'c'])
    for (const [id, s] of open) assert.equal(s, all.get(id))
    assert.deepEqual(ids({ ...spec, filter: { or: [{ status: 'closed' }, { id: 'c' }] } }).sort(), ['c', 'e'])
  })

  it('returns at most limit hits (default 10), the best ones', () => {
    const many: Doc[] = Array.from({ length: 30 }, (_, i) => ({ id: `d${String(i).padStart(2, '0')}`, t: `fox ${'pad '.repeat(i)}` }))
    const all = search(arraySource(many), { fields: ['t'], query: 'fox', limit: 30 })
    assert.equal(all.length, 30)
    assert.equal(search(arraySource(many), { fields: ['t'], query: 'fox' }).length, 10)
    assert.deepEqual(search(arraySource(many), { fields: ['t'], query: 'fox', limit: 3 }), all.slice(0, 3))
    assert.deepEqual(search(arraySource(many), { fields: ['t'], query: 'fox', limit: 0 }), [])
    assert.deepEqual(all.map((h) => h.doc.id), many.map((d) => d.id)) // shortest first
  })

  it('breaks ties by id ascending (UTF-8 order), also within the limit', () => {
    // U+FF5A sorts before U+20000 in UTF-8 (code point) order, after it in UTF-16 unit order
    const docs: Doc[] = ['é', 'b', '𠀀', 'z', 'ｚ', 'a', 'B'].map((id) => ({ id, t: 'same text' }))
    assert.deepEqual(ids({ fields: ['t'], query: 'same' }, docs), ['B', 'a', 'b', 'z', 'é', 'ｚ', '𠀀'])
    assert.deepEqual(ids({ fields: ['t'], query: 'same', limit: 2 }, docs), ['B', 'a'])
  })

  it('returns the source\'s documents with their scores, best first', () => {
    const hits = search(arraySource(DOCS), { fields: ['title', 'body'], query: 'fox' })
    for (const hit of hits) assert.ok(DOCS.includes(hit.doc))
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score)
    assert.ok(hits.every((h) => h.score > 0))
  })

  it('reads the source once', () => {
    let scans = 0
    const source: DocSource = { scan: () => { scans++; return DOCS } }
    search(source, { fields: ['title', 'body'], query: 'brown fox', filter: { status: 'open' } })
    assert.equal(scans, 1)
  })

  it('drops stop words from documents and whole query words when given', () => {
    const docs: Doc[] = [{ id: 'a', t: 'the theory of everything' }, { id: 'b', t: 'theory' }]
    const spec: SearchSpec = { fields: ['t'], query: 'the theory', prefix: false, stopWords: ENGLISH_STOP_WORDS }
    const got = scores(spec, docs)
    assert.deepEqual([...got.keys()], ['b', 'a'])
    // lengths without stop words: a has 2 tokens (theory, everything), b has 1
    assert.equal(got.get('a'), termScore(1, 2, 1.5, 2, 2))
    // a prefix is an unfinished word: 'the' as the last, prefix word finds 'theory'
    assert.deepEqual(ids({ fields: ['t'], query: 'the', stopWords: ENGLISH_STOP_WORDS }, docs), ['b', 'a'])
  })

  it('counts a field listed twice once', () => {
    assert.deepEqual(
      scores({ fields: ['title', 'body', 'title'], query: 'fox' }),
      scores({ fields: ['title', 'body'], query: 'fox' }))
  })

  it('accepts BM25 parameters', () => {
    const docs: Doc[] = [{ id: 'a', t: 'fox' }, { id: 'b', t: 'fox pad pad pad' }]
    const flat = scores({ fields: ['t'], query: 'fox', bm25: { b: 0 } }, docs)
    assert.equal(flat.get('a'), flat.get('b'))
  })

  it('throws QueryError for a query without words', () => {
    for (const query of ['', '   ', '!!! ... 🍕', '*']) {
      assert.throws(() => search(arraySource(DOCS), { fields: ['title'], query }), { name: 'QueryError' })
    }
    assert.throws(() => search(arraySource(DOCS), { fields: ['title'], query: 'the and', prefix: false, stopWords: ENGLISH_STOP_WORDS }), { name: 'QueryError' })
    assert.throws(() => search(arraySource(DOCS), { fields: ['title'], query: 5 as unknown as string }), { name: 'QueryError' })
  })

  it('throws QueryError for missing, empty or bad fields', () => {
    const bad: unknown[] = [undefined, [], 'title', [''], ['a..b'], [3]]
    for (const fields of bad) {
      assert.throws(() => search(arraySource(DOCS), { fields: fields as string[], query: 'fox' }), { name: 'QueryError' })
    }
  })

  it('throws QueryError for a bad limit, prefix, filter, stop words or BM25 parameter', () => {
    const bad: Array<Partial<SearchSpec>> = [
      { limit: -1 }, { limit: 1.5 }, { limit: Infinity },
      { prefix: 'yes' as unknown as boolean },
      { filter: { votes: { near: 3 } } as never },
      { stopWords: ['the'] as unknown as Set<string> },
      { bm25: { k1: -1 } }, { bm25: { b: 2 } }, { bm25: { b: NaN } }
    ]
    for (const extra of bad) {
      assert.throws(() => search(arraySource(DOCS), { fields: ['title'], query: 'fox', ...extra }), { name: 'QueryError' }, JSON.stringify(extra))
    }
    assert.throws(() => search(arraySource(DOCS), null as unknown as SearchSpec), { name: 'QueryError' })
  })
})
