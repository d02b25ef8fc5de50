/**
 * Errors thrown by the mesh node (`node/`): subclasses of `BlazeError` with a stable
 * `name` and `code`; messages say what to do next. (The sync and pair protocols have their own.)
 */
import { BlazeError } from '../engine/errors.ts'

/**
 * A member could not be reached: no address is known for it, and no relay we are connected
 * to could forward to it.
 */
export class NoRouteError extends BlazeError {
  static readonly code = 'ERR_NO_ROUTE'
  readonly peer: string
  constructor (peer: string) {
    super(`no route to ${peer}: no address is known for it and no relay is connected; start the nodes with --bootstrap pointing at a relay both can reach (blaze start --relay), or on the same LAN with mDNS`, NoRouteError.code)
    this.name = 'NoRouteError'
    this.peer = peer
  }
}

/** A mesh node option is out of range (e.g. `backoffMs: 0`, or a cap below the first delay). */
export class InvalidNodeOptionError extends BlazeError {
  static readonly code = 'ERR_INVALID_NODE_OPTION'
  constructor (message: string) {
    super(message, InvalidNodeOptionError.code)
    this.name = 'InvalidNodeOptionError'
  }
}

/** This device may not grant roles, so it cannot pair others. */
export class PairingNotAllowedError extends BlazeError {
  constructor (message: string) {
    super(message, 'ERR_PAIRING_NOT_ALLOWED')
    this.name = 'PairingNotAllowedError'
  }
}

/** `join` was pointed at a data directory that already holds a database. */
export class AlreadyJoinedError extends BlazeError {
  constructor (message: string) {
    super(message, 'ERR_ALREADY_JOINED')
    this.name = 'AlreadyJoinedError'
  }
}

/** `join` found no member that is pairing (none reachable at the addresses given, none on the LAN). */
export class NoPairingPeerError extends BlazeError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_NO_PAIRING_PEER', options)
    this.name = 'NoPairingPeerError'
  }
}

/** Bad input to the node's API (an unknown role, a bad TTL, a malformed address). */
export class InvalidNodeArgumentError extends BlazeError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_ARGUMENT')
    this.name = 'InvalidNodeArgumentError'
  }
}

/**
 * Words for anything thrown: libp2p sometimes rejects with an Event (a stream reset), whose
 * String() is "[object Event]".
 */
export function describeError (error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message
  if (typeof Event !== 'undefined' && error instanceof Event) {
    const inner = (error as Event & { error?: unknown }).error
    if (inner instanceof Error) return inner.message
    return `the connection ended (${error.type} event)`
  }
  return String(error)
}
