import { BlazeError } from '../../engine/errors.ts'

/** A sync session ended because of the other side: wrong database, not a member, bad frames… */
export class SyncProtocolError extends BlazeError {
  /** the wire code (ERROR_CODES), sent to or received from the peer */
  readonly wireCode: string
  constructor (message: string, wireCode: string, options?: ErrorOptions) {
    super(message, 'ERR_SYNC_PROTOCOL', options)
    this.name = 'SyncProtocolError'
    this.wireCode = wireCode
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
