/** Every value BlazeBinary encodes. Map values may not be `undefined`: strip such keys first. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Value[]
  | { [key: string]: Value }

/** Bounds a decoder enforces; exceeding one throws `LimitExceededError`. */
export interface DecodeLimits {
  /** Deepest nesting of arrays and maps (a scalar is depth 0, `[[1]]` depth 2). Default 64. */
  maxDepth?: number
  /** Largest input accepted, in bytes. Default: no limit beyond the input itself. */
  maxBytes?: number
  /** Most array items plus map entries in the whole value. Default: no limit beyond the input size. */
  maxItems?: number
}

export interface EncodeOptions {
  /**
   * Deepest nesting written (default 64, the decoder's default), so every encoded value
   * decodes under default limits and a cyclic value fails fast instead of looping.
   */
  maxDepth?: number
}

export const DEFAULT_MAX_DEPTH = 64
