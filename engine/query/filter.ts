/**
 * The filter language: plain objects, MongoDB-like, compiled to a `FilterNode` tree (plain
 * data, the same whether it came from an object or the builder) and from there to one
 * predicate.
 *
 * ```ts
 * { status: 'open', 'owner.name': 'ada' }            // equality, dotted paths reach nested fields
 * { votes: { gt: 3, lte: 10 } }                      // several operators on one field: all must hold
 * { or: [{ status: 'open' }, { not: { votes: { lt: 1 } } }] }
 * ```
 *
 * Semantics (the order is `values.ts`'s total order):
 * - A field's value that is a plain object is always an operator object; match an object
 *   value with `{ eq: { ... } }`. Equality of arrays and objects is deep.
 * - `gt gte lt lte` hold only between values of the same type class (`{ gt: 3 }` never
 *   matches a string), as in MongoDB.
 * - A missing field equals nothing, not even `null`; `ne` and `nin` are the negations of
 *   `eq` and `in`, so they match documents without the field. Test presence with `exists`.
 * - `contains`: the field is an array with an element equal to the value.
 *   `startsWith`: the field is a string with that prefix.
 * - `and`, `or` and `not` are reserved top-level keys: filter a field with one of those
 *   names through the builder, `query().where('and', '==', x)`.
 * - `{}` and `{ and: [] }` match everything; `{ or: [] }` matches nothing.
 */
import type { Value } from '../codec/index.ts'
import { QueryError } from '../errors.ts'
import { canonicalKey, comparable, compareValues, getField, isPlainObject, show, splitPath, valuesEqual } from './values.ts'

export const CONDITION_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'exists', 'contains', 'startsWith'] as const
export type ConditionOp = typeof CONDITION_OPS[number]

export type FilterNode =
  | { readonly kind: 'cond', readonly path: string, readonly op: ConditionOp, readonly value: Value }
  | { readonly kind: 'and', readonly children: readonly FilterNode[] }
  | { readonly kind: 'or', readonly children: readonly FilterNode[] }
  | { readonly kind: 'not', readonly child: FilterNode }

export interface FieldOperators {
  readonly eq?: Value
  readonly ne?: Value
  readonly gt?: Value
  readonly gte?: Value
  readonly lt?: Value
  readonly lte?: Value
  readonly in?: readonly Value[]
  readonly nin?: readonly Value[]
  readonly exists?: boolean
  readonly contains?: Value
  readonly startsWith?: string
}

export type FieldFilter = Value | FieldOperators

/** A filter object: field paths → value or operators, plus `and` / `or` (arrays) and `not`. */
export interface Filter {
  readonly [pathOrLogic: string]: FieldFilter | readonly Filter[] | Filter
}

const OPS = new Set<string>(CONDITION_OPS)
const VALID_OPS = CONDITION_OPS.join(', ')

/**
 * Validates and normalizes a filter object.
 * @throws QueryError naming the bad part: an unknown operator, a wrong operand type, a
 *   value that cannot be stored (undefined, functions, class instances)
 */
export function compileFilter (filter: Filter): FilterNode {
  return parse(filter, 'the filter')
}

function parse (filter: unknown, at: string): FilterNode {
  if (!isPlainObject(filter)) throw new QueryError(`${at} must be a plain object such as { status: 'open' }, got ${show(filter)}`)
  const parts: FilterNode[] = []
  for (const key of Object.keys(filter)) {
    const v: unknown = filter[key]
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(v)) throw new QueryError(`${at}: "${key}" takes an array of filters, such as { ${key}: [{ a: 1 }, { b: 2 }] }, got ${show(v)}`)
      const children = v.map((f, i) => parse(f, `${at}.${key}[${i}]`))
      parts.push(key === 'and' ? allOf(children) : anyOf(children))
    } else if (key === 'not') {
      parts.push(negate(parse(v, `${at}.not`)))
    } else {
      fieldConditions(key, v, parts)
    }
  }
  return allOf(parts)
}

function fieldConditions (path: string, v: unknown, out: FilterNode[]): void {
  if (v === undefined) throw new QueryError(`the filter on "${path}" is undefined; to match documents without the field use { exists: false }`)
  if (!isPlainObject(v)) {
    out.push(condition(path, 'eq', v))
    return
  }
  const ops = Object.keys(v)
  if (ops.length === 0) throw new QueryError(`the filter on "${path}" is an empty object; give operators (${VALID_OPS}), or match an empty object with { eq: {} }`)
  for (const op of ops) {
    if (!OPS.has(op)) {
      throw new QueryError(`unknown operator "${op}" in the filter on "${path}"; use one of ${VALID_OPS} (to match an object value, write { eq: { ... } })`)
    }
    out.push(condition(path, op as ConditionOp, v[op]))
  }
}

/**
 * One validated condition: the only way a `cond` node is made, by filters and the builder
 * alike, so both produce identical plans.
 */
export function condition (path: string, op: ConditionOp, value: unknown): FilterNode {
  const at = `the filter on "${path}"`
  splitPath(path, 'a filter path')
  if (!OPS.has(op)) throw new QueryError(`unknown operator ${show(op)} in ${at}; use one of ${VALID_OPS}`)
  switch (op) {
    case 'in':
    case 'nin':
      if (!Array.isArray(value)) throw new QueryError(`${at}: "${op}" takes an array of values, such as { ${op}: ['a', 'b'] }, got ${show(value)}`)
      return { kind: 'cond', path, op, value: value.map((x, i) => toValue(x, `${at}, ${op}[${i}]`)) }
    case 'exists':
      if (typeof value !== 'boolean') throw new QueryError(`${at}: "exists" takes true or false, got ${show(value)}`)
      return { kind: 'cond', path, op, value }
    case 'startsWith':
      if (typeof value !== 'string') throw new QueryError(`${at}: "startsWith" takes a string prefix, got ${show(value)}`)
      return { kind: 'cond', path, op, value }
    default:
      return { kind: 'cond', path, op, value: toValue(value, `${at}, ${op}`) }
  }
}

/** The conjunction, with nested `and`s flattened and a single child unwrapped. */
export function allOf (nodes: readonly FilterNode[]): FilterNode {
  return junction('and', nodes)
}

/** The disjunction, with nested `or`s flattened and a single child unwrapped. */
export function anyOf (nodes: readonly FilterNode[]): FilterNode {
  return junction('or', nodes)
}

export function negate (node: FilterNode): FilterNode {
  return { kind: 'not', child: node }
}

function junction (kind: 'and' | 'or', nodes: readonly FilterNode[]): FilterNode {
  const children: FilterNode[] = []
  for (const n of nodes) {
    if (n.kind === kind) children.push(...n.children)
    else children.push(n)
  }
  return children.length === 1 ? children[0]! : { kind, children }
}

/** A filter operand as a storable value. */
function toValue (v: unknown, at: string, depth = 0): Value {
  if (depth > 64) throw new QueryError(`${at}: the value nests deeper than 64 levels (is it cyclic?)`)
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'string':
      return v
    case 'object':
      if (v === null || v instanceof Uint8Array || v instanceof Date) return v
      if (Array.isArray(v)) return v.map((x) => toValue(x, at, depth + 1))
      if (isPlainObject(v)) {
        const out: Record<string, Value> = {}
        for (const k of Object.keys(v)) {
          if (v[k] === undefined) throw new QueryError(`${at}: key "${k}" is undefined; remove it (stored documents never hold undefined)`)
          Object.defineProperty(out, k, { value: toValue(v[k], at, depth + 1), enumerable: true, writable: true, configurable: true })
        }
        return out
      }
  }
  throw new QueryError(`${at}: ${show(v)} is not a value a document can hold; use null, a boolean, number, bigint, string, Date, Uint8Array, array or plain object`)
}

/** The predicate of a filter tree, over documents or any other value (aggregate rows). */
export function predicate (node: FilterNode): (doc: Value) => boolean {
  switch (node.kind) {
    case 'and': {
      const fns = node.children.map(predicate)
      if (fns.length === 0) return () => true
      return (doc) => {
        for (const f of fns) if (!f(doc)) return false
        return true
      }
    }
    case 'or': {
      const fns = node.children.map(predicate)
      return (doc) => {
        for (const f of fns) if (f(doc)) return true
        return false
      }
    }
    case 'not': {
      const f = predicate(node.child)
      return (doc) => !f(doc)
    }
    case 'cond': {
      const keys = splitPath(node.path, 'a filter path')
      const test = fieldTest(node.op, node.value)
      if (keys.length === 1) {
        const key = keys[0]!
        return (doc) => test(isPlainObject(doc) && Object.hasOwn(doc, key) ? doc[key] : undefined)
      }
      return (doc) => test(getField(doc, keys))
    }
  }
}

function fieldTest (op: ConditionOp, operand: Value): (v: Value | undefined) => boolean {
  switch (op) {
    case 'eq': return (v) => v !== undefined && valuesEqual(v, operand)
    case 'ne': return (v) => v === undefined || !valuesEqual(v, operand)
    case 'gt': return (v) => comparable(v, operand) && compareValues(v, operand) > 0
    case 'gte': return (v) => comparable(v, operand) && compareValues(v, operand) >= 0
    case 'lt': return (v) => comparable(v, operand) && compareValues(v, operand) < 0
    case 'lte': return (v) => comparable(v, operand) && compareValues(v, operand) <= 0
    case 'in': {
      const has = membership(operand as Value[])
      return (v) => v !== undefined && has(v)
    }
    case 'nin': {
      const has = membership(operand as Value[])
      return (v) => v === undefined || !has(v)
    }
    case 'exists': return operand === true ? (v) => v !== undefined : (v) => v === undefined
    case 'contains': return (v) => Array.isArray(v) && v.some((x) => valuesEqual(x, operand))
    case 'startsWith': {
      const prefix = operand as string
      return (v) => typeof v === 'string' && v.startsWith(prefix)
    }
  }
}

/** Set membership under the total order's equality (strings looked up directly). */
function membership (values: readonly Value[]): (v: Value) => boolean {
  const strings = new Set<string>()
  const others = new Set<string>()
  for (const x of values) {
    if (typeof x === 'string') strings.add(x)
    else others.add(canonicalKey(x))
  }
  return (v) => typeof v === 'string' ? strings.has(v) : others.size > 0 && others.has(canonicalKey(v))
}
