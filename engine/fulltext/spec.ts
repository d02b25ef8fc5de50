/**
 * Search specs: their types, validation, and the parsing of the query string into terms.
 * Every problem with a spec is a `QueryError` that names the part and shows a fix.
 */
import type { Doc } from '../query/source.ts'
import { compileFilter, predicate, type Filter } from '../query/filter.ts'
import { show, splitPath } from '../query/values.ts'
import { QueryError } from '../errors.ts'
import { BM25_DEFAULTS, type Bm25Params } from './bm25.ts'
import type { FieldPaths } from './analyze.ts'
import { tokenize } from './tokenize.ts'

/** What to find, shared by the scan (`search`) and `FullTextIndex.search`. */
export interface SearchOptions {
  /**
   * Words to find. Every word must occur in the document (AND), in any of the fields.
   * A word ending in `*` matches any token it starts (`data*` finds `database`).
   */
  readonly query: string
  /** The most hits to return, a whole number ≥ 0. Default 10. */
  readonly limit?: number
  /**
   * Restricts the hits to documents matching this query filter (`{ status: 'open' }`). It
   * does not restrict the statistics: idf and mean length come from every document that has
   * text in the fields, so a document scores the same whatever the filter.
   */
  readonly filter?: Filter
  /**
   * Whether the last query word is also a prefix, as in search-as-you-type: `"fast data"`
   * finds `fast database`. Default true. Words ending in `*` are prefixes either way.
   */
  readonly prefix?: boolean
  /** BM25 parameters. Default `{ k1: 1.2, b: 0.75 }`. */
  readonly bm25?: Partial<Bm25Params>
}

/** A scan search: the options plus the fields to search and how to tokenize them. */
export interface SearchSpec extends SearchOptions {
  /**
   * Dotted paths of the fields to search (`['title', 'owner.name']`). A field is indexed
   * when it holds a string or an array of strings; other values are skipped.
   */
  readonly fields: readonly string[]
  /** Tokens dropped from documents and from the query's whole words. Default: none. */
  readonly stopWords?: ReadonlySet<string>
}

export interface SearchHit {
  readonly doc: Doc
  readonly score: number
}

/** A query word after tokenizing: a whole token, or a prefix of tokens. */
export interface QueryTerm {
  readonly text: string
  readonly prefix: boolean
}

/** Whether a query term matches a token. */
export function termMatches (term: QueryTerm, token: string): boolean {
  return term.prefix ? token.startsWith(term.text) : token === term.text
}

export interface CompiledSearch {
  readonly terms: readonly QueryTerm[]
  readonly limit: number
  /** The filter's predicate, or undefined when every document is accepted. */
  readonly accept: ((doc: Doc) => boolean) | undefined
  readonly params: Bm25Params
}

const FIELDS_EXAMPLE = "fields: ['title', 'body']"

/**
 * Validated, deduplicated field paths.
 * @throws QueryError when `fields` is not a non-empty array of dotted paths
 */
export function compileFields (fields: unknown): FieldPaths {
  if (!Array.isArray(fields)) throw new QueryError(`"fields" is an array of field paths such as ${FIELDS_EXAMPLE}, got ${show(fields)}`)
  if (fields.length === 0) throw new QueryError(`"fields" is empty; give at least one field to search, such as ${FIELDS_EXAMPLE}`)
  const seen = new Set<string>()
  const paths: string[][] = []
  for (const field of fields) {
    const keys = splitPath(field, 'a search field')
    if (seen.has(field)) continue // a field listed twice would count its words twice
    seen.add(field)
    paths.push(keys)
  }
  return paths
}

/** @throws QueryError for a bad stop-word set */
export function compileStopWords (stopWords: unknown): ReadonlySet<string> | undefined {
  if (stopWords === undefined) return undefined
  if (!(stopWords instanceof Set)) throw new QueryError(`"stopWords" is a Set of lowercase words, such as ENGLISH_STOP_WORDS, got ${show(stopWords)}`)
  return stopWords as ReadonlySet<string>
}

/**
 * Validates everything but the fields and parses the query.
 * @throws QueryError for a query without words, a bad limit, prefix flag, filter or BM25
 *   parameter
 */
export function compileOptions (spec: SearchOptions, stopWords: ReadonlySet<string> | undefined): CompiledSearch {
  if (typeof spec !== 'object' || spec === null) throw new QueryError(`a search is an object such as { query: 'fast database', ${FIELDS_EXAMPLE} }, got ${show(spec)}`)
  const { query, limit = 10, filter, prefix = true, bm25 } = spec
  if (typeof prefix !== 'boolean') throw new QueryError(`"prefix" is true or false, got ${show(prefix)}`)
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) throw new QueryError(`"limit" must be a whole number ≥ 0, got ${show(limit)}`)
  return {
    terms: parseQuery(query, prefix, stopWords),
    limit,
    accept: filter === undefined ? undefined : predicate(compileFilter(filter)),
    params: compileParams(bm25)
  }
}

/**
 * The terms of a query string, in order, duplicates removed. Words are split on white
 * space; a word ending in `*` makes its last token a prefix; with `prefixLast` the last
 * term is a prefix too. Stop words are dropped only as whole words: a prefix is an
 * unfinished word (`the*` may become `theory`).
 * @throws QueryError when the query is not a string or has no words to search for
 */
export function parseQuery (query: unknown, prefixLast: boolean, stopWords?: ReadonlySet<string>): QueryTerm[] {
  if (typeof query !== 'string') throw new QueryError(`"query" is a string of words such as 'fast database', got ${show(query)}`)
  const raw: QueryTerm[] = []
  for (const word of query.split(/\s+/u)) {
    const tokens = tokenize(word)
    const star = word.endsWith('*')
    tokens.forEach((text, i) => raw.push({ text, prefix: star && i === tokens.length - 1 }))
  }
  if (prefixLast && raw.length > 0) raw[raw.length - 1] = { text: raw[raw.length - 1]!.text, prefix: true }
  const seen = new Set<string>()
  const terms: QueryTerm[] = []
  for (const term of raw) {
    if (!term.prefix && stopWords?.has(term.text) === true) continue
    const key = `${term.prefix ? '*' : '='}${term.text}`
    if (seen.has(key)) continue
    seen.add(key)
    terms.push(term)
  }
  if (terms.length === 0) {
    throw new QueryError(`the query ${show(query)} has no words to search for (punctuation, symbols and stop words are skipped); check for an empty search box before searching`)
  }
  return terms
}

function compileParams (input: unknown): Bm25Params {
  if (input === undefined) return BM25_DEFAULTS
  if (typeof input !== 'object' || input === null) throw new QueryError(`"bm25" is an object such as { k1: 1.2, b: 0.75 }, got ${show(input)}`)
  const { k1 = BM25_DEFAULTS.k1, b = BM25_DEFAULTS.b } = input as Partial<Bm25Params>
  if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw new QueryError(`"bm25.k1" must be a finite number ≥ 0 (1.2 is usual), got ${show(k1)}`)
  if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw new QueryError(`"bm25.b" must be a number from 0 to 1 (0.75 is usual), got ${show(b)}`)
  return { k1, b }
}
