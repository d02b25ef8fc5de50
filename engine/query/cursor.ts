/**
 * Pagination cursors: opaque base64url strings naming a position in a sort order.
 *
 * A cursor is the BlazeBinary encoding of `[1, order, keys]`:
 *
 * | field   | value                                                                 |
 * | ------- | --------------------------------------------------------------------- |
 * | version | `1`                                                                   |
 * | order   | the sort as strings, `'+votes'`, `'-createdAt'`, ending with `'+id'`  |
 * | keys    | the last row's sort key values, each `[value]`, or `[]` when missing  |
 *
 * The next page holds rows strictly after these keys in (sort keys…, id) order. Because
 * ids are unique this order is total, so rows inserted or deleted between pages never
 * make an unchanged row appear twice or go missing.
 */
import { decode, encode, type Value } from '../codec/index.ts'
import { QueryError, type BlazeError } from '../errors.ts'
import type { SortKey } from './plan.ts'

const VERSION = 1
const MAX_CURSOR_BYTES = 1 << 20

export type SortValues = ReadonlyArray<Value | undefined>

function orderOf (sort: readonly SortKey[]): string[] {
  return sort.map((k) => `${k.dir === 'desc' ? '-' : '+'}${k.path}`)
}

export function encodeCursor (sort: readonly SortKey[], keys: SortValues): string {
  const payload: Value = [VERSION, orderOf(sort), keys.map((k) => k === undefined ? [] : [k])]
  return Buffer.from(encode(payload)).toString('base64url')
}

/**
 * The sort key values in a cursor made for this sort.
 * @throws QueryError when the cursor is damaged or was made for a different sort
 */
export function decodeCursor (sort: readonly SortKey[], cursor: unknown): SortValues {
  const bad = (why: string, cause?: unknown): BlazeError => new QueryError(
    `the "after" cursor ${why}; pass the cursor returned with the previous page of this same query, or omit it to start again`,
    cause === undefined ? undefined : { cause })
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('is not a base64url string')
  if (cursor.length > (MAX_CURSOR_BYTES / 3) * 4) throw bad(`is longer than ${MAX_CURSOR_BYTES} bytes`)
  let payload: Value
  try {
    payload = decode(Buffer.from(cursor, 'base64url'), { maxBytes: MAX_CURSOR_BYTES })
  } catch (error) {
    throw bad('is damaged', error)
  }
  if (!Array.isArray(payload) || payload.length !== 3 || payload[0] !== VERSION) throw bad('is not a cursor of this version')
  const [, order, keys] = payload
  const expected = orderOf(sort)
  if (!Array.isArray(order) || order.length !== expected.length || order.some((o, i) => o !== expected[i])) {
    throw bad(`was made for the sort ${show(order)}, not ${show(expected)}`)
  }
  if (!Array.isArray(keys) || keys.length !== sort.length || keys.some((k) => !Array.isArray(k) || k.length > 1)) throw bad('is damaged')
  const values = keys.map((k) => (k as Value[]).length === 0 ? undefined : (k as Value[])[0])
  if (typeof values[values.length - 1] !== 'string') throw bad('has no document id')
  return values
}

function show (order: unknown): string {
  return Array.isArray(order) ? order.join(', ') : 'unknown'
}
