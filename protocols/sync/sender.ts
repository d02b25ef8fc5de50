/**
 * The send side of a sync session, independent of its read side.
 *
 * 1. `send()` never waits: it hands bytes to the stream; a full stream buffer starts one
 *    bounded wait for it to empty (`blocked`).
 * 2. `control()` (ACK/NEED, sent by the reader after each batch) goes out at once when the
 *    stream can take it; while blocked only the latest one is kept, so a peer that does not
 *    read costs one small frame here, never a queue — and the reader never waits on us.
 * 3. `write()` is the pump's path: it waits while blocked, then sends one batch.
 * 4. A blocked stream whose buffer makes no progress for `sendTimeoutMs` means the peer is
 *    not reading: `onFailure(SyncStalledError)`. A 'drain' event alone proves nothing: the
 *    muxer sends one to every stream when the connection drains, even to a stream whose peer
 *    grants no window — progress is measured on the stream's own buffer.
 */
import type { VersionVector } from '../../engine/index.ts'
import { FRAME } from './constants.ts'
import { SyncStalledError } from './errors.ts'
import { encodeVector } from './messages.ts'
import type { SyncStream } from './session.ts'

type ControlType = typeof FRAME.ack | typeof FRAME.need

export interface SenderInit {
  stream: SyncStream
  remotePeer: string
  sendTimeoutMs: number
  onBytes: (n: number) => void
  /** the stream filled up (once per episode) */
  onBlocked: () => void
  /** the peer stalled, or the stream is gone: the session must end */
  onFailure: (error: Error) => void
}

export class Sender {
  private readonly init: SenderInit
  /** set while the stream's buffer is full; resolves (never rejects) once it emptied or failed */
  private blocked: Promise<void> | undefined
  private pendingControl: { type: ControlType, vv: VersionVector } | undefined
  private stopped = false

  constructor (init: SenderInit) {
    this.init = init
  }

  stop (): void { this.stopped = true }

  /** Hands bytes to the stream without waiting. */
  send (bytes: Uint8Array): void {
    if (this.stopped) return
    this.init.onBytes(bytes.length)
    let ok: boolean
    try {
      ok = this.init.stream.send(bytes)
    } catch (error) {
      this.init.onFailure(error as Error) // reset, or its read buffer overflowed
      return
    }
    if (!ok) this.waitForEmpty()
  }

  /** Waits while the stream is full, then sends. */
  async write (bytes: Uint8Array): Promise<void> {
    while (this.blocked !== undefined && !this.stopped) await this.blocked
    this.send(bytes)
  }

  /** An ACK or NEED with our vector now, or the latest one once the stream has room. */
  control (type: ControlType, vv: VersionVector): void {
    if (this.blocked === undefined) {
      this.send(encodeVector(type, vv))
      return
    }
    // a NEED still pending must not turn into an ACK: the peer would not resend
    this.pendingControl = { type: this.pendingControl?.type === FRAME.need ? FRAME.need : type, vv }
  }

  private waitForEmpty (): void {
    if (this.blocked !== undefined) return
    this.init.onBlocked()
    this.blocked = this.writtenOut().then(() => {
      this.blocked = undefined
      const pending = this.pendingControl
      this.pendingControl = undefined
      if (pending !== undefined) this.send(encodeVector(pending.type, pending.vv))
    }, (error: Error) => {
      this.blocked = undefined
      this.init.onFailure(error)
    })
  }

  /** Resolves once the stream's buffer is empty (or the stream closed); rejects with SyncStalledError on no progress. */
  private async writtenOut (): Promise<void> {
    const { stream, sendTimeoutMs, remotePeer } = this.init
    await new Promise<void>((resolve, reject) => {
      let left = stream.writeBufferLength
      let timer: NodeJS.Timeout
      const done = (error?: Error): void => {
        clearTimeout(timer)
        stream.removeEventListener('idle', onIdle)
        stream.removeEventListener('drain', onDrain)
        stream.removeEventListener('close', onIdle)
        if (error === undefined) resolve()
        else reject(error)
      }
      const arm = (): void => {
        clearTimeout(timer)
        timer = setTimeout(() => { done(new SyncStalledError(`${remotePeer} read nothing we sent for ${sendTimeoutMs} ms; the session is reset (it may reconnect once it reads again)`)) }, sendTimeoutMs)
      }
      const onIdle = (): void => { done() } // all sent, or the stream closed (the reader ends the session)
      const onDrain = (): void => {
        // the stream re-runs its send queue in a microtask queued before this one
        queueMicrotask(() => {
          const now = stream.writeBufferLength
          if (now === 0) { done(); return }
          if (now < left) { left = now; arm() } // a slow reader is not a stalled one
        })
      }
      if (left === 0) { resolve(); return }
      stream.addEventListener('idle', onIdle)
      stream.addEventListener('drain', onDrain)
      stream.addEventListener('close', onIdle)
      arm()
    })
  }
}
