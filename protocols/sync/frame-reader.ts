/**
 * Reads frames off a stream one at a time, with backpressure.
 *
 * libp2p's own async iterator pushes every chunk into an unbounded queue, so a session that
 * is busy (applying a batch, or blocked writing to a peer that never reads) would buffer all
 * that peer sends. Here, instead:
 * 1. Bytes arrive through the stream's `message` events into one byte queue.
 * 2. As soon as the queue holds a complete frame that nobody has asked for yet, the stream is
 *    paused: yamux stops granting window, so the sender stops after at most one receive
 *    window (what arrives meanwhile waits in the stream's own bounded read buffer).
 * 3. `next()` cuts one frame off the queue and decodes it only then (a compressed frame is
 *    inflated when it is handled, never in bulk); once no complete frame is left, reading resumes.
 * So what this side holds is at most one partial frame (≤ the frame limit) plus one receive
 * window: `buffered` and `peak` report it (bytes).
 */
import type { Stream } from '@libp2p/interface'
import { decodeFrame, frameLength, type Frame } from '../../engine/codec/index.ts'

/** The part of a libp2p 3.x stream the reader needs. */
export type ReadableFrameStream = Pick<Stream, 'addEventListener' | 'removeEventListener' | 'pause' | 'resume' | 'readBufferLength'>

/** a frame header is at most this long (magic, version, flags, type, varint lengths, CRC32) */
const MAX_HEADER_BYTES = 17

export interface ReadFrame {
  frame: Frame
  /** bytes the frame took on the wire */
  wireBytes: number
}

export class FrameReader {
  private readonly chunks: Uint8Array[] = []
  private bufferedBytes = 0
  private peakBytes = 0
  private paused = false
  /** inside stream.resume(): it dispatches held bytes before it re-opens the window */
  private resuming = false
  private pauseAfterResume = false
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private readonly detach: () => void
  private readonly stream: ReadableFrameStream
  private readonly maxFrameBytes: number
  private readonly onBytes: (n: number) => void

  constructor (stream: ReadableFrameStream, maxFrameBytes: number, onBytes: (n: number) => void = () => {}) {
    this.stream = stream
    this.maxFrameBytes = maxFrameBytes
    this.onBytes = onBytes
    const onMessage = (e: { data: Uint8Array | { subarray: () => Uint8Array } }): void => {
      const bytes = e.data instanceof Uint8Array ? e.data : e.data.subarray()
      if (bytes.length === 0) return
      this.onBytes(bytes.length)
      this.chunks.push(bytes)
      this.bufferedBytes += bytes.length
      if (this.bufferedBytes > this.peakBytes) this.peakBytes = this.bufferedBytes
      if (!this.paused && this.frameWaiting()) this.pause()
      this.notify()
    }
    const onEnd = (): void => { this.ended = true; this.notify() }
    const onClose = (e: Event): void => {
      const error = (e as Event & { error?: Error }).error
      if (error !== undefined) this.failure = error
      else if (this.stream.readBufferLength > 0) this.resume() // flush what waited while paused
      onEnd()
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    this.detach = () => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
    }
  }

  /** The error the stream ended with, if it was reset or aborted. */
  get error (): Error | undefined { return this.failure }

  /** Bytes received and not yet handed out as frames. */
  get buffered (): number { return this.bufferedBytes }
  /** The most `buffered` has ever been. */
  get peak (): number { return this.peakBytes }

  /**
   * The next frame, or undefined once the stream has ended. Throws the codec's error for a
   * malformed or oversized frame, or the stream's error if it was reset.
   */
  async next (): Promise<ReadFrame | undefined> {
    for (;;) {
      const length = this.completeLength()
      if (length !== undefined) {
        const bytes = this.shift(length)
        if (this.completeLength() === undefined) this.resume()
        return { frame: decodeFrame(bytes, { maxPayloadBytes: this.maxFrameBytes }), wireBytes: length }
      }
      if (this.failure !== undefined) throw this.failure
      if (this.ended) return undefined
      this.resume()
      await new Promise<void>((resolve) => { this.wake = resolve })
    }
  }

  /** Stops listening (the session is over). */
  stop (): void {
    this.detach()
    this.chunks.length = 0
    this.bufferedBytes = 0
    this.ended = true
    this.notify()
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private pause (): void {
    this.paused = true
    // libp2p's resume() dispatches what it held, then tells yamux to grant window again: a
    // pause from inside that dispatch would be undone at once (the stream reads as paused
    // while yamux keeps granting window, and its read buffer overflows), so it waits
    if (this.resuming) {
      this.pauseAfterResume = true
      return
    }
    try { this.stream.pause() } catch {} // closing: nothing more will come anyway
  }

  private resume (): void {
    if (!this.paused) return
    this.paused = false
    this.resuming = true
    try { this.stream.resume() } catch {} finally { this.resuming = false }
    if (this.pauseAfterResume) {
      this.pauseAfterResume = false
      if (this.paused) try { this.stream.pause() } catch {}
    }
  }

  /** A complete (or bad: next() will throw) frame is at the head of the queue. */
  private frameWaiting (): boolean {
    try {
      return this.completeLength() !== undefined
    } catch {
      return true
    }
  }

  /** Length of the frame at the head of the queue if it is all here; throws on a bad or oversized header. */
  private completeLength (): number | undefined {
    if (this.bufferedBytes === 0) return undefined
    const length = frameLength(this.peek(MAX_HEADER_BYTES), 0, { maxPayloadBytes: this.maxFrameBytes })
    return length !== undefined && this.bufferedBytes >= length ? length : undefined
  }

  private peek (n: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n)
    return this.copy(Math.min(n, this.bufferedBytes), false)
  }

  private shift (n: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length === n) {
      this.chunks.shift()
      this.bufferedBytes -= n
      return first
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n)
      this.bufferedBytes -= n
      return first.subarray(0, n)
    }
    return this.copy(n, true)
  }

  private copy (n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let at = 0
    let i = 0
    while (at < n) {
      const c = this.chunks[i]!
      const take = Math.min(c.length, n - at)
      out.set(c.subarray(0, take), at)
      at += take
      if (consume) {
        if (take === c.length) this.chunks.shift()
        else this.chunks[0] = c.subarray(take)
      } else {
        i++
      }
    }
    if (consume) this.bufferedBytes -= n
    return out
  }
}
