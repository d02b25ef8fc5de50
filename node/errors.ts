import { BlazeError } from '../engine/errors.ts'

/** A mesh node option is out of range (e.g. `backoffMs: 0`, or a cap below the first delay). */
export class InvalidNodeOptionError extends BlazeError {
  static readonly code = 'ERR_INVALID_NODE_OPTION'
  constructor (message: string) {
    super(message, InvalidNodeOptionError.code)
    this.name = 'InvalidNodeOptionError'
  }
}
