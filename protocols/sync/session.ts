/**
 * One sync session: one stream with one peer, both directions.
 *
 * Invariants:
 * 1. The first frame each way is HELLO; anything else first, a different database id or an
 *    unsupported version ends the session with a coded ERROR frame.
 * 2. What we send is read from the log (`changeBatches(sent)`) one batch at a time, and the
 *    next batch is read only after the stream has drained: a slow peer costs one batch of
 *    memory, never a queue.
 * 3. `sent` only grows, except on NEED (the peer refused a gap) where it is reset to the
 *    peer's vector; `sent` also absorbs what the peer evidently has (its HELLO, ACKs, and
 *    every batch it sends us), so changes are never echoed back to where they came from.
 * 4. Every new change in the database (local or from another peer) whose seq is beyond
 *    `sent` wakes the pump: that is how changes cross multi-hop paths.
 * 5. Received batches are applied one at a time, in order (the engine verifies each:
 *    chain, signature, membership, drift); rejections are reported, never applied; after each
 *    batch an ACK carries our vector.
 * 6. Reading applies backpressure (frame-reader.ts): one frame is read, handled, then the
 *    next; while one is handled the stream is paused, so the peer's receive window stops it.
 * 7. The reader never waits on our writes (sender.ts): ACK/NEED go out at once when the
 *    stream can take them, else the latest one waits (coalesced, one frame). Only the pump
 *    waits for the stream to empty. A send buffer that makes no progress for `sendTimeoutMs`
 *    means the peer is not reading: the session ends with SyncStalledError, the stream is reset.
 * 8. Frames and bytes are charged to the peer's buckets (rate-limit.ts), shared by all its
 *    streams; an empty bucket pauses reading until it refills.
 */
import type { Stream } from '@libp2p/interface'
import type { Frame } from '../../engine/codec/index.ts'
import type { ApplyResult, ChangeEvent, Rejection, Replica, VersionVector } from '../../engine/index.ts'
import { mergeVectors } from '../../engine/log/version-vector.ts'
import { BlazeError } from '../../engine/errors.ts'
import { BATCH_BYTES, CLOSE_TIMEOUT_MS, ERROR_CODES, FRAME, FRAMES_PER_SECOND, HELLO_TIMEOUT_MS, MAX_FRAME_BYTES, SEND_TIMEOUT_MS, VERSION, type WireErrorCode } from './constants.ts'
import { decodeError, decodeHello, decodeVector, encodeError, encodeHello } from './messages.ts'
import { RemoteSyncError, SyncProtocolError } from './errors.ts'
import { FrameReader } from './frame-reader.ts'
import { PeerRateLimiter } from './rate-limit.ts'
import { Sender } from './sender.ts'

/** The part of a libp2p 3.x Stream the protocol needs (an in-memory `streamPair` provides it too). */
export type SyncStream = Pick<Stream, 'send' | 'onDrain' | 'close' | 'abort' | 'addEventListener' | 'removeEventListener' | 'pause' | 'resume' | 'readBufferLength' | 'writeBufferLength'>

/** What the protocol needs of the database (the engine's narrow replication seam). */
export type SyncDatabase = Replica

export interface SyncObserver {
  applied?: (result: ApplyResult, peer: string) => void
  rejected?: (rejection: Rejection, peer: string) => void
  /** bytes on the wire, per direction */
  bytes?: (direction: 'in' | 'out', bytes: number) => void
  /** change frames: bytes on the wire and before compression, per direction */
  changeFrame?: (direction: 'in' | 'out', wireBytes: number, rawBytes: number) => void
  /** the peer's version vector as last learned */
  peerVector?: (peer: string, vv: VersionVector) => void
  /** our send buffer to the peer is full (once per episode): we wait for it to drain */
  sendBlocked?: (peer: string) => void
  /** the peer's rate buckets are empty: reading pauses for `waitMs` */
  throttled?: (peer: string, waitMs: number) => void
}

export interface SyncSessionInit {
  db: SyncDatabase
  stream: SyncStream
  /** the remote peer id (authenticated by the transport) */
  remotePeer: string
  observer?: SyncObserver
  maxFrameBytes?: number
  batchBytes?: number
  helloTimeoutMs?: number
  /** the peer's rate buckets, shared by all its sessions (one limiter per node); default: a private one */
  limiter?: PeerRateLimiter
  /** frames per second of the private limiter when no `limiter` is given; default 2,000 */
  maxFramesPerSecond?: number
  /** clock of the private limiter */
  now?: () => number
  /** ms our send buffer may stay full before the peer counts as not reading; default 30 s */
  sendTimeoutMs?: number
  /** ms a close waits for our buffered bytes to leave before the stream is reset; default 5 s */
  closeTimeoutMs?: number
  /** lets a non-member sync anyway (a device inside an open pairing window) */
  allowPeer?: (peer: string) => boolean
}

export class SyncSession {
  readonly remotePeer: string
  /** resolves when the session has ended (rejects never); `error` tells why if it failed */
  readonly done: Promise<void>
  error: Error | undefined
  private readonly db: SyncDatabase
  private readonly stream: SyncStream
  private readonly observer: SyncObserver
  private readonly batchBytes: number
  private readonly maxFrameBytes: number
  private readonly limiter: PeerRateLimiter
  private readonly closeTimeoutMs: number
  private reader: FrameReader | undefined
  private readonly sender: Sender
  private throttleTimer: NodeJS.Timeout | undefined
  private wakeThrottle: (() => void) | undefined
  private sent: VersionVector = {}
  private peerVv: VersionVector = {}
  private helloSeen = false
  private closed = false
  private pumping = false
  private dirty = false
  private scheduled = false
  private unsubscribe: (() => void) | undefined
  private readonly allowPeer: ((peer: string) => boolean) | undefined

  constructor (init: SyncSessionInit) {
    this.db = init.db
    this.stream = init.stream
    this.remotePeer = init.remotePeer
    this.observer = init.observer ?? {}
    this.batchBytes = init.batchBytes ?? BATCH_BYTES
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.limiter = init.limiter ?? new PeerRateLimiter({ framesPerSecond: init.maxFramesPerSecond ?? FRAMES_PER_SECOND, ...(init.now === undefined ? {} : { now: init.now }) })
    this.closeTimeoutMs = init.closeTimeoutMs ?? CLOSE_TIMEOUT_MS
    this.sender = new Sender({
      stream: this.stream,
      remotePeer: this.remotePeer,
      sendTimeoutMs: init.sendTimeoutMs ?? SEND_TIMEOUT_MS,
      onBytes: (n) => this.observer.bytes?.('out', n),
      onBlocked: () => this.observer.sendBlocked?.(this.remotePeer),
      // a stall, or the stream is gone: end with the reason the stream closed, if it did
      onFailure: (error) => { this.reset(this.reader?.error ?? error) }
    })
    this.allowPeer = init.allowPeer
    this.done = this.run(init.helloTimeoutMs ?? HELLO_TIMEOUT_MS)
  }

  /** The peer's version vector as far as this session knows. */
  peerVersionVector (): VersionVector { return { ...this.peerVv } }

  /** Read-side bytes held by this session (received, not yet handled) and the most it ever held. */
  readBuffer (): { buffered: number, peak: number } {
    return { buffered: (this.reader?.buffered ?? 0) + this.stream.readBufferLength, peak: this.reader?.peak ?? 0 }
  }

  /** Ends the session (half-closes our side; the peer's side ends the read loop). */
  async close (): Promise<void> {
    if (this.closed) return
    this.finish()
    await this.closeStream()
  }

  private finish (): void {
    this.closed = true
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.reader?.stop()
    this.sender.stop()
    this.wakeThrottle?.()
  }

  /** Half-closes our side, waiting a bounded time for what we buffered to leave; a peer that does not read is reset. */
  private async closeStream (): Promise<void> {
    try {
      await this.stream.close({ signal: AbortSignal.timeout(this.closeTimeoutMs) })
    } catch (error) {
      this.stream.abort(error as Error)
    }
  }

  private async run (helloTimeoutMs: number): Promise<void> {
    const timer = setTimeout(() => {
      if (!this.helloSeen) void this.fail(new SyncProtocolError(`no HELLO from ${this.remotePeer} within ${helloTimeoutMs} ms`, ERROR_CODES.timeout))
    }, helloTimeoutMs)
    timer.unref?.()
    try {
      this.reader = new FrameReader(this.stream, this.maxFrameBytes, (n) => this.observer.bytes?.('in', n))
      this.sender.send(encodeHello({ v: VERSION, db: Buffer.from(this.db.id, 'hex'), vv: this.db.versionVector() }))
      while (!this.closed) {
        let next
        try {
          next = await this.reader.next()
        } catch (cause) {
          if (this.closed) break
          if (!(cause instanceof BlazeError)) throw cause // the stream was reset or aborted
          const tooLarge = cause.code === 'ERR_LIMIT_EXCEEDED'
          throw new SyncProtocolError(`bad frame from ${this.remotePeer}: ${cause.message}`, tooLarge ? ERROR_CODES.tooLarge : ERROR_CODES.malformed, { cause })
        }
        if (next === undefined || this.closed) break
        await this.rateLimit(next.wireBytes)
        if (this.closed) break
        if (next.frame.type === FRAME.changes) this.observer.changeFrame?.('in', next.wireBytes, next.frame.payload.length)
        await this.onFrame(next.frame)
      }
    } catch (error) {
      await this.fail(error as Error)
    } finally {
      clearTimeout(timer)
      const wasOpen = !this.closed
      this.finish()
      // the peer closed its side (or we stopped reading): close ours too, so its session ends
      if (wasOpen) await this.closeStream()
    }
  }

  /** Waits until the peer's shared buckets let this frame through (the reader stays paused meanwhile). */
  private async rateLimit (bytes: number): Promise<void> {
    for (;;) {
      const wait = this.limiter.frameDelay(this.remotePeer, bytes)
      if (wait === 0 || this.closed) return
      this.observer.throttled?.(this.remotePeer, wait)
      await new Promise<void>((resolve) => {
        this.wakeThrottle = resolve
        this.throttleTimer = setTimeout(resolve, wait)
      })
      clearTimeout(this.throttleTimer)
      this.wakeThrottle = undefined
    }
  }

  /** One decision per received frame. */
  private async onFrame (frame: Frame): Promise<void> {
    if (!this.helloSeen && frame.type !== FRAME.hello && frame.type !== FRAME.error) {
      throw new SyncProtocolError(`${this.remotePeer} sent frame type ${frame.type} before HELLO`, ERROR_CODES.protocol)
    }
    switch (frame.type) {
      case FRAME.hello: return this.onHello(frame.payload)
      case FRAME.changes: return await this.onChanges(frame.payload)
      case FRAME.ack: {
        this.learn(decodeVector(frame.payload, 'ACK'))
        return
      }
      case FRAME.need: {
        // the peer refused a gap: resend from what it really has
        const vv = this.known(decodeVector(frame.payload, 'NEED'))
        this.sent = { ...vv }
        this.peerVv = { ...vv }
        this.schedulePump()
        return
      }
      case FRAME.error: {
        const { code, message } = decodeError(frame.payload)
        this.error = new RemoteSyncError(`${this.remotePeer} ended sync: ${message}`, code)
        this.finish()
        return
      }
      default:
        throw new SyncProtocolError(`${this.remotePeer} sent unknown frame type ${frame.type}`, ERROR_CODES.protocol)
    }
  }

  private onHello (payload: Uint8Array): void {
    if (this.helloSeen) throw new SyncProtocolError(`${this.remotePeer} sent a second HELLO`, ERROR_CODES.protocol)
    const hello = decodeHello(payload)
    if (hello.v !== VERSION) throw new SyncProtocolError(`${this.remotePeer} speaks sync version ${hello.v}, this node ${VERSION}; upgrade the older node`, ERROR_CODES.badVersion)
    if (Buffer.from(hello.db).toString('hex') !== this.db.id) {
      throw new SyncProtocolError(`${this.remotePeer} is on database ${Buffer.from(hello.db).toString('hex')}, not ${this.db.id}`, ERROR_CODES.wrongDatabase)
    }
    // only members may sync; a replica that has not yet received any membership (it just
    // joined) talks to anyone on its database and lets the engine verify what arrives
    const known = this.db.members.list().length > 0
    if (known && this.db.members.roleOf(this.remotePeer) === null && !(this.allowPeer?.(this.remotePeer) ?? false)) {
      throw new SyncProtocolError(`${this.remotePeer} is not a member of database ${this.db.id}; an owner or admin must add it first`, ERROR_CODES.notAMember)
    }
    this.helloSeen = true
    this.learn(hello.vv)
    this.unsubscribe = this.db.subscribe((event) => this.onLocalChange(event))
    this.schedulePump()
  }

  private async onChanges (payload: Uint8Array): Promise<void> {
    const result = await this.db.applyChangeBatch(payload)
    this.observer.applied?.(result, this.remotePeer)
    for (const r of result.rejected) this.observer.rejected?.(r, this.remotePeer)
    // the sender has everything it sent, refused or not: never send it back
    this.learn(result.seen)
    this.sender.control(result.rejected.some((r) => r.error.name === 'SequenceGapError') ? FRAME.need : FRAME.ack, this.db.versionVector())
  }

  private learn (vv: VersionVector): void {
    vv = this.known(vv)
    this.peerVv = mergeVectors(this.peerVv, vv)
    this.sent = mergeVectors(this.sent, vv)
    this.observer.peerVector?.(this.remotePeer, this.peerVv)
  }

  /**
   * Only authors we hold changes of, or members: a peer's vectors naming made-up authors
   * (ACK after ACK) would otherwise grow `sent` and `peerVv` without bound.
   */
  private known (vv: VersionVector): VersionVector {
    const ours = this.db.versionVector()
    const out: VersionVector = {}
    for (const [author, seq] of Object.entries(vv) as Array<[keyof VersionVector, number]>) {
      if (ours[author] !== undefined || this.isMember(author)) out[author] = seq
    }
    return out
  }

  private isMember (author: string): boolean {
    try {
      return this.db.members.roleOf(author) !== null
    } catch {
      return false // not even a peer id
    }
  }

  private onLocalChange (event: ChangeEvent): void {
    if ((this.sent[event.author] ?? 0) < event.seq) this.schedulePump()
  }

  private schedulePump (): void {
    this.dirty = true
    if (this.pumping || this.scheduled || this.closed) return
    this.scheduled = true
    // let a burst of writes land first, so it travels as one batch
    setImmediate(() => {
      this.scheduled = false
      void this.pump()
    })
  }

  private async pump (): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false
        for (;;) {
          if (this.closed) return
          const [batch] = this.db.changeBatches(this.sent, { maxBytes: this.batchBytes })
          if (batch === undefined) break
          this.sent = mergeVectors(this.sent, batch.upTo)
          this.observer.changeFrame?.('out', batch.frame.length, batch.rawBytes)
          await this.sender.write(batch.frame)
        }
      }
    } catch (error) {
      await this.fail(error as Error)
    } finally {
      this.pumping = false
    }
  }

  /** Ends the session at once and resets the stream (nothing more can be sent to this peer). */
  private reset (error: Error): void {
    if (this.closed) return
    this.error = error
    this.finish()
    this.stream.abort(error)
  }

  private async fail (error: Error): Promise<void> {
    if (this.closed) return
    this.error = error
    const code: WireErrorCode = error instanceof SyncProtocolError ? error.wireCode as WireErrorCode : ERROR_CODES.protocol
    try {
      this.stream.send(encodeError(code, error.message))
      this.finish()
      await this.stream.close({ signal: AbortSignal.timeout(this.closeTimeoutMs) })
      // the ERROR frame is flushed; don't wait for a misbehaving peer to close its side
      this.stream.abort(error)
    } catch {
      this.finish()
      this.stream.abort(error)
    }
  }
}
