/**
 * Full-text search: Unicode-aware tokens (accents folded, no stemming), BM25 ranking, AND
 * semantics over the query's words, and search-as-you-type prefixes. Two executors with
 * identical results: `search` scans any `DocSource` once; `FullTextIndex` keeps postings and
 * statistics up to date as documents are added and removed.
 *
 * @example
 * const docs = [
 *   { id: 'a', title: 'Fast databases', body: 'A café serves coffee.' },
 *   { id: 'b', title: 'Databases', tags: ['sync', 'p2p'], status: 'open' },
 *   { id: 'c', title: 'Cooking', body: 'Cafe au lait' }
 * ]
 * search(arraySource(docs), { fields: ['title', 'body'], query: 'cafe' })       // c, then a
 * search(arraySource(docs), { fields: ['title'], query: 'data' })               // 'data' is a prefix: b, then a
 * search(arraySource(docs), { fields: ['title'], query: 'data', prefix: false }) // []
 * search(arraySource(docs), { fields: ['title', 'tags'], query: 'databases', filter: { status: 'open' } }) // b
 *
 * const index = new FullTextIndex({ fields: ['title', 'body'] })
 * for (const doc of docs) index.add(doc.id, doc)
 * const byId = new Map(docs.map((d) => [d.id, d]))
 * index.search({ query: 'cafe' }, (id) => byId.get(id))                          // c, then a, as the scan
 * index.remove('c', docs[2]!)
 */
export { search } from './search.ts'
export { FullTextIndex } from './full-text-index.ts'
export type { DocBody, FullTextIndexOptions, IndexSearchSpec } from './full-text-index.ts'
export type { QueryTerm, SearchHit, SearchOptions, SearchSpec } from './spec.ts'
export { parseQuery } from './spec.ts'
export { ENGLISH_STOP_WORDS, MAX_TOKEN_LENGTH, normalizeText, tokenize } from './tokenize.ts'
export type { TokenizeOptions } from './tokenize.ts'
export { BM25_DEFAULTS, averageLength, idf, termScore } from './bm25.ts'
export type { Bm25Params, CorpusStats } from './bm25.ts'
