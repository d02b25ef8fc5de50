/**
 * Rates per peer, shared by all of a peer's streams and sessions: a peer that opens new
 * streams gets no fresh allowance, and one that reopens sessions in a loop is refused.
 *
 * - frames and bytes: a token bucket each; a frame is handled only while both hold tokens
 *   (a large frame may take the byte bucket into debt, so no frame is ever too big to pass).
 *   An empty bucket does not cut the peer off: the session stops reading until the bucket
 *   has refilled, so the stream's receive window stops the sender (backpressure).
 * - sessions: a bucket of `sessionsPerMinute`; a new inbound session finding it empty is
 *   refused with the RATE_LIMITED error frame. A normal reconnect after a drop uses one token.
 *
 * The clock is injected (`now`), so tests drive the buckets exactly.
 *
 * @example
 * const limiter = new PeerRateLimiter({ framesPerSecond: 100, now: () => fakeTime })
 * limiter.admitSession(peer)          // true while the peer has session tokens
 * limiter.frameDelay(peer, 1024)      // 0: handle the frame now; otherwise ms to wait
 */
import {
  BYTES_PER_SECOND, FRAMES_PER_SECOND, SESSIONS_PER_MINUTE, FRAME_BURST_SECONDS, MAX_TRACKED_PEERS
} from './constants.ts'

/** A token bucket: `capacity` tokens, refilled at `perSecond`, read against an injected clock. */
export class TokenBucket {
  readonly capacity: number
  readonly perSecond: number
  private readonly now: () => number
  private tokens: number
  private at: number
  constructor (capacity: number, perSecond: number, now: () => number) {
    this.capacity = capacity
    this.perSecond = perSecond
    this.now = now
    this.tokens = capacity
    this.at = now()
  }

  private refill (): void {
    const t = this.now()
    if (t > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.at) * this.perSecond / 1000)
    }
    this.at = t
  }

  /** Tokens now (may be negative after a large take). */
  level (): number {
    this.refill()
    return this.tokens
  }

  /** Takes `n` if any token is left (the bucket may go into debt); else false. */
  take (n: number): boolean {
    this.refill()
    if (this.tokens <= 0) return false
    this.tokens -= n
    return true
  }

  /** ms until a token is available again (0 if one is now). */
  waitMs (): number {
    const level = this.level()
    return level > 0 ? 0 : Math.ceil((1 - level) * 1000 / this.perSecond)
  }

  full (): boolean { return this.level() >= this.capacity }
}

export interface PeerRateLimits {
  /** frames per second accepted from one peer, across all its streams; default 2,000 (burst: 2 s worth) */
  framesPerSecond?: number
  /** bytes per second accepted from one peer, across all its streams; default 32 MiB (burst: 1 s worth) */
  bytesPerSecond?: number
  /** new inbound sync sessions per minute from one peer (also the burst); default 10 */
  sessionsPerMinute?: number
  /** injectable clock (ms); default Date.now */
  now?: () => number
}

interface PeerBuckets { frames: TokenBucket, bytes: TokenBucket, sessions: TokenBucket }

export interface PeerRateStats {
  /** frames let through, per peer */
  frames: number
  /** times a session had to wait for the peer's buckets */
  throttled: number
  /** sessions refused */
  refused: number
}

/** The buckets of every peer; one instance per node, handed to every session. */
export class PeerRateLimiter {
  readonly framesPerSecond: number
  readonly bytesPerSecond: number
  readonly sessionsPerMinute: number
  readonly now: () => number
  private readonly peers = new Map<string, PeerBuckets>()
  private readonly counts = new Map<string, PeerRateStats>()

  constructor (limits: PeerRateLimits = {}) {
    this.framesPerSecond = limits.framesPerSecond ?? FRAMES_PER_SECOND
    this.bytesPerSecond = limits.bytesPerSecond ?? BYTES_PER_SECOND
    this.sessionsPerMinute = limits.sessionsPerMinute ?? SESSIONS_PER_MINUTE
    this.now = limits.now ?? Date.now
  }

  private buckets (peer: string): PeerBuckets {
    let b = this.peers.get(peer)
    if (b === undefined) {
      this.forgetIdle()
      b = {
        frames: new TokenBucket(this.framesPerSecond * FRAME_BURST_SECONDS, this.framesPerSecond, this.now),
        bytes: new TokenBucket(this.bytesPerSecond, this.bytesPerSecond, this.now),
        sessions: new TokenBucket(this.sessionsPerMinute, this.sessionsPerMinute / 60, this.now)
      }
      this.peers.set(peer, b)
    }
    return b
  }

  private stat (peer: string): PeerRateStats {
    let s = this.counts.get(peer)
    if (s === undefined) {
      s = { frames: 0, throttled: 0, refused: 0 }
      this.counts.set(peer, s)
    }
    return s
  }

  /** Keeps the table bounded: peers whose buckets are all full again are forgotten (they hold no debt). */
  private forgetIdle (): void {
    if (this.peers.size < MAX_TRACKED_PEERS) return
    for (const [peer, b] of this.peers) {
      if (b.frames.full() && b.bytes.full() && b.sessions.full()) {
        this.peers.delete(peer)
        this.counts.delete(peer)
      }
    }
  }

  /** A new inbound session from `peer`: true if admitted (one session token taken). */
  admitSession (peer: string): boolean {
    const b = this.buckets(peer)
    if (b.sessions.level() >= 1) {
      b.sessions.take(1)
      return true
    }
    this.stat(peer).refused++
    return false
  }

  /**
   * A frame of `bytes` from `peer` is about to be handled: 0 if both buckets let it through
   * (tokens taken), else the ms to wait before asking again (nothing taken).
   */
  frameDelay (peer: string, bytes: number): number {
    const b = this.buckets(peer)
    const wait = Math.max(b.frames.waitMs(), b.bytes.waitMs())
    if (wait > 0) {
      this.stat(peer).throttled++
      return wait
    }
    b.frames.take(1)
    b.bytes.take(bytes)
    this.stat(peer).frames++
    return 0
  }

  stats (peer: string): PeerRateStats { return { ...this.stat(peer) } }
}
