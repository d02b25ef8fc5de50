/**
 * An in-memory inverted index with the statistics BM25 needs, kept as documents come and
 * go, so a search reads only the postings of its terms instead of every document. It is laid
 * out as a storage-backed index would be, one key space per structure:
 *
 * | structure     | in memory                          | as stored keys (later)         |
 * |---------------|------------------------------------|--------------------------------|
 * | postings      | term → Map<id, tf>                 | `p/<term>/<id>` → tf           |
 * | doc lengths   | id → tokens in the fields          | `l/<id>` → length              |
 * | vocabulary    | sorted term array (binary search)  | range scan over `p/<prefix>`   |
 * | corpus totals | document count, summed lengths     | `s` → [count, total]           |
 *
 * There is no forward index (id → terms): `remove` is given the document as it was added
 * and tokenizes it again, as the collection has the old version at hand when it changes one.
 *
 * On the same documents `search` returns exactly what the scan `search()` returns: same
 * hits, same order, bit-identical scores.
 */
import type { Value } from '../codec/index.ts'
import type { Doc } from '../query/source.ts'
import { InvalidArgumentError } from '../errors.ts'
import { show } from '../query/values.ts'
import { analyze, type DocTerms, type FieldPaths } from './analyze.ts'
import { averageLength, termScore, type CorpusStats } from './bm25.ts'
import { SortedTerms } from './sorted-terms.ts'
import { compileFields, compileOptions, compileStopWords, type SearchHit, type SearchOptions } from './spec.ts'
import type { TokenizeOptions } from './tokenize.ts'
import { TopK } from './top-k.ts'

export interface FullTextIndexOptions {
  /** Dotted paths of the fields to index (strings and arrays of strings). */
  readonly fields: readonly string[]
  /** Tokens left out of the index and out of queries' whole words. Default: none. */
  readonly stopWords?: ReadonlySet<string>
}

/** An index search: the scan's options; the fields and stop words are the index's own. */
export type IndexSearchSpec = SearchOptions

/** A document's fields, with or without its `id`. */
export type DocBody = { readonly [field: string]: Value }

export class FullTextIndex {
  /** The indexed fields, as given (deduplicated). */
  readonly fields: readonly string[]
  readonly #paths: FieldPaths
  readonly #stopWords: ReadonlySet<string> | undefined
  readonly #tokenize: TokenizeOptions
  readonly #postings = new Map<string, Map<string, number>>()
  readonly #lengths = new Map<string, number>()
  readonly #terms = new SortedTerms()
  #totalLength = 0

  /** @throws QueryError for fields that are not a non-empty array of dotted paths, or bad stop words */
  constructor (options: FullTextIndexOptions) {
    this.#paths = compileFields(options?.fields)
    this.fields = this.#paths.map((keys) => keys.join('.'))
    this.#stopWords = compileStopWords(options.stopWords)
    this.#tokenize = { stopWords: this.#stopWords }
  }

  /** Documents indexed: those that had text in the fields when added. */
  get size (): number {
    return this.#lengths.size
  }

  /** The corpus statistics BM25 uses. */
  get stats (): CorpusStats {
    return { docCount: this.#lengths.size, totalLength: this.#totalLength }
  }

  /** Distinct terms in the index. */
  get termCount (): number {
    return this.#terms.size
  }

  has (id: string): boolean {
    return this.#lengths.has(id)
  }

  /**
   * Indexes a document. One without text in the fields is not indexed, as the scan leaves it
   * out of the statistics too.
   * @returns whether the document was indexed
   * @throws InvalidArgumentError when `id` is indexed already (to change a document, remove
   *   its old version first)
   */
  add (id: string, doc: DocBody): boolean {
    checkId(id)
    if (this.#lengths.has(id)) {
      throw new InvalidArgumentError(`document ${show(id)} is indexed already; call remove(id, oldDoc) with its old version before adding the new one`)
    }
    const terms = analyze(doc, this.#paths, this.#tokenize)
    if (terms === undefined) return false
    for (const [term, tf] of terms.tf) {
      let posting = this.#postings.get(term)
      if (posting === undefined) {
        posting = new Map()
        this.#postings.set(term, posting)
        this.#terms.insert(term)
      }
      posting.set(id, tf)
    }
    this.#lengths.set(id, terms.length)
    this.#totalLength += terms.length
    return true
  }

  /**
   * Removes a document, given as it was added. Removing an id that is not indexed does
   * nothing, so deletes may be replayed.
   * @returns whether the document was indexed
   * @throws InvalidArgumentError when `doc` is not the version that was added (its terms
   *   differ); the index is left unchanged
   */
  remove (id: string, doc: DocBody): boolean {
    checkId(id)
    const length = this.#lengths.get(id)
    if (length === undefined) return false
    const terms = analyze(doc, this.#paths, this.#tokenize)
    if (terms === undefined || !this.#holds(id, length, terms)) {
      throw new InvalidArgumentError(`remove(${show(id)}, doc) was given a different version of the document than was added; pass the version that is indexed (the one before the change)`)
    }
    for (const term of terms.tf.keys()) {
      const posting = this.#postings.get(term)!
      posting.delete(id)
      if (posting.size === 0) {
        this.#postings.delete(term)
        this.#terms.delete(term)
      }
    }
    this.#lengths.delete(id)
    this.#totalLength -= length
    return true
  }

  /**
   * The indexed documents that contain every query word, best first, at most `limit`: the
   * same semantics as the scan `search()` (see there), with the index's fields.
   *
   * `getDoc` is asked only for documents that would enter the current top `limit`; it is
   * where the hits' documents and the filter's input come from. A document it does not find
   * (undefined) is skipped.
   * @throws QueryError for a query without words, or a bad limit, filter, prefix flag or
   *   BM25 parameter
   */
  search (spec: IndexSearchSpec, getDoc: (id: string) => Doc | undefined): SearchHit[] {
    const { terms, limit, accept, params } = compileOptions(spec, this.#stopWords)
    const docCount = this.#lengths.size
    if (limit === 0 || docCount === 0) return []
    const avgLength = averageLength(this.stats)

    // per query term: each matching document's score for it (a prefix: its best completion)
    const perTerm: Array<Map<string, number>> = []
    for (const term of terms) {
      const scores = new Map<string, number>()
      for (const token of term.prefix ? this.#terms.withPrefix(term.text) : [term.text]) {
        const posting = this.#postings.get(token)
        if (posting === undefined) continue
        for (const [id, tf] of posting) {
          const s = termScore(tf, this.#lengths.get(id)!, avgLength, posting.size, docCount, params)
          const prev = scores.get(id)
          if (prev === undefined || s > prev) scores.set(id, s)
        }
      }
      if (scores.size === 0) return []
      perTerm.push(scores)
    }

    let fewest = perTerm[0]!
    for (const scores of perTerm) if (scores.size < fewest.size) fewest = scores
    const top = new TopK<{ id: string, score: number, doc: Doc }>(limit)
    for (const id of fewest.keys()) {
      // summed in query order, as the scan does, so the floating-point result is identical
      let score = 0
      let all = true
      for (const scores of perTerm) {
        const s = scores.get(id)
        if (s === undefined) {
          all = false
          break
        }
        score += s
      }
      if (!all || !top.admits(score, id)) continue
      const doc = getDoc(id)
      if (doc === undefined || (accept !== undefined && !accept(doc))) continue
      top.push({ id, score, doc })
    }
    return top.sorted().map(({ doc, score }) => ({ doc, score }))
  }

  /** Whether the postings hold exactly these terms for `id` (length is the sum of tf). */
  #holds (id: string, length: number, terms: DocTerms): boolean {
    if (terms.length !== length) return false
    for (const [term, tf] of terms.tf) {
      if (this.#postings.get(term)?.get(id) !== tf) return false
    }
    return true
  }
}

function checkId (id: unknown): void {
  if (typeof id !== 'string') throw new InvalidArgumentError(`a document id is a string, got ${show(id)}`)
}
