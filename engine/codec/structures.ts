/**
 * The compact storage form: maps whose key set is a registered shape are written as a
 * shape reference plus their values, without key strings. The database persists the
 * shapes (`unpersisted()` → metadata → `markPersisted()`) in the same transaction as the
 * first record that uses them, and passes them back to the constructor after a restart.
 *
 * ```ts
 * const table = new StructureTable(await loadShapes())
 * const bytes = table.encode({ title: 'crash', votes: 3 })
 * await saveShapes(table.unpersisted()) // with the record, atomically
 * table.markPersisted(table.unpersisted().map((s) => s.id))
 * table.decode(bytes) // { title: 'crash', votes: 3 }
 * ```
 */
import { decodeValue } from './decoder.ts'
import { encodeValue } from './encoder.ts'
import { ShapeRegistry, type ShapeDefinition, type ShapeRegistryOptions } from './shapes.ts'
import type { DecodeLimits, EncodeOptions, Value } from './types.ts'

export type { ShapeDefinition, ShapeRegistryOptions as StructureTableOptions }

export class StructureTable {
  readonly #registry: ShapeRegistry

  /**
   * @param persisted shapes stored earlier (ids and key lists exactly as `unpersisted()` gave them)
   * @param options `maxShapes` (default 4096): beyond it, maps of new key sets keep inline keys;
   *   `maxKeysPerShape` (default 128): larger maps keep inline keys.
   * @throws CodecError when a persisted shape is malformed (damaged metadata)
   */
  constructor (persisted?: Iterable<ShapeDefinition>, options?: ShapeRegistryOptions) {
    this.#registry = new ShapeRegistry(persisted, options)
  }

  /** Number of registered shapes. */
  get size (): number { return this.#registry.size }

  /**
   * Encodes `value`, registering a shape for each map whose key set is new (while room
   * remains). Like `encode`, returns a view into a shared output slab.
   */
  encode (value: Value, options?: EncodeOptions): Uint8Array {
    return encodeValue(value, options, this.#registry)
  }

  /**
   * As `encode`, with `reserve` bytes left before the value for the caller's header: the
   * result is those bytes (uninitialised, to be filled) followed by the encoded value.
   */
  encodeAfter (reserve: number, value: Value): Uint8Array {
    return encodeValue(value, undefined, this.#registry, reserve)
  }

  /** Decodes bytes from `encode` (of this table or one loaded with the same shapes). */
  decode (bytes: Uint8Array, limits?: DecodeLimits): Value {
    return decodeValue(bytes, limits, false, this.#registry)
  }

  /** Shapes registered since the table was created or last marked persisted, by ascending id. */
  unpersisted (): ShapeDefinition[] {
    return this.#registry.unpersisted()
  }

  /** Records that these shapes are now stored; `unpersisted()` no longer lists them. */
  markPersisted (ids: Iterable<number>): void {
    this.#registry.markPersisted(ids)
  }

  /** Every registered shape (persisted or not), by ascending id. */
  shapes (): ShapeDefinition[] {
    return this.#registry.all()
  }
}
