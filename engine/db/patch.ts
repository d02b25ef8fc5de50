/**
 * Turning API calls into ops: validation of collection names, ids and documents, and the
 * field-level diff of an `update` patch.
 */
import { MAX_COLLECTION_BYTES, MAX_ID_BYTES, nameProblem } from '../log/change.ts'
import type { Value } from '../codec/index.ts'
import type { Doc } from '../crdt/register.ts'
import type { Op } from '../log/change.ts'
import { InvalidArgumentError } from '../errors.ts'

export function isPlainObject (v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

export function checkName (name: unknown, what: string): string {
  const problem = nameProblem(name, what === 'a document id' ? MAX_ID_BYTES : MAX_COLLECTION_BYTES)
  if (problem !== undefined) {
    const shown = typeof name === 'string' && name.length > 80 ? `${JSON.stringify(name.slice(0, 80))}…` : JSON.stringify(name)
    throw new InvalidArgumentError(`${what} ${problem}, got ${shown}`)
  }
  return name as string
}

/** Drops `undefined` members (as JSON does) so the value can be encoded. */
export function stripUndefined (v: unknown): Value {
  if (Array.isArray(v)) return v.map((x) => x === undefined ? null : stripUndefined(x))
  if (isPlainObject(v)) {
    const out: Record<string, Value> = {}
    for (const k of Object.keys(v)) {
      const x = v[k]
      if (x !== undefined) out[k] = stripUndefined(x)
    }
    return out
  }
  return v as Value
}

/** The document body as stored: without its `id`, undefined members dropped. */
export function docBody (doc: unknown): Doc {
  if (!isPlainObject(doc)) throw new InvalidArgumentError('a document must be a plain object, such as { title: "hello" }')
  // copied without `id` rather than copied then `delete`d: a delete turns the object into a
  // slow dictionary for V8, which every later read of it (both encodings, the merge) pays for
  const body: Record<string, Value> = {}
  for (const k of Object.keys(doc)) {
    if (k === 'id') continue
    const x = doc[k]
    if (x !== undefined) body[k] = stripUndefined(x)
  }
  return body as Doc
}

/** Field-level ops for a patch: nested plain objects merge; `undefined` removes a field. */
export function patchOps (collection: string, id: string, patch: unknown): Op[] {
  if (!isPlainObject(patch)) throw new InvalidArgumentError('a patch must be a plain object, such as { status: "closed" }')
  const ops: Op[] = []
  const walk = (obj: Record<string, unknown>, path: string[]): void => {
    for (const key of Object.keys(obj)) {
      if (path.length === 0 && key === 'id') throw new InvalidArgumentError('a document\'s id cannot be changed; insert a new document instead')
      const value = obj[key]
      const p = [...path, key]
      if (value === undefined) ops.push({ op: 'unset', c: collection, id, p })
      else if (isPlainObject(value) && Object.keys(value).length > 0) walk(value, p)
      else ops.push({ op: 'set', c: collection, id, p, v: stripUndefined(value) })
    }
  }
  walk(patch, [])
  return ops
}

export function checkPath (path: unknown): string[] {
  const parts = typeof path === 'string' ? path.split('.') : path
  if (!Array.isArray(parts) || parts.length === 0 || parts.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new InvalidArgumentError(`a field path is a dotted string or an array of keys, such as "stats.views", got ${JSON.stringify(path)}`)
  }
  if (parts[0] === 'id') throw new InvalidArgumentError('a document\'s id cannot be changed')
  return parts as string[]
}

/** Reads a dotted path from a document. */
export function getPath (doc: Doc, path: readonly string[]): Value | undefined {
  let node: Value | undefined = doc
  for (const key of path) {
    if (!isPlainObject(node)) return undefined
    node = (node as Record<string, Value>)[key]
  }
  return node
}
