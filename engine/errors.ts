/**
 * Every error the engine throws is a `BlazeError` with a stable `name` and `code`,
 * so callers (and tests) tell errors apart without reading message text.
 * Messages say what went wrong and what to do next.
 */
export class BlazeError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

function defineError (name: string, code: string): new (message: string, options?: ErrorOptions) => BlazeError {
  const cls = class extends BlazeError {
    static readonly code = code
    constructor (message: string, options?: ErrorOptions) {
      super(message, code, options)
      this.name = name
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

// Codec (BlazeBinary values and frames)
export const CodecError = defineError('CodecError', 'ERR_CODEC')
export const TruncatedInputError = defineError('TruncatedInputError', 'ERR_TRUNCATED')
export const InvalidTagError = defineError('InvalidTagError', 'ERR_INVALID_TAG')
export const LimitExceededError = defineError('LimitExceededError', 'ERR_LIMIT_EXCEEDED')
export const ChecksumError = defineError('ChecksumError', 'ERR_CHECKSUM')
export const UnsupportedVersionError = defineError('UnsupportedVersionError', 'ERR_UNSUPPORTED_VERSION')
export const UnencodableValueError = defineError('UnencodableValueError', 'ERR_UNENCODABLE_VALUE')

// Storage
export const StoreClosedError = defineError('StoreClosedError', 'ERR_STORE_CLOSED')
export const CorruptionError = defineError('CorruptionError', 'ERR_CORRUPTION')
export const WrongPassphraseError = defineError('WrongPassphraseError', 'ERR_WRONG_PASSPHRASE')
export const PassphraseRequiredError = defineError('PassphraseRequiredError', 'ERR_PASSPHRASE_REQUIRED')
export const DatabaseLockedError = defineError('DatabaseLockedError', 'ERR_DATABASE_LOCKED')
/** The data directory belonged to a database whose store is now missing or empty. */
export const StoreMissingError = defineError('StoreMissingError', 'ERR_STORE_MISSING')
/** The data directory holds no database, and the caller asked not to create one. */
export const NoDatabaseError = defineError('NoDatabaseError', 'ERR_NO_DATABASE')

// Changes and merge
export const InvalidChangeError = defineError('InvalidChangeError', 'ERR_INVALID_CHANGE')
export const BadSignatureError = defineError('BadSignatureError', 'ERR_BAD_SIGNATURE')
export const BrokenChainError = defineError('BrokenChainError', 'ERR_BROKEN_CHAIN')
export const SequenceGapError = defineError('SequenceGapError', 'ERR_SEQUENCE_GAP')
export const ConflictingChangeError = defineError('ConflictingChangeError', 'ERR_CONFLICTING_CHANGE')
export const WrongDatabaseError = defineError('WrongDatabaseError', 'ERR_WRONG_DATABASE')
export const UnsignedChangeError = defineError('UnsignedChangeError', 'ERR_UNSIGNED_CHANGE')
export const NotAMemberError = defineError('NotAMemberError', 'ERR_NOT_A_MEMBER')
export const ForbiddenError = defineError('ForbiddenError', 'ERR_FORBIDDEN')
export const ClockDriftError = defineError('ClockDriftError', 'ERR_CLOCK_DRIFT')
/** A peer asked for changes this log no longer holds (truncated by GC): it needs a snapshot. */
export const BehindHorizonError = defineError('BehindHorizonError', 'ERR_BEHIND_HORIZON')

// API misuse
export const InvalidArgumentError = defineError('InvalidArgumentError', 'ERR_INVALID_ARGUMENT')
export const NotFoundError = defineError('NotFoundError', 'ERR_NOT_FOUND')
export const DatabaseClosedError = defineError('DatabaseClosedError', 'ERR_DATABASE_CLOSED')
export const TransactionAbortedError = defineError('TransactionAbortedError', 'ERR_TRANSACTION_ABORTED')

// Store handles used after their end
export const SnapshotReleasedError = defineError('SnapshotReleasedError', 'ERR_SNAPSHOT_RELEASED')
export const TransactionFinishedError = defineError('TransactionFinishedError', 'ERR_TRANSACTION_FINISHED')

// Codec, continued
export const NonCanonicalError = defineError('NonCanonicalError', 'ERR_NON_CANONICAL')
export const UnknownStructureError = defineError('UnknownStructureError', 'ERR_UNKNOWN_STRUCTURE')
export const AlreadyExistsError = defineError('AlreadyExistsError', 'ERR_ALREADY_EXISTS')

// Queries: a bad filter, sort, projection, aggregation or cursor
export const QueryError = defineError('QueryError', 'ERR_QUERY')
