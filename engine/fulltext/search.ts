/**
 * Full-text search over any `DocSource` in one pass, with no index: BM25 over the text of
 * the given fields. The pass tokenizes every document, gathers the corpus statistics
 * (documents with text in the fields, their lengths, the document frequency of every token
 * a query term matches) and keeps the documents that match every term and the filter;
 * those are scored once the statistics are complete, and the best `limit` are picked with a
 * bounded heap.
 *
 * `FullTextIndex` keeps the same statistics incrementally and returns identical results.
 */
import type { Doc, DocSource } from '../query/source.ts'
import { analyze } from './analyze.ts'
import { averageLength, termScore } from './bm25.ts'
import { compileFields, compileOptions, compileStopWords, termMatches, type SearchHit, type SearchSpec } from './spec.ts'
import { TopK } from './top-k.ts'

export type { SearchHit, SearchOptions, SearchSpec } from './spec.ts'
export { FullTextIndex } from './full-text-index.ts'
export type { FullTextIndexOptions, IndexSearchSpec } from './full-text-index.ts'

interface Candidate {
  readonly doc: Doc
  readonly length: number
  /** The document's tokens that some query term matches, with their frequencies. */
  readonly tokens: ReadonlyArray<readonly [string, number]>
}

/**
 * The documents of `source` that contain every query word in at least one of
 * `spec.fields`, best first (score descending, then id ascending), at most `spec.limit`.
 *
 * Scores are BM25 (`bm25.ts`) with all the fields pooled into one text. The statistics
 * (document count, mean length, document frequencies) come from every document that has
 * text in the fields; `spec.filter` restricts which documents are returned, not the
 * statistics, so a document's score does not depend on the filter.
 *
 * A prefix term scores the document's best completion: the highest single-token score among
 * the document's tokens that start with it (each with its own idf and tf). The user is typing
 * one word, so a document should not outrank another merely by holding several words that
 * share the prefix, as a sum over completions would make it.
 *
 * Memory: the matching documents until the pass ends, and `limit` hits after.
 * @throws QueryError for a spec without fields or query words, or with a bad limit, filter,
 *   prefix flag or BM25 parameter
 */
export function search (source: DocSource, spec: SearchSpec): SearchHit[] {
  const stopWords = compileStopWords(spec?.stopWords)
  const plan = compileOptions(spec, stopWords)
  const paths = compileFields(spec.fields)
  if (plan.limit === 0) return []
  const { terms, accept, params } = plan
  const tokenizeOptions = { stopWords }
  const df = new Map<string, number>()
  const candidates: Candidate[] = []
  let docCount = 0
  let totalLength = 0
  const matched = new Array<boolean>(terms.length)
  for (const doc of source.scan()) {
    const analyzed = analyze(doc, paths, tokenizeOptions)
    if (analyzed === undefined) continue
    docCount++
    totalLength += analyzed.length
    matched.fill(false)
    const tokens: Array<readonly [string, number]> = []
    for (const [token, tf] of analyzed.tf) {
      let relevant = false
      for (let i = 0; i < terms.length; i++) {
        if (termMatches(terms[i]!, token)) matched[i] = relevant = true
      }
      if (!relevant) continue
      df.set(token, (df.get(token) ?? 0) + 1)
      tokens.push([token, tf])
    }
    if (matched.every(Boolean) && (accept === undefined || accept(doc))) {
      candidates.push({ doc, length: analyzed.length, tokens })
    }
  }

  const avgLength = averageLength({ docCount, totalLength })
  const top = new TopK<{ id: string, score: number, doc: Doc }>(plan.limit)
  for (const { doc, length, tokens } of candidates) {
    let score = 0
    for (const term of terms) {
      let best = 0
      for (const [token, tf] of tokens) {
        if (!termMatches(term, token)) continue
        const s = termScore(tf, length, avgLength, df.get(token)!, docCount, params)
        if (s > best) best = s
      }
      score += best
    }
    top.push({ id: doc.id, score, doc })
  }
  return top.sorted().map(({ doc, score }) => ({ doc, score }))
}
