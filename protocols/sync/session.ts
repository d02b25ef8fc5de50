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
 */
import { FrameDecoder, type Frame } from '../../engine/codec/index.ts'
import type { ApplyResult, ChangeEvent, Rejection, Replica, VersionVector } from '../../engine/index.ts'
import { mergeVectors } from '../../engine/log/version-vector.ts'
import { BlazeError } from '../../engine/errors.ts'
import { BATCH_BYTES, ERROR_CODES, FRAME, HELLO_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_FRAMES_PER_SECOND, VERSION, type WireErrorCode } from './constants.ts'
import { decodeError, decodeHello, decodeVector, encodeError, encodeHello, encodeVector } from './messages.ts'
import { RemoteSyncError, SyncProtocolError } from './errors.ts'

/** The part of a libp2p 3.x Stream the protocol needs (an in-memory pair can provide it too). */
export interface SyncStream extends AsyncIterable<Uint8Array | { subarray: () => Uint8Array }> {
  send (data: Uint8Array): boolean
  onDrain (options?: { signal?: AbortSignal }): Promise<void>
  close (): Promise<void>
  abort (err: Error): void
}

/** What the protocol needs of the database (the engine's narrow replication seam). */
export type SyncDatabase = Replica

export interface SyncObserver {
  applied?: (result: ApplyResult, peer: string) => void
  rejected?: (rejection: Rejection, peer: string) => void
  /** bytes on the wire, per direction */
  bytes?: (direction: 'in' | 'out', bytes: number) => void
  /** the peer's version vector as last learned */
  peerVector?: (peer: string, vv: VersionVector) => void
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
  maxFramesPerSecond?: number
  now?: () => number
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
  private readonly maxFramesPerSecond: number
  private readonly now: () => number
  private sent: VersionVector = {}
  private peerVv: VersionVector = {}
  private helloSeen = false
  private closed = false
  private pumping = false
  private dirty = false
  private scheduled = false
  private unsubscribe: (() => void) | undefined
  private window = { start: 0, frames: 0 }
  private readonly allowPeer: ((peer: string) => boolean) | undefined

  constructor (init: SyncSessionInit) {
    this.db = init.db
    this.stream = init.stream
    this.remotePeer = init.remotePeer
    this.observer = init.observer ?? {}
    this.batchBytes = init.batchBytes ?? BATCH_BYTES
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES
    this.maxFramesPerSecond = init.maxFramesPerSecond ?? MAX_FRAMES_PER_SECOND
    this.now = init.now ?? Date.now
    this.allowPeer = init.allowPeer
    this.done = this.run(init.helloTimeoutMs ?? HELLO_TIMEOUT_MS)
  }

  /** The peer's version vector as far as this session knows. */
  peerVersionVector (): VersionVector { return { ...this.peerVv } }

  /** Ends the session (half-closes our side; the peer's side ends the read loop). */
  async close (): Promise<void> {
    if (this.closed) return
    this.finish()
    try { await this.stream.close() } catch {}
  }

  private finish (): void {
    this.closed = true
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  private async run (helloTimeoutMs: number): Promise<void> {
    const timer = setTimeout(() => {
      if (!this.helloSeen) void this.fail(new SyncProtocolError(`no HELLO from ${this.remotePeer} within ${helloTimeoutMs} ms`, ERROR_CODES.timeout))
    }, helloTimeoutMs)
    timer.unref?.()
    try {
      await this.write(encodeHello({ v: VERSION, db: Buffer.from(this.db.id, 'hex'), vv: this.db.versionVector() }))
      const decoder = new FrameDecoder({ maxPayloadBytes: this.maxFrameBytes })
      for await (const chunk of this.stream) {
        if (this.closed) break
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        this.observer.bytes?.('in', bytes.length)
        let frames: Frame[]
        try {
          frames = decoder.push(bytes)
        } catch (cause) {
          const tooLarge = cause instanceof BlazeError && cause.code === 'ERR_LIMIT_EXCEEDED'
          throw new SyncProtocolError(`bad frame from ${this.remotePeer}: ${(cause as Error).message}`, tooLarge ? ERROR_CODES.tooLarge : ERROR_CODES.malformed, { cause })
        }
        for (const frame of frames) {
          this.rateLimit()
          await this.onFrame(frame)
          if (this.closed) break
        }
      }
    } catch (error) {
      await this.fail(error as Error)
    } finally {
      clearTimeout(timer)
      const wasOpen = !this.closed
      this.finish()
      // the peer closed its side (or we stopped reading): close ours too, so its session ends
      if (wasOpen) {
        try { await this.stream.close() } catch { this.stream.abort(new Error('sync session ended')) }
      }
    }
  }

  private rateLimit (): void {
    const t = this.now()
    if (t - this.window.start >= 1000) this.window = { start: t, frames: 0 }
    if (++this.window.frames > this.maxFramesPerSecond) {
      throw new SyncProtocolError(`${this.remotePeer} sent more than ${this.maxFramesPerSecond} frames in a second`, ERROR_CODES.rateLimited)
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
        const vv = decodeVector(frame.payload, 'NEED')
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
    if (result.rejected.some((r) => r.error.name === 'SequenceGapError')) {
      await this.write(encodeVector(FRAME.need, this.db.versionVector()))
    } else {
      await this.write(encodeVector(FRAME.ack, this.db.versionVector()))
    }
  }

  private learn (vv: VersionVector): void {
    this.peerVv = mergeVectors(this.peerVv, vv)
    this.sent = mergeVectors(this.sent, vv)
    this.observer.peerVector?.(this.remotePeer, this.peerVv)
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
          await this.write(batch.frame)
        }
      }
    } catch (error) {
      await this.fail(error as Error)
    } finally {
      this.pumping = false
    }
  }

  private async write (bytes: Uint8Array): Promise<void> {
    if (this.closed) return
    this.observer.bytes?.('out', bytes.length)
    if (!this.stream.send(bytes)) await this.stream.onDrain()
  }

  private async fail (error: Error): Promise<void> {
    if (this.closed) return
    this.error = error
    const code: WireErrorCode = error instanceof SyncProtocolError ? error.wireCode as WireErrorCode : ERROR_CODES.protocol
    try {
      this.stream.send(encodeError(code, error.message))
      this.finish()
      await this.stream.close()
      // the ERROR frame is flushed; don't wait for a misbehaving peer to close its side
      this.stream.abort(error)
    } catch {
      this.finish()
      this.stream.abort(error)
    }
  }
}
