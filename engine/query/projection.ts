/**
 * Projection: a copy of a document keeping only some paths (and always `id`). Paths that
 * do not exist are left out rather than created; a path under another selected path adds
 * nothing. Kept values are shared with the source document, not copied.
 */
import type { Value } from '../codec/index.ts'
import type { Doc } from './source.ts'
import { isPlainObject, setOwn } from './values.ts'

/** A selected key: `true` keeps the whole value, a map keeps only some of its keys. */
type Selection = Map<string, Selection | true>

export function projector (paths: readonly string[] | undefined): (doc: Doc) => Doc {
  if (paths === undefined) return (doc) => doc
  const root: Selection = new Map([['id', true]])
  for (const path of paths) {
    const keys = path.split('.')
    let node = root
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const next = node.get(key)
      if (next === true) break
      if (i === keys.length - 1) {
        node.set(key, true)
      } else if (next === undefined) {
        const child: Selection = new Map()
        node.set(key, child)
        node = child
      } else {
        node = next
      }
    }
  }
  return (doc) => pick(doc, root) as Doc
}

function pick (src: Record<string, Value>, selection: Selection): Record<string, Value> {
  const out: Record<string, Value> = {}
  for (const [key, sub] of selection) {
    if (!Object.hasOwn(src, key)) continue
    const v = src[key]!
    if (sub === true) {
      setOwn(out, key, v)
    } else if (isPlainObject(v)) {
      const inner = pick(v, sub)
      if (Object.keys(inner).length > 0) setOwn(out, key, inner)
    }
  }
  return out
}
