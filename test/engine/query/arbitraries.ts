/**
 * fast-check generators for query tests: documents over small domains (so random
 * conditions often hit), filters over those fields, queries and aggregations.
 */
import fc from 'fast-check'
import type { Value } from '../../../engine/codec/index.ts'
import type { AggregateSpec, Aggregator, Doc, Filter, QuerySpec, SortInput } from '../../../engine/query/index.ts'

/**
 * Values from every type class, mostly from a handful of common ones so that conditions
 * hit, with ties across classes (1 vs 1n) and edge cases (NaN, -0, astral characters).
 */
export const smallValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom<Value>(null, true, 0, 1, 2, 'a', 'b', '') },
  { weight: 3, arbitrary: fc.constantFrom<Value>(false, -1, 1.5, 'ab', '\u{1F600}', '\uE000', NaN, -0, Infinity) },
  { weight: 2, arbitrary: fc.bigInt({ min: -1n, max: 2n }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1000).map((ms) => new Date(ms)) },
  { weight: 1, arbitrary: fc.constantFrom([], [1], [1, 2]).map((a) => Uint8Array.from(a)) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom<Value>(1, 'a', null, 2n), { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.record({ x: fc.constantFrom<Value>(1, 'a'), y: fc.constantFrom<Value>(2, 'b') }, { requiredKeys: [] }) }
)

/** Ids whose UTF-16 and code point orders differ (U+E000 vs an astral character). */
export const idArb = fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '\uE000', '\u{1F600}'), minLength: 1, maxLength: 3 })

export const bodyArb: fc.Arbitrary<Record<string, Value>> = fc.record({
  a: smallValue,
  b: smallValue,
  n: fc.oneof(fc.integer({ min: -3, max: 5 }), smallValue),
  o: fc.oneof(fc.record({ x: smallValue, y: smallValue }, { requiredKeys: [] }), smallValue),
  t: fc.array(smallValue, { maxLength: 3 })
}, { requiredKeys: [] })

export const docsArb: fc.Arbitrary<Doc[]> = fc.uniqueArray(
  fc.record({ id: idArb, body: bodyArb }),
  { selector: (r) => r.id, minLength: 3, maxLength: 25 }
).map((rows) => rows.map(({ id, body }) => ({ ...body, id })))

/** Paths into those documents, including ones that are never there or cross a non-object. */
export const DOC_PATHS = ['a', 'b', 'n', 'o.x', 't', 'id', 'o', 'o.y', 'zz', 'a.x'] as const

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'exists', 'contains', 'startsWith'] as const

function operand (op: typeof OPS[number]): fc.Arbitrary<Value> {
  switch (op) {
    case 'in':
    case 'nin': return fc.array(smallValue, { maxLength: 3 })
    case 'exists': return fc.boolean()
    case 'startsWith': return fc.constantFrom('', 'a', 'b', '\u{1F600}')
    default: return smallValue
  }
}

function isPlain (v: Value): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array)
}

/** A path, mostly one of the first five (fields most documents have). */
function pathArb (paths: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...paths.slice(0, 5)) }, { weight: 1, arbitrary: fc.constantFrom(...paths) })
}

/** One field's conditions: shorthand equality, or an operator object with one or two operators. */
function leafArb (paths: readonly string[]): fc.Arbitrary<Filter> {
  return fc.record({
    path: pathArb(paths),
    ops: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...OPS).map((op) => [op]) },
      { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom(...OPS), { minLength: 2, maxLength: 2 }) }
    ),
    short: fc.boolean()
  }).chain(({ path, ops, short }) => fc.tuple(...ops.map((op) => operand(op))).map((values): Filter => {
    if (short && ops.length === 1 && ops[0] === 'eq' && !isPlain(values[0]!)) return { [path]: values[0]! }
    return { [path]: Object.fromEntries(ops.map((op, i) => [op, values[i]!])) }
  }))
}

export function filterArb (paths: readonly string[]): fc.Arbitrary<Filter> {
  const leaf = leafArb(paths)
  const { filter } = fc.letrec<{ filter: Filter }>((tie) => ({
    filter: fc.oneof(
      { maxDepth: 3, depthSize: 'small' },
      { arbitrary: leaf, weight: 4 },
      { arbitrary: fc.tuple(leaf, leaf).map(([x, y]) => ({ ...x, ...y })), weight: 2 },
      fc.array(tie('filter'), { maxLength: 3 }).map((and): Filter => ({ and })),
      fc.array(tie('filter'), { maxLength: 3 }).map((or): Filter => ({ or })),
      tie('filter').map((not): Filter => ({ not })),
      fc.tuple(leaf, fc.array(tie('filter'), { maxLength: 2 })).map(([x, or]): Filter => ({ ...x, or }))
    )
  }))
  return filter
}

function sortArb (paths: readonly string[]): fc.Arbitrary<SortInput[]> {
  return fc.array(fc.oneof(
    fc.constantFrom(...paths),
    fc.record({ path: fc.constantFrom(...paths), dir: fc.constantFrom('asc' as const, 'desc' as const) })
  ), { maxLength: 3 })
}

export const querySpecArb: fc.Arbitrary<QuerySpec> = fc.record({
  filter: maybe(filterArb(DOC_PATHS), 3, 1),
  sort: maybe(sortArb(DOC_PATHS), 3, 1),
  limit: maybe(fc.integer({ min: 0, max: 10 }), 1, 1),
  offset: maybe(fc.integer({ min: 0, max: 5 }), 1, 2),
  select: maybe(fc.uniqueArray(fc.constantFrom(...DOC_PATHS), { maxLength: 3 }), 1, 2)
}).map((r) => defined<QuerySpec>(r))

const AGG_NAMES = ['c', 's', 'v', 'lo', 'hi'] as const
const AGG_PATHS = ['n', 'a', 'o.x', 't', 'zz'] as const

const aggregatorArb: fc.Arbitrary<Aggregator> = fc.oneof(
  fc.constant({ count: true as const }),
  fc.constantFrom(...AGG_PATHS).map((sum) => ({ sum })),
  fc.constantFrom(...AGG_PATHS).map((avg) => ({ avg })),
  fc.constantFrom(...AGG_PATHS).map((min) => ({ min })),
  fc.constantFrom(...AGG_PATHS).map((max) => ({ max }))
)

const ROW_PATHS = [...AGG_NAMES, 'a', 'b', 'o.x', 'n', 't', 'zz']

/** Sometimes absent: `undefined`, which `defined` then drops from the record. */
function maybe<T> (arb: fc.Arbitrary<T>, presentWeight: number, absentWeight: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: absentWeight, arbitrary: fc.constant(undefined) }, { weight: presentWeight, arbitrary: arb })
}

function defined<T> (r: object): T {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as T
}

/** Conditions on aggregate rows: mostly numeric comparisons of an aggregate. */
const havingArb: fc.Arbitrary<Filter> = fc.record({
  path: fc.constantFrom(...ROW_PATHS),
  op: fc.constantFrom('gt', 'gte', 'lt', 'lte', 'eq', 'ne', 'exists'),
  value: fc.constantFrom<Value>(0, 1, 2, 3, 1n, null, 'a')
}).map(({ path, op, value }) => ({ [path]: { [op]: op === 'exists' ? value !== null : value } }))

export const aggregateSpecArb: fc.Arbitrary<AggregateSpec> = fc.record({
  filter: maybe(filterArb(DOC_PATHS), 1, 2),
  groupBy: maybe(fc.constantFrom<string | string[]>('a', 'o.x', 't', ['a', 'b'], ['o.x', 'n']), 4, 1),
  aggregates: fc.dictionary(fc.constantFrom(...AGG_NAMES), aggregatorArb, { maxKeys: 4 }),
  having: maybe(fc.oneof(havingArb, leafArb(ROW_PATHS)), 1, 2),
  sort: maybe(sortArb(ROW_PATHS), 1, 1),
  limit: maybe(fc.integer({ min: 0, max: 6 }), 1, 2),
  offset: maybe(fc.integer({ min: 0, max: 2 }), 1, 2)
}).map((r) => defined<AggregateSpec>(r))
