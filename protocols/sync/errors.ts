import { BlazeError } from '../../engine/errors.ts'
import { ERROR_CODES } from './constants.ts'

/** A sync session ended because of the other side: wrong database, not a member, bad frames… */
export class SyncProtocolError extends BlazeError {
  /** the wire code (ERROR_CODES), sent to or received from the peer */
  readonly wireCode: string
  constructor (message: string, wireCode: string, options?: ErrorOptions, code = 'ERR_SYNC_PROTOCOL') {
    super(message, code, options)
    this.name = 'SyncProtocolError'
    this.wireCode = wireCode
  }
}

/**
 * The peer stopped reading: our send buffer stayed full past the send timeout. The session
 * ends and the stream is reset (wire code TIMEOUT); the peer may reconnect once it reads again.
 */
export class SyncStalledError extends SyncProtocolError {
  constructor (message: string) {
    super(message, ERROR_CODES.timeout, undefined, 'ERR_SYNC_STALLED')
    this.name = 'SyncStalledError'
  }
}

/**
 * The peer opened more sync sessions than its allowance (sessions per minute): this one was
 * refused with the RATE_LIMITED error frame. It should reconnect after a pause, with backoff.
 */
export class SyncRateLimitedError extends SyncProtocolError {
  constructor (message: string) {
    super(message, ERROR_CODES.rateLimited, undefined, 'ERR_SYNC_RATE_LIMITED')
    this.name = 'SyncRateLimitedError'
  }
}

/** The peer sent an ERROR frame. */
export class RemoteSyncError extends BlazeError {
  readonly wireCode: string
  constructor (message: string, wireCode: string) {
    super(message, 'ERR_SYNC_REMOTE')
    this.name = 'RemoteSyncError'
    this.wireCode = wireCode
  }
}

/** An init option of the sync service is out of range (e.g. `maxInboundStreams: 0`). */
export class InvalidSyncOptionError extends BlazeError {
  static readonly code = 'ERR_INVALID_SYNC_OPTION'
  constructor (message: string) {
    super(message, InvalidSyncOptionError.code)
    this.name = 'InvalidSyncOptionError'
  }
}

/** `open()` was called on a sync service that is not started (or already stopped). */
export class SyncServiceNotStartedError extends BlazeError {
  static readonly code = 'ERR_SYNC_NOT_STARTED'
  constructor (message: string) {
    super(message, SyncServiceNotStartedError.code)
    this.name = 'SyncServiceNotStartedError'
  }
}
