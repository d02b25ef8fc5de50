/**
 * The shape registry behind `StructureTable`: key lists by id (for decoding) and a
 * lookup from an object's own key order to its shape (for encoding).
 *
 * Encoding looks shapes up with a transition tree keyed by the object's keys in their
 * own order (`Object.keys`), so the common case is one `Map.get` per key and no sorting;
 * only a key order seen for the first time is sorted and matched by its sorted key list.
 */
import { CodecError, InvalidArgumentError } from '../errors.ts'
import type { Value } from './types.ts'
import { compareUtf8 } from './utf8.ts'

export interface ShapeDefinition { id: number, keys: string[] }

export interface ShapeRegistryOptions {
  /** Most shapes registered; maps of further key sets keep inline keys. Default 4096. */
  maxShapes?: number
  /** Maps with more keys than this keep inline keys (they are usually dictionaries). Default 128. */
  maxKeysPerShape?: number
}

export const DEFAULT_MAX_SHAPES = 4096
export const DEFAULT_MAX_KEYS_PER_SHAPE = 128
/** Shape ids are written as at most 16 bits. */
const MAX_SHAPE_ID = 0xffff
/** Bounds the transition tree, whatever mix of key orders the application writes. */
const MAX_TREE_NODES = 65_536
/** Key orders remembered for the fast path of `lookup`. */
const RECENT = 4

export class Shape {
  readonly id: number
  /** Keys in the order the shape's values are written. */
  readonly keys: readonly string[]
  /** A `__proto__` key must be defined, not assigned, or it would set the prototype. */
  readonly hasProtoKey: boolean
  /** Decodes seen, to compile a reader only for shapes in real use. */
  uses = 0
  /** Compiled reader (an object literal in key order), or null until compiled. */
  read: (() => Value) | null = null

  constructor (id: number, keys: readonly string[]) {
    this.id = id
    this.keys = keys
    this.hasProtoKey = keys.includes('__proto__')
  }

  /**
   * Builds a reader that returns an object literal with the shape's keys, so V8 creates each
   * object with its final hidden class at once (assigning keys one by one costs about twice
   * as much). Keys are embedded as JSON string literals, which are valid, inert JS string
   * literals. A `__proto__` key keeps the generic path: in a literal it would set the prototype.
   */
  compile (readValue: () => Value): void {
    if (this.hasProtoKey || this.keys.length > 256) return
    try {
      const body = this.keys.map((k) => `${JSON.stringify(k)}: r()`).join(', ')
      const make = new Function('r', `return function readShape () { return { ${body} } }`) as (r: () => Value) => () => Value
      this.read = make(readValue)
    } catch {
      // Code generation disabled (--disallow-code-generation-from-strings): stay generic.
    }
  }
}

interface TreeNode {
  next: Map<string, TreeNode> | null
  shape: Shape | null
}

export class ShapeRegistry {
  /** Shapes by id; holes are ids never registered. */
  readonly byId: Array<Shape | undefined> = []
  readonly maxShapes: number
  readonly maxKeysPerShape: number
  readonly #bySignature = new Map<string, Shape>()
  readonly #root: TreeNode = { next: null, shape: null }
  readonly #unpersisted = new Set<number>()
  readonly #recentKeys: Array<readonly string[]> = new Array<readonly string[]>(RECENT).fill([])
  readonly #recentShapes: Array<Shape | null> = new Array<Shape | null>(RECENT).fill(null)
  #recentNext = 0
  #treeNodes = 0
  #count = 0
  #nextId = 0

  constructor (persisted: Iterable<ShapeDefinition> = [], options: ShapeRegistryOptions = {}) {
    this.maxShapes = checkCount(options.maxShapes ?? DEFAULT_MAX_SHAPES, 'maxShapes', MAX_SHAPE_ID + 1)
    this.maxKeysPerShape = checkCount(options.maxKeysPerShape ?? DEFAULT_MAX_KEYS_PER_SHAPE, 'maxKeysPerShape', 0xffff)
    for (const def of persisted) this.#load(def)
  }

  get size (): number { return this.#count }

  /** The shape for an object whose own keys (in their own order) are `keys`, registering one if allowed. */
  lookup (keys: readonly string[]): Shape | null {
    const n = keys.length
    // Most calls repeat one of a few recent key orders: compare against those first
    // (property names are interned strings, so each comparison is a pointer check).
    for (let r = 0; r < RECENT; r++) {
      const recent = this.#recentKeys[r]!
      if (recent.length === n) {
        let i = 0
        while (i < n && recent[i] === keys[i]) i++
        if (i === n) return this.#recentShapes[r]!
      }
    }
    let node = this.#root
    for (let i = 0; i < n; i++) {
      const next = node.next === null ? undefined : node.next.get(keys[i]!)
      if (next === undefined) return this.#miss(keys)
      node = next
    }
    const shape = node.shape !== null ? node.shape : this.#miss(keys)
    if (shape !== null && n > 0) {
      const r = this.#recentNext
      this.#recentKeys[r] = keys
      this.#recentShapes[r] = shape
      this.#recentNext = (r + 1) % RECENT
    }
    return shape
  }

  unpersisted (): ShapeDefinition[] {
    return [...this.#unpersisted].sort((a, b) => a - b).map((id) => ({ id, keys: [...this.byId[id]!.keys] }))
  }

  markPersisted (ids: Iterable<number>): void {
    for (const id of ids) {
      if (this.byId[id] === undefined) {
        throw new InvalidArgumentError(`structure ${String(id)} is not registered in this table; pass ids returned by unpersisted()`)
      }
      this.#unpersisted.delete(id)
    }
  }

  all (): ShapeDefinition[] {
    const out: ShapeDefinition[] = []
    for (const shape of this.byId) if (shape !== undefined) out.push({ id: shape.id, keys: [...shape.keys] })
    return out
  }

  #miss (keys: readonly string[]): Shape | null {
    if (keys.length === 0 || keys.length > this.maxKeysPerShape) return null
    const sorted = keys.slice().sort(compareUtf8)
    const signature = JSON.stringify(sorted)
    let shape = this.#bySignature.get(signature)
    if (shape === undefined) {
      if (this.#count >= this.maxShapes || this.#nextId > MAX_SHAPE_ID) return null
      shape = this.#add(this.#nextId, sorted, signature)
      this.#unpersisted.add(shape.id)
    }
    this.#remember(keys, shape)
    return shape
  }

  #remember (keys: readonly string[], shape: Shape): void {
    if (this.#treeNodes + keys.length > MAX_TREE_NODES) return
    let node = this.#root
    for (const key of keys) {
      if (node.next === null) node.next = new Map()
      let next = node.next.get(key)
      if (next === undefined) {
        next = { next: null, shape: null }
        node.next.set(key, next)
        this.#treeNodes++
      }
      node = next
    }
    node.shape = shape
  }

  #add (id: number, keys: readonly string[], signature: string): Shape {
    const shape = new Shape(id, keys)
    this.byId[id] = shape
    if (!this.#bySignature.has(signature)) this.#bySignature.set(signature, shape)
    this.#count++
    if (id >= this.#nextId) this.#nextId = id + 1
    return shape
  }

  #load (def: ShapeDefinition): void {
    const where = `persisted structure ${JSON.stringify(def?.id)}`
    if (def === null || typeof def !== 'object' || !Number.isInteger(def.id) || def.id < 0 || def.id > MAX_SHAPE_ID) {
      throw new CodecError(`${where} has no valid id (an integer 0–${MAX_SHAPE_ID}); the stored structure table is damaged`)
    }
    if (this.byId[def.id] !== undefined) {
      throw new CodecError(`${where} appears twice; the stored structure table is damaged`)
    }
    if (!Array.isArray(def.keys) || def.keys.length === 0 || def.keys.some((k) => typeof k !== 'string') || new Set(def.keys).size !== def.keys.length) {
      throw new CodecError(`${where} needs a non-empty list of distinct string keys; the stored structure table is damaged`)
    }
    const keys = [...def.keys]
    this.#add(def.id, keys, JSON.stringify(keys.slice().sort(compareUtf8)))
  }
}

function checkCount (value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}, got ${String(value)}`)
  }
  return value
}
