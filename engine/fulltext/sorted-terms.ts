/**
 * The index's vocabulary as a sorted array, for prefix lookups by binary search: all terms
 * starting with `p` sit together, from the first term ≥ `p`. A storage-backed index gets
 * the same from a range scan over its term keys.
 *
 * Inserting a new term moves the array's tail (a memmove, fast for vocabularies of up to
 * about a million terms); only the first occurrence of a term in the corpus pays it.
 */
export class SortedTerms {
  readonly #terms: string[] = []

  get size (): number {
    return this.#terms.length
  }

  /** Adds a term (nothing happens if it is there). */
  insert (term: string): void {
    const i = this.#lowerBound(term)
    if (this.#terms[i] !== term) this.#terms.splice(i, 0, term)
  }

  /** Removes a term (nothing happens if it is not there). */
  delete (term: string): void {
    const i = this.#lowerBound(term)
    if (this.#terms[i] === term) this.#terms.splice(i, 1)
  }

  /** The terms starting with `prefix`, ascending. Do not insert or delete while iterating. */
  * withPrefix (prefix: string): Generator<string> {
    const terms = this.#terms
    for (let i = this.#lowerBound(prefix); i < terms.length && terms[i]!.startsWith(prefix); i++) yield terms[i]!
  }

  /** Every term, ascending. */
  all (): readonly string[] {
    return this.#terms
  }

  // code unit order: any lexicographic order keeps a prefix's terms contiguous
  #lowerBound (term: string): number {
    const terms = this.#terms
    let lo = 0
    let hi = terms.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (terms[mid]! < term) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
