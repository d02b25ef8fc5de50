/**
 * Errors thrown by the mesh node (`node/`): subclasses of `BlazeError` with a stable
 * `name` and `code`; messages say what to do next.
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
