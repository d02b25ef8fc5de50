/**
 * `/blazedb/pair/1.0.0`: a new device joins a database with a one-time code shown on a
 * member. CPace over ristretto255 (cpace.ts) proves both hold the code without sending it and
 * binds the result to both Noise-authenticated peer ids; the member then grants the device a
 * role and hands over, encrypted under the PAKE key, the database id, the role, its own peer
 * id and its addresses. Wire format: messages.ts. A code works once, expires, and
 * `MAX_TRIES` wrong tries close the window (window.ts).
 *
 * @example
 * const [a, b] = await streamPair()                        // from @libp2p/utils
 * const service = new PairService({ db: memberDb, addresses: () => [] })
 * const { code, joined } = service.open({ role: 'writer' })
 * void service.answer(b, newDevicePeerId)
 * const got = await joinOver({ stream: a, code: parseCode(code), localPeer: newDevicePeerId, remotePeer: memberDb.peerId })
 * // got.dbId === memberDb.id; (await joined).peerId === newDevicePeerId
 */
export { PairService } from './service.ts'
export type { PairServiceInit, PairDatabase, PairRegistrar, PairingOffer } from './service.ts'
export { joinOver, answerPairing } from './exchange.ts'
export type { JoinInit, JoinResult } from './exchange.ts'
export { PairingWindow } from './window.ts'
export type { PairRole, Joined, WindowState } from './window.ts'
export { newCode, formatCode, parseCode } from './code.ts'
export type { PairStream } from './messages.ts'
export { PROTOCOL, VERSION, FRAME, ERROR_CODES, DEFAULT_TTL_MS, MAX_TRIES, MAX_FRAME_BYTES } from './constants.ts'
export {
  PairingError, WrongPairingCodeError, PairingExpiredError, PairingCodeUsedError, PairingClosedError,
  NotPairingError, PairingRateLimitedError, PairingProtocolError, InvalidPairingCodeError
} from './errors.ts'
