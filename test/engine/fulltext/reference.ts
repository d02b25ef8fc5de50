/**
 * A naive full-text search, written from the spec rather than from the implementation:
 * tokenize every document, count everything, score every match, sort everything.
 * Returns undefined when the query has no words (the implementation throws QueryError).
 */
import { compileFilter, predicate, type Doc } from '../../../engine/query/index.ts'
import { tokenize, type SearchHit, type SearchSpec } from '../../../engine/fulltext/index.ts'

interface Term { text: string, prefix: boolean }

export function refTerms (query: string, prefixLast: boolean, stopWords?: ReadonlySet<string>): Term[] {
  const terms: Term[] = []
  for (const word of query.split(/\s+/u)) {
    const tokens = tokenize(word)
    for (let i = 0; i < tokens.length; i++) {
      terms.push({ text: tokens[i]!, prefix: i === tokens.length - 1 && word.endsWith('*') })
    }
  }
  if (prefixLast && terms.length > 0) terms[terms.length - 1]!.prefix = true
  const kept = terms.filter((t) => t.prefix || stopWords === undefined || !stopWords.has(t.text))
  return kept.filter((t, i) => kept.findIndex((u) => u.text === t.text && u.prefix === t.prefix) === i)
}

function fieldValue (doc: Doc, path: string): unknown {
  let node: unknown = doc
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/** The document's text pieces in the fields, or undefined when it has none. */
function texts (doc: Doc, fields: readonly string[]): string[] | undefined {
  const out: string[] = []
  let has = false
  for (const field of new Set(fields)) {
    const v = fieldValue(doc, field)
    if (typeof v === 'string') {
      out.push(v)
      has = true
    } else if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x === 'string') {
          out.push(x)
          has = true
        }
      }
    }
  }
  return has ? out : undefined
}

function bm25 (tf: number, dl: number, avgdl: number, df: number, n: number, k1: number, b: number): number {
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5))
  return idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * (avgdl > 0 ? dl / avgdl : 1)))
}

function utf8Order (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

export function refSearch (docs: readonly Doc[], spec: SearchSpec): SearchHit[] | undefined {
  const terms = refTerms(spec.query, spec.prefix ?? true, spec.stopWords)
  if (terms.length === 0) return undefined
  const k1 = spec.bm25?.k1 ?? 1.2
  const b = spec.bm25?.b ?? 0.75
  const accept = spec.filter === undefined ? () => true : predicate(compileFilter(spec.filter))
  const corpus: Array<{ doc: Doc, tokens: string[] }> = []
  for (const doc of docs) {
    const pieces = texts(doc, spec.fields)
    if (pieces !== undefined) corpus.push({ doc, tokens: pieces.flatMap((t) => tokenize(t, { stopWords: spec.stopWords })) })
  }
  const n = corpus.length
  const avgdl = n === 0 ? 0 : corpus.reduce((sum, c) => sum + c.tokens.length, 0) / n
  const df = (token: string): number => corpus.filter((c) => c.tokens.includes(token)).length
  const matches = (term: Term, token: string): boolean => term.prefix ? token.startsWith(term.text) : token === term.text

  const hits: SearchHit[] = []
  for (const { doc, tokens } of corpus) {
    if (!accept(doc) || !terms.every((term) => tokens.some((tok) => matches(term, tok)))) continue
    let score = 0
    for (const term of terms) {
      const completions = [...new Set(tokens.filter((tok) => matches(term, tok)))]
      score += Math.max(...completions.map((tok) => bm25(tokens.filter((x) => x === tok).length, tokens.length, avgdl, df(tok), n, k1, b)))
    }
    hits.push({ doc, score })
  }
  hits.sort((x, y) => y.score - x.score || utf8Order(x.doc.id, y.doc.id))
  return hits.slice(0, spec.limit ?? 10)
}
