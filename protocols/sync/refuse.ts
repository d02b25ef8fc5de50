/**
 * Refusing a sync stream before any session runs on it (e.g. the peer opened too many
 * sessions): one ERROR frame with the wire code, then the stream closes — reset if the peer
 * does not take the frame within `closeTimeoutMs`.
 *
 * Our side closes only once the peer has spoken (its HELLO) or ended: a write-close that
 * reaches the dialler while it is still inside protocol negotiation makes libp2p fail its
 * dial with a StreamStateError instead of showing it our ERROR frame.
 */
import { CLOSE_TIMEOUT_MS, type WireErrorCode } from './constants.ts'
import type { SyncProtocolError } from './errors.ts'
import { encodeError } from './messages.ts'
import type { SyncStream } from './session.ts'

export async function refuseSession (stream: SyncStream, error: SyncProtocolError, closeTimeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
  const signal = AbortSignal.timeout(closeTimeoutMs)
  try {
    stream.send(encodeError(error.wireCode as WireErrorCode, error.message))
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.removeEventListener('message', done)
        stream.removeEventListener('close', done)
        stream.removeEventListener('remoteCloseWrite', done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      stream.addEventListener('message', done)
      stream.addEventListener('close', done)
      stream.addEventListener('remoteCloseWrite', done)
      signal.addEventListener('abort', done)
    })
    await stream.close({ signal })
    // the ERROR frame has left: don't keep a stream open for a peer we refused
    stream.abort(error)
  } catch {
    stream.abort(error)
  }
}
