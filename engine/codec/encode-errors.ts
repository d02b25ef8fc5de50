/**
 * How the encoder reports a value it cannot write: an internal `Unencodable` collects the
 * path to the bad value while the recursion unwinds, then becomes a public BlazeError.
 */
import { LimitExceededError, UnencodableValueError } from '../errors.ts'

/** Thrown inside the encoder; collects the path to the bad value on the way out. */
export class Unencodable {
  readonly reason: string
  readonly path: Array<string | number> = []
  readonly limit: boolean
  constructor (reason: string, limit = false) {
    this.reason = reason
    this.limit = limit
  }
}

export function toPublicError (err: unknown): unknown {
  if (!(err instanceof Unencodable)) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return new LimitExceededError('value nests too deeply for the stack; lower maxDepth or flatten the value', { cause: err })
    }
    return err
  }
  const at = err.path.length === 0 ? 'the value' : `$${err.path.reverse().map(pathPart).join('')}`
  const message = `cannot encode ${at}: ${err.reason}`
  return err.limit ? new LimitExceededError(message) : new UnencodableValueError(message)
}

function pathPart (p: string | number): string {
  if (typeof p === 'number') return `[${p}]`
  return /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
}

export function describeValue (value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' ? `an instance of ${name}` : 'an object with a foreign prototype'
}

export const LONE_SURROGATE = 'a string holds a lone surrogate, which UTF-8 cannot represent; repair it with String.prototype.toWellFormed()'
