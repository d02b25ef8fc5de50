/**
 * Argument checks and errors shared by every Store implementation, so that what one store
 * accepts or refuses, all of them do.
 */
import { InvalidArgumentError, SnapshotReleasedError, StoreClosedError, TransactionFinishedError } from '../errors.ts'
import type { Bytes, RangeOptions } from './types.ts'

/** LMDB's largest key with its default page size; every store enforces the same bound. */
export const MAX_KEY_BYTES = 1978

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string
const nativeLatin1Slice = (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice

/**
 * A key as a one-byte-per-char string. JavaScript compares such strings by UTF-16 code
 * units, which here are the bytes themselves, so `<` on these strings is bytewise order.
 */
export const keyString: (key: Bytes) => string = nativeLatin1Slice !== undefined
  ? (key) => nativeLatin1Slice.call(key, 0, key.length)
  : (key) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')

export function stringKey (s: string): Buffer {
  return Buffer.from(s, 'latin1')
}

export function checkKey (key: unknown): asserts key is Bytes {
  if (!(key instanceof Uint8Array)) {
    throw new InvalidArgumentError(`a store key must be a Uint8Array, got ${describe(key)}; encode the key to bytes first`)
  }
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`a store key must be 1 to ${MAX_KEY_BYTES} bytes long, got ${key.length}; shorten the key (hash long parts)`)
  }
}

export function checkValue (value: unknown): asserts value is Bytes {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`a store value must be a Uint8Array, got ${describe(value)}; encode the value to bytes first`)
  }
}

/** Range options after validation: empty bounds are resolved, `limit` is a count. */
export interface Bounds {
  gte: Bytes | undefined
  lt: Bytes | undefined
  reverse: boolean
  limit: number
  /** true when nothing can match (lt is empty, gte ≥ lt, or limit is 0) */
  empty: boolean
}

export function checkRange (options: RangeOptions): Bounds {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`range options must be an object such as { gte, lt }, got ${describe(options)}`)
  }
  const { gte, lt, reverse = false, limit = Infinity } = options
  for (const [name, bound] of [['gte', gte], ['lt', lt]] as const) {
    if (bound === undefined) continue
    if (!(bound instanceof Uint8Array)) throw new InvalidArgumentError(`range option ${name} must be a Uint8Array, got ${describe(bound)}`)
    if (bound.length > MAX_KEY_BYTES) {
      throw new InvalidArgumentError(`range option ${name} is ${bound.length} bytes; no key is longer than ${MAX_KEY_BYTES}, so use a bound of at most that length`)
    }
  }
  if (typeof reverse !== 'boolean') throw new InvalidArgumentError(`range option reverse must be a boolean, got ${describe(reverse)}`)
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidArgumentError(`range option limit must be a non-negative integer, got ${describe(limit)}`)
  }
  const lower = gte === undefined || gte.length === 0 ? undefined : gte
  const empty = limit === 0 || (lt !== undefined && (lt.length === 0 || (lower !== undefined && Buffer.compare(lower, lt) >= 0)))
  return { gte: lower, lt, reverse, limit, empty }
}

function describe (x: unknown): string {
  if (x === null) return 'null'
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object'
  return typeof x === 'number' ? String(x) : typeof x
}

export function isThenable (x: unknown): boolean {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function'
}

export function asyncFnError (): Error {
  return new InvalidArgumentError('the function given to transact returned a promise; it must be synchronous (read and write through txn, then return)')
}

export function closedError (): Error {
  return new StoreClosedError('the store is closed; open it again to read or write')
}

export function releasedError (): Error {
  return new SnapshotReleasedError('this snapshot was released; take a new one with store.snapshot()')
}

export function finishedError (): Error {
  return new TransactionFinishedError('this transaction has finished; do every read and write inside the function given to transact')
}
