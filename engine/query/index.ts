/**
 * The query engine: filters, sorts, pages, projections and aggregates over any
 * `DocSource`, independent of storage. Object filters and the builder compile to the same
 * plain-data `QueryPlan`; `run`/`iterate`/`page`/`explain` execute one. Values compare by
 * one total order (`values.ts`), shared by filters, sorting, cursors and min/max.
 *
 * @example
 * const source = arraySource([
 *   { id: 'a', status: 'open', votes: 5, owner: { name: 'ada' } },
 *   { id: 'b', status: 'open', votes: 2 },
 *   { id: 'c', status: 'closed', votes: 9 }
 * ])
 * run(compileQuery({ filter: { status: 'open' }, sort: [{ path: 'votes', dir: 'desc' }] }), source) // a, b
 * query(source).where('votes', '>', 1).orderBy('votes').select(['votes']).run()           // [{ id: 'b', votes: 2 }, …]
 * const first = query(source).orderBy('votes').limit(2).page()                              // { docs: [b, a], next: '…' }
 * query(source).orderBy('votes').limit(2).after(first.next!).page()                         // { docs: [c] }
 * aggregate(source, { groupBy: 'status', aggregates: { n: { count: true }, avg: { avg: 'votes' } } })
 * // [{ status: 'closed', n: 1, avg: 9 }, { status: 'open', n: 2, avg: 3.5 }]
 */
export type { Access, Doc, DocSource } from './source.ts'
export { arraySource } from './source.ts'
export type { ConditionOp, FieldFilter, FieldOperators, Filter, FilterNode } from './filter.ts'
export { CONDITION_OPS, compileFilter, predicate } from './filter.ts'
export type { QueryPlan, QuerySpec, Sargable, SargableOp, SortDir, SortInput, SortKey } from './plan.ts'
export { compileQuery } from './plan.ts'
export type { WhereOp } from './builder.ts'
export { query, QueryBuilder } from './builder.ts'
export type { Explanation, Page } from './execute.ts'
export { cursorOf, explain, iterate, page, run } from './execute.ts'
export type { AggregateRow, AggregateSpec, Aggregator } from './aggregate.ts'
export { aggregate } from './aggregate.ts'
export type { TypeClass } from './values.ts'
export { compareValues, typeClass, valuesEqual } from './values.ts'
