/**
 * Pairing errors. Each has a stable `name` and `code` (and, when it crossed the wire, the
 * wire code it maps to in `ERROR_CODES`); messages say what to do next.
 */
import { BlazeError } from '../../engine/errors.ts'
import { ERROR_CODES, type PairWireCode } from './constants.ts'

const NEW_CODE = 'ask for a new code with `blaze pair` on a member'

/** Base class: every pairing failure carries the wire code sent to (or received from) the peer. */
export class PairingError extends BlazeError {
  readonly wireCode: PairWireCode
  constructor (message: string, code: string, wireCode: PairWireCode, options?: ErrorOptions) {
    super(message, code, options)
    this.name = 'PairingError'
    this.wireCode = wireCode
  }
}

/** The two sides did not hold the same code (or someone sits between them). */
export class WrongPairingCodeError extends PairingError {
  constructor (message = `the pairing code is wrong: check it and try again, or ${NEW_CODE}`, options?: ErrorOptions) {
    super(message, 'ERR_WRONG_PAIRING_CODE', ERROR_CODES.wrongCode, options)
    this.name = 'WrongPairingCodeError'
  }
}

/** The pairing window's time ran out. */
export class PairingExpiredError extends PairingError {
  constructor (message = `the pairing code has expired: ${NEW_CODE}`, options?: ErrorOptions) {
    super(message, 'ERR_PAIRING_EXPIRED', ERROR_CODES.expired, options)
    this.name = 'PairingExpiredError'
  }
}

/** A code works once; this one already paired a device. */
export class PairingCodeUsedError extends PairingError {
  constructor (message = `the pairing code was already used: ${NEW_CODE}`, options?: ErrorOptions) {
    super(message, 'ERR_PAIRING_CODE_USED', ERROR_CODES.used, options)
    this.name = 'PairingCodeUsedError'
  }
}

/** Too many wrong tries closed the window (or a new code replaced it, or it was cancelled). */
export class PairingClosedError extends PairingError {
  constructor (message = `too many wrong tries closed the pairing window: ${NEW_CODE}`, options?: ErrorOptions) {
    super(message, 'ERR_PAIRING_CLOSED', ERROR_CODES.closed, options)
    this.name = 'PairingClosedError'
  }
}

/** The node reached is not in pairing mode. */
export class NotPairingError extends PairingError {
  constructor (message = 'this node is not pairing: ask a member to run `blaze pair` and use the code it prints', options?: ErrorOptions) {
    super(message, 'ERR_NOT_PAIRING', ERROR_CODES.notPairing, options)
    this.name = 'NotPairingError'
  }
}

/** Tries come too fast, or another device is pairing right now. */
export class PairingRateLimitedError extends PairingError {
  constructor (message: string, wireCode: typeof ERROR_CODES.rateLimited | typeof ERROR_CODES.busy = ERROR_CODES.rateLimited, options?: ErrorOptions) {
    super(message, 'ERR_PAIRING_RATE_LIMITED', wireCode, options)
    this.name = 'PairingRateLimitedError'
  }
}

/** Malformed, tampered, out-of-order or late messages. */
export class PairingProtocolError extends PairingError {
  constructor (message: string, wireCode: PairWireCode = ERROR_CODES.protocol, options?: ErrorOptions) {
    super(message, 'ERR_PAIRING_PROTOCOL', wireCode, options)
    this.name = 'PairingProtocolError'
  }
}

/** The code typed is not a pairing code at all (wrong length, letters). */
export class InvalidPairingCodeError extends BlazeError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_PAIRING_CODE')
    this.name = 'InvalidPairingCodeError'
  }
}

/** Turns an ERROR frame from the peer into the matching typed error. */
export function errorFromWire (code: string, message: string): PairingError {
  switch (code) {
    case ERROR_CODES.wrongCode: return new WrongPairingCodeError(message)
    case ERROR_CODES.expired: return new PairingExpiredError(message)
    case ERROR_CODES.used: return new PairingCodeUsedError(message)
    case ERROR_CODES.closed: return new PairingClosedError(message)
    case ERROR_CODES.notPairing: return new NotPairingError(message)
    case ERROR_CODES.busy: return new PairingRateLimitedError(message, ERROR_CODES.busy)
    case ERROR_CODES.rateLimited: return new PairingRateLimitedError(message)
    default: return new PairingProtocolError(`the member ended pairing: ${message}`, ERROR_CODES.protocol)
  }
}
