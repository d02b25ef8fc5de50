/**
 * A document as the full-text scorer sees it: the term frequencies and length of the text
 * in its indexed fields, pooled into one bag of words (no per-field weights; a field boost,
 * BM25F, would replace this one function and `termScore`'s length).
 */
import type { Value } from '../codec/index.ts'
import { getField } from '../query/values.ts'
import { tokenize, type TokenizeOptions } from './tokenize.ts'

/** Field paths, each split into keys (`'owner.name'` → `['owner', 'name']`). */
export type FieldPaths = readonly (readonly string[])[]

export interface DocTerms {
  /** Occurrences of each token across all the fields. */
  readonly tf: ReadonlyMap<string, number>
  /** Tokens across all the fields (the sum of `tf`). */
  readonly length: number
}

/**
 * The terms of a document's fields, or `undefined` when none of them holds text: a string,
 * or an array with at least one string (its other elements are skipped; numbers and nested
 * values are not text). A document with text is part of the corpus statistics even when its
 * text has no tokens (`''`, `'!!!'`): it has the field, with length 0.
 *
 * Paths read own keys only (`getField`), so a field named `constructor` never reaches a
 * prototype.
 */
export function analyze (doc: Value, paths: FieldPaths, options: TokenizeOptions): DocTerms | undefined {
  let tf: Map<string, number> | undefined
  let length = 0
  const add = (text: string): void => {
    tf ??= new Map()
    for (const token of tokenize(text, options)) {
      tf.set(token, (tf.get(token) ?? 0) + 1)
      length++
    }
  }
  for (const keys of paths) {
    const value = getField(doc, keys)
    if (typeof value === 'string') {
      add(value)
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string') add(item)
    }
  }
  return tf === undefined ? undefined : { tf, length }
}
