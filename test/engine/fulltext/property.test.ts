import assert from 'node:assert/strict'
import fc from 'fast-check'
import { arraySource, type Doc, type Filter } from '../../../engine/query/index.ts'
import { ENGLISH_STOP_WORDS, FullTextIndex, search, type SearchHit, type SearchSpec } from '../../../engine/fulltext/index.ts'
import { refSearch } from './reference.ts'

// few words sharing prefixes and folding to each other, so queries often match, prefixes
// expand to several tokens, and scores tie
const WORDS = ['apple', 'apply', 'app', 'Apricot', 'banana', 'band', 'BANDANA', 'café', 'cafe', 'cat', 'catalog', 'dog', 'do', 'x1', '42', '東京', 'the', 'and']
const QUERY_WORDS = [...WORDS, 'ap', 'ba', 'ca', 'd', 'x', '東', '!!']
const SEPARATORS = [' ', ', ', '-', '! ', '  ', '\n']
const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'A', 'é', 'z', 'ｚ', '𠀀']

const textArb = fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 8 })
  .map((pairs) => pairs.map(([w, s]) => w + s).join(''))
const fieldArb = fc.oneof(
  { weight: 4, arbitrary: textArb },
  { weight: 2, arbitrary: fc.array(fc.oneof(textArb, fc.integer({ min: 0, max: 50 })), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<number | null | boolean>(42, null, true) }
)
const bodyArb = fc.record({
  title: fieldArb,
  body: fieldArb,
  meta: fc.record({ tag: fieldArb }, { requiredKeys: [] }),
  status: fc.constantFrom('open', 'closed')
}, { requiredKeys: ['status'] })
const idArb = fc.constantFrom(...IDS)
const docArb = fc.tuple(idArb, bodyArb).map(([id, body]): Doc => ({ ...body, id }))
const docsArb = fc.uniqueArray(docArb, { selector: (d) => d.id, minLength: 1, maxLength: IDS.length })

/** The words of the documents' text, so that queries often match (and with many words, AND). */
function wordsOf (docs: readonly Doc[]): string[] {
  const words = new Set<string>()
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const w of v.split(/[\s,!-]+/u)) if (w !== '') words.add(w)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk)
  }
  docs.forEach(walk)
  return [...words]
}

function queryArb (docs: readonly Doc[]): fc.Arbitrary<string> {
  const present = wordsOf(docs)
  const wordArb = present.length === 0
    ? fc.constantFrom(...QUERY_WORDS)
    : fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...QUERY_WORDS) }, { weight: 2, arbitrary: fc.constantFrom(...present) })
  const termArb = fc.tuple(wordArb, fc.boolean()).map(([w, star]) => star ? `${w}*` : w)
  return fc.array(termArb, { minLength: 1, maxLength: 3 }).map((words) => words.join(' '))
}
const filterArb = fc.constantFrom<Filter>({ status: 'open' }, { status: { ne: 'closed' } }, { id: { in: ['a', 'b', 'é'] } })
function specArb (docs: readonly Doc[]): fc.Arbitrary<SearchSpec> {
  return fc.record({
    fields: fc.oneof(
      fc.constant(['title', 'body', 'meta.tag']),
      fc.subarray(['title', 'body', 'meta.tag', 'title', 'status'], { minLength: 1 })),
    query: queryArb(docs),
    prefix: fc.boolean(),
    limit: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) }),
    filter: filterArb,
    stopWords: fc.constant(ENGLISH_STOP_WORDS),
    bm25: fc.record({ k1: fc.constantFrom(0, 0.5, 1.2, 2), b: fc.constantFrom(0, 0.3, 0.75, 1) }, { requiredKeys: [] })
  }, { requiredKeys: ['fields', 'query'] })
}

const corpusAndSpecArb = docsArb.chain((docs) => fc.tuple(fc.constant(docs), specArb(docs)))

type Op = { kind: 'put', doc: Doc } | { kind: 'del', id: string }
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: docArb.map((doc): Op => ({ kind: 'put', doc })) },
  { weight: 1, arbitrary: idArb.map((id): Op => ({ kind: 'del', id })) }
)

/** The scan's result, or 'QueryError' when it throws one. */
function outcome (run: () => SearchHit[]): SearchHit[] | 'QueryError' {
  try {
    return run()
  } catch (err) {
    if (err instanceof Error && err.name === 'QueryError') return 'QueryError'
    throw err
  }
}

function indexSearch (index: FullTextIndex, spec: SearchSpec, docs: ReadonlyMap<string, Doc>): SearchHit[] | 'QueryError' {
  const { fields: _fields, stopWords: _stopWords, ...options } = spec
  return outcome(() => index.search(options, (id) => docs.get(id)))
}

describe('fulltext: properties', () => {
  it('search (scan) equals a naive reference implementation', () => {
    fc.assert(fc.property(corpusAndSpecArb, ([docs, spec]) => {
      const expected = refSearch(docs, spec) ?? 'QueryError'
      assert.deepStrictEqual(outcome(() => search(arraySource(docs), spec)), expected)
    }), { numRuns: 1000 })
  })

  it('FullTextIndex after random adds, updates and removes equals the scan over the surviving documents', () => {
    const opsAndSpecArb = fc.array(opArb, { maxLength: 30 }).chain((ops) => {
      const put = ops.flatMap((op) => op.kind === 'put' ? [op.doc] : [])
      return fc.tuple(fc.constant(ops), specArb(put))
    })
    fc.assert(fc.property(opsAndSpecArb, ([ops, spec]) => {
      const index = new FullTextIndex(spec.stopWords === undefined ? { fields: spec.fields } : { fields: spec.fields, stopWords: spec.stopWords })
      const docs = new Map<string, Doc>()
      for (const op of ops) {
        const id = op.kind === 'put' ? op.doc.id : op.id
        const old = docs.get(id)
        if (old !== undefined) index.remove(id, old)
        if (op.kind === 'put') {
          index.add(id, op.doc)
          docs.set(id, op.doc)
        } else {
          docs.delete(id)
        }
      }
      const expected = outcome(() => search(arraySource(docs.values()), spec))
      assert.deepStrictEqual(indexSearch(index, spec, docs), expected)
      assert.deepStrictEqual(expected, refSearch([...docs.values()], spec) ?? 'QueryError')
    }), { numRuns: 600 })
  })
})
