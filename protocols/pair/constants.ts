/** Protocol id, version and limits of the pairing protocol. */
export const PROTOCOL = '/blazedb/pair/1.0.0'
export const VERSION = 1

/** frame types (distinct from the sync protocol's, so a frame sent to the wrong protocol is refused) */
export const FRAME = {
  start: 32,
  reply: 33,
  confirm: 34,
  welcome: 35,
  error: 36
} as const

/** largest frame accepted (every pairing message is small; the welcome carries a few addresses) */
export const MAX_FRAME_BYTES = 16 * 1024
/** most addresses handed to the new device */
export const MAX_ADDRESSES = 16
/** each message of the exchange must arrive within this */
export const STEP_TIMEOUT_MS = 10_000
/** a pairing window stays open this long by default */
export const DEFAULT_TTL_MS = 10 * 60_000
/** wrong (or abandoned) tries that close the window */
export const MAX_TRIES = 3
/** after a failed try, the next one is accepted only this much later (times the failures so far) */
export const TRY_DELAY_MS = 1_000
/** digits of a pairing code (shown as 1234-5678) */
export const CODE_DIGITS = 8
/** bytes of the session id the joining side picks */
export const SID_BYTES = 16

/** wire error codes (ERROR frames) */
export const ERROR_CODES = {
  wrongCode: 'WRONG_CODE',
  expired: 'EXPIRED',
  used: 'CODE_USED',
  closed: 'TOO_MANY_TRIES',
  notPairing: 'NOT_PAIRING',
  busy: 'BUSY',
  rateLimited: 'RATE_LIMITED',
  badVersion: 'UNSUPPORTED_VERSION',
  malformed: 'MALFORMED',
  timeout: 'TIMEOUT',
  protocol: 'PROTOCOL_VIOLATION'
} as const
export type PairWireCode = typeof ERROR_CODES[keyof typeof ERROR_CODES]
