import { MAX_CHANGE_BYTES, SIGN_INTERVAL_BYTES } from '../../engine/log/entry.ts'

/** Protocol id, version and limits of the sync protocol. */
export const PROTOCOL = '/blazedb/sync/1.0.0'
export const VERSION = 1

/** frame types (FRAME_CHANGES = 1 is the engine's change batch) */
export const FRAME = {
  changes: 1,
  hello: 16,
  ack: 17,
  need: 18,
  error: 19
} as const

/** target size of a change batch sent during catch-up */
export const BATCH_BYTES = 256 * 1024
/**
 * Largest frame accepted from a peer (declared payload, before any allocation). Sized from
 * the engine's one change limit: a batch is cut after a signed change once it passes
 * BATCH_BYTES, and writers sign at least every SIGN_INTERVAL_BYTES, so no batch a peer sends
 * exceeds BATCH_BYTES + SIGN_INTERVAL_BYTES + MAX_CHANGE_BYTES (+ framing). A change the
 * engine accepted locally always fits.
 */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024
if (MAX_FRAME_BYTES < BATCH_BYTES + SIGN_INTERVAL_BYTES + MAX_CHANGE_BYTES + 1024 * 1024) throw new Error('MAX_FRAME_BYTES must carry the largest batch the engine may send')
/** the peer's hello must arrive within this */
export const HELLO_TIMEOUT_MS = 10_000
/** frames per second accepted from one peer, across all its streams (rate-limit.ts); beyond it we stop reading */
export const FRAMES_PER_SECOND = 2_000
/** the frame bucket holds this many seconds' worth (bursts of small live pushes) */
export const FRAME_BURST_SECONDS = 2
/** bytes per second accepted from one peer, across all its streams; also the burst */
export const BYTES_PER_SECOND = 32 * 1024 * 1024
/** new inbound sync sessions per minute from one peer; a surplus one is refused with RATE_LIMITED */
export const SESSIONS_PER_MINUTE = 10
/** peers whose buckets are kept before idle (full) ones are forgotten */
export const MAX_TRACKED_PEERS = 1_024
/** our send buffer may stay full this long before the peer counts as not reading */
export const SEND_TIMEOUT_MS = 30_000
/** closing our side waits this long for buffered bytes to leave before the stream is reset */
export const CLOSE_TIMEOUT_MS = 5_000

/** wire error codes (ERROR frames) */
export const ERROR_CODES = {
  wrongDatabase: 'WRONG_DATABASE',
  notAMember: 'NOT_A_MEMBER',
  badVersion: 'UNSUPPORTED_VERSION',
  malformed: 'MALFORMED',
  tooLarge: 'FRAME_TOO_LARGE',
  rateLimited: 'RATE_LIMITED',
  timeout: 'TIMEOUT',
  protocol: 'PROTOCOL_VIOLATION'
} as const
export type WireErrorCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]

/** sync streams per connection: one session per pair, plus one replacing a dying one */
export const MAX_INBOUND_STREAMS = 2
export const MAX_OUTBOUND_STREAMS = 2
/** opening a sync stream (protocol negotiation) must finish within this */
export const OPEN_TIMEOUT_MS = 10_000
