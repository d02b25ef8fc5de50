/**
 * Okapi BM25, one (term, document) pair at a time:
 *
 * ```
 * idf   = ln(1 + (N - df + 0.5) / (df + 0.5))
 * score = idf · tf · (k1 + 1) / (tf + k1 · (1 - b + b · dl / avgdl))
 * ```
 *
 * `N` is the number of documents in the corpus, `df` how many of them contain the term,
 * `tf` how often the document contains it, `dl` the document's length in tokens and
 * `avgdl` the corpus's mean length. The `1 +` inside the log keeps idf positive even for a
 * term in every document (Lucene's form). `k1` bounds how much repeating a term helps (tf
 * saturates towards `k1 + 1`); `b` is how strongly long documents are discounted (0: not
 * at all, 1: fully by length).
 *
 * Every scorer (the scan, the index, a later storage-backed index) calls `termScore`, so the
 * same statistics give bit-identical scores everywhere.
 */

export interface Bm25Params {
  /** Term-frequency saturation, ≥ 0. Default 1.2. */
  readonly k1: number
  /** Length normalization, in [0, 1]. Default 0.75. */
  readonly b: number
}

export const BM25_DEFAULTS: Bm25Params = Object.freeze({ k1: 1.2, b: 0.75 })

/** Corpus-wide statistics: documents that hold indexed text, and their summed lengths. */
export interface CorpusStats {
  readonly docCount: number
  readonly totalLength: number
}

/** The mean document length, 0 for an empty corpus. */
export function averageLength (stats: CorpusStats): number {
  return stats.docCount === 0 ? 0 : stats.totalLength / stats.docCount
}

/** Inverse document frequency of a term found in `df` of `docCount` documents. */
export function idf (df: number, docCount: number): number {
  return Math.log(1 + (docCount - df + 0.5) / (df + 0.5))
}

/**
 * One term's contribution to one document's score.
 * @param tf occurrences of the term in the document (≥ 1 for a match)
 * @param docLength the document's length in tokens
 * @param avgLength the corpus's mean document length
 * @param df documents containing the term
 * @param docCount documents in the corpus
 */
export function termScore (
  tf: number, docLength: number, avgLength: number, df: number, docCount: number,
  params: Bm25Params = BM25_DEFAULTS
): number {
  const { k1, b } = params
  // a corpus whose documents are all empty matches nothing; avoid 0/0 all the same
  const relLength = avgLength > 0 ? docLength / avgLength : 1
  return idf(df, docCount) * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * relLength))
}
