/**
 * Where a query reads documents from. Today every source is a full scan; the seam for
 * indexes is here: an index-backed source will add range scans over a path (for example
 * `scanRange(path, lower, upper): Iterable<Doc>`), and a planner will pick one from the
 * plan's `sargable` conditions, still applying the whole filter to what it returns.
 */
import type { Value } from '../codec/index.ts'
import type { QueryPlan } from './plan.ts'

/** A document as queries see it: its id plus its fields. */
export type Doc = { id: string, [field: string]: Value }

export interface DocSource {
  /**
   * Every document, each once, in any order. A query may stop early (it calls the
   * iterator's `return`), so a source holding a snapshot should release it in `finally`.
   */
  scan (): Iterable<Doc>
  /**
   * How to read for one plan: a source with indexes returns the documents an index finds
   * for one of the plan's sargable conditions (a superset of the matches: the whole filter
   * still applies). Without it, or when it returns undefined, the plan scans.
   */
  access?: (plan: QueryPlan) => Access | undefined
  /**
   * Documents per distinct value of `path` (every document, no filter), in value order,
   * read from an index without reading documents; undefined when no index can tell.
   */
  groupCounts?: (path: string) => Array<{ value: Value | undefined, count: number }> | undefined
}

/** A way to read the candidates of a plan. */
export interface Access {
  readonly strategy: 'index'
  /** the index used */
  readonly index: string
  scan (): Iterable<Doc>
  /**
   * When set, `scan` yields documents ordered by the encoded value of `path` (`key`),
   * ascending or descending: the encoding is monotone with `compareValues` and equal values
   * encode equally, so a sorted query with a limit can stop once the encoded key passes
   * the worst row it keeps.
   */
  readonly order?: {
    readonly path: string
    readonly dir: 'asc' | 'desc'
    key: (doc: Doc) => Uint8Array
    /** equal keys come in `id` order (ascending, or descending when `dir` is 'desc') */
    readonly thenById: boolean
  }
}

/** A source over documents held in memory (tests, small data, a transaction's overlay). */
export function arraySource (docs: Iterable<Doc>): DocSource {
  return { scan: () => docs }
}
