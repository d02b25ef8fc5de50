/**
 * The two ends of one pairing exchange over a stream (see messages.ts for the wire format):
 * `joinOver` on the new device, `answerPairing` on the member.
 */
import { randomBytes } from 'node:crypto'
import { channelId, cpaceShare, macEqual, type PairKeys } from './cpace.ts'
import { ERROR_CODES, FRAME, SID_BYTES, STEP_TIMEOUT_MS, VERSION } from './constants.ts'
import { errorFromWire, PairingError, PairingProtocolError, WrongPairingCodeError } from './errors.ts'
import { decodeConfirm, decodeError, decodeReply, decodeStart, decodeWelcome, encodeConfirm, encodeError, encodeReply, encodeStart, encodeWelcome, FrameReader, writeFrame, type PairStream, type Welcome } from './messages.ts'
import type { PairingWindow, PairRole } from './window.ts'

export type Random = (n: number) => Uint8Array
const defaultRandom: Random = (n) => new Uint8Array(randomBytes(n))

export interface JoinInit {
  stream: PairStream
  /** the code as typed (digits only: see parseCode) */
  code: string
  /** our own peer id and the member's, as the transport authenticated it */
  localPeer: string
  remotePeer: string
  random?: Random
  stepTimeoutMs?: number
  signal?: AbortSignal
}

export interface JoinResult { dbId: string, role: PairRole, member: string, addresses: string[] }

function stepSignal (ms: number, outer: AbortSignal | undefined): AbortSignal {
  return outer === undefined ? AbortSignal.timeout(ms) : AbortSignal.any([AbortSignal.timeout(ms), outer])
}

async function expect (reader: FrameReader, type: number, what: string, signal: AbortSignal): Promise<Uint8Array> {
  const frame = await reader.next(signal)
  if (frame.type === FRAME.error) {
    const { code, message } = decodeError(frame.payload)
    throw Object.assign(errorFromWire(code, message), { remote: true })
  }
  if (frame.type !== type) throw new PairingProtocolError(`expected ${what}, got frame type ${frame.type}`)
  return frame.payload
}

/** Sends an ERROR frame for `error` (unless it came from the peer), then ends the stream. */
async function endWith (stream: PairStream, error: Error): Promise<void> {
  try {
    if ((error as { remote?: boolean }).remote !== true) {
      const code = error instanceof PairingError ? error.wireCode : ERROR_CODES.protocol
      stream.send(encodeError(code, error.message))
    }
    await stream.close({ signal: AbortSignal.timeout(2_000) })
  } catch {
    stream.abort(error)
  }
}

/** The new device's side: proves knowledge of the code, returns what the member handed over. */
export async function joinOver (init: JoinInit): Promise<JoinResult> {
  const { stream, code, localPeer, remotePeer } = init
  const random = init.random ?? defaultRandom
  const step = init.stepTimeoutMs ?? STEP_TIMEOUT_MS
  const reader = new FrameReader(stream)
  const ci = channelId(localPeer, remotePeer)
  const sid = random(SID_BYTES)
  const mine = cpaceShare(code, ci, sid, random)
  try {
    await writeFrame(stream, encodeStart({ v: VERSION, sid, y: mine.share }), stepSignal(step, init.signal))
    const theirs = decodeReply(await expect(reader, FRAME.reply, 'REPLY', stepSignal(step, init.signal)))
    const keys = mine.finish(theirs, { joinerShare: mine.share, memberShare: theirs })
    await writeFrame(stream, encodeConfirm(keys.joinerMac), stepSignal(step, init.signal))
    const welcome = decodeWelcome(await expect(reader, FRAME.welcome, 'WELCOME', stepSignal(step, init.signal)))
    // the member accepted our MAC, so it holds the code: a bad MAC or box now means tampering
    if (!macEqual(welcome.mac, keys.memberMac)) throw new PairingProtocolError('the member\'s confirmation does not match (the exchange was tampered with); ask for a new code with `blaze pair`')
    const w = welcome.open(keys.welcomeKey, keys.transcriptHash)
    if (w.member !== remotePeer) throw new PairingProtocolError(`the welcome names ${w.member}, but the connection is with ${remotePeer}`)
    if (w.role !== 'admin' && w.role !== 'writer' && w.role !== 'reader') throw new PairingProtocolError(`the member granted an unknown role ${JSON.stringify(w.role)}`, ERROR_CODES.malformed)
    try { await stream.close({ signal: AbortSignal.timeout(2_000) }) } catch {}
    return { dbId: Buffer.from(w.db).toString('hex'), role: w.role, member: w.member, addresses: w.addrs }
  } catch (error) {
    await endWith(stream, error as Error)
    throw error
  }
}

export interface AnswerInit {
  stream: PairStream
  /** the open window, or undefined (then the joiner is told why: the last window's fate, or not pairing) */
  window: PairingWindow | undefined
  localPeer: string
  remotePeer: string
  dbId: string
  /** grants the role to the joined device; it must be durable before the welcome goes out */
  grant: (peerId: string, role: PairRole) => Promise<void>
  addresses: () => string[]
  random?: Random
  stepTimeoutMs?: number
  signal?: AbortSignal
  /** refusal when no window is open and none was */
  notPairing: () => PairingError
}

/** The member's side of one exchange. Resolves with the joined peer id, or rejects with why it failed. */
export async function answerPairing (init: AnswerInit): Promise<string> {
  const { stream, window, localPeer, remotePeer } = init
  const random = init.random ?? defaultRandom
  const step = init.stepTimeoutMs ?? STEP_TIMEOUT_MS
  const reader = new FrameReader(stream)
  let admitted = false
  try {
    const start = decodeStart(await expect(reader, FRAME.start, 'START', stepSignal(step, init.signal)))
    if (start.v !== VERSION) throw new PairingProtocolError(`the other device speaks pairing version ${start.v}, this node ${VERSION}; upgrade the older one`, ERROR_CODES.badVersion)
    if (window === undefined) throw init.notPairing()
    window.admit()
    admitted = true
    const ci = channelId(remotePeer, localPeer)
    const mine = cpaceShare(window.code, ci, start.sid, random)
    const keys: PairKeys = mine.finish(start.y, { joinerShare: start.y, memberShare: mine.share })
    await writeFrame(stream, encodeReply(mine.share), stepSignal(step, init.signal))
    const mac = decodeConfirm(await expect(reader, FRAME.confirm, 'CONFIRM', stepSignal(step, init.signal)))
    if (!macEqual(mac, keys.joinerMac)) {
      const open = window.fail()
      admitted = false
      throw new WrongPairingCodeError(open
        ? `the pairing code is wrong: check it and try again (${window.triesLeft} ${window.triesLeft === 1 ? 'try' : 'tries'} left)`
        : 'the pairing code is wrong, and that was the last try: the window is closed — ask for a new code with `blaze pair`')
    }
    if (window.state !== 'open') throw window.refusal()
    await init.grant(remotePeer, window.role)
    window.succeed(remotePeer)
    admitted = false
    const iv = random(12)
    const welcome: Welcome = { db: Buffer.from(init.dbId, 'hex'), role: window.role, member: localPeer, addrs: init.addresses() }
    await writeFrame(stream, encodeWelcome(keys.memberMac, keys.welcomeKey, keys.transcriptHash, iv, welcome), stepSignal(step, init.signal))
    try { await stream.close({ signal: AbortSignal.timeout(2_000) }) } catch {}
    return remotePeer
  } catch (error) {
    if (admitted) window?.fail()
    await endWith(stream, error as Error)
    throw error
  }
}
