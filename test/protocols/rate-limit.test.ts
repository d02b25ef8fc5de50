import assert from 'node:assert/strict'
import { PeerRateLimiter, TokenBucket } from '../../protocols/sync/index.ts'
import { fakeClock } from '../engine/helpers.ts'

describe('per-peer rate limits (injected clock)', () => {
  it('a token bucket refills at its rate, never beyond its capacity, and may go into debt for a large take', () => {
    const clock = fakeClock()
    const b = new TokenBucket(10, 5, clock.now)
    for (let i = 0; i < 10; i++) assert.equal(b.take(1), true)
    assert.equal(b.take(1), false)
    assert.equal(b.waitMs(), 200) // one token at 5/s
    clock.advance(1_000)
    assert.equal(b.level(), 5)
    clock.advance(60_000)
    assert.equal(b.level(), 10)
    assert.equal(b.take(25), true) // a frame larger than the burst still passes, once
    assert.equal(b.level(), -15)
    assert.equal(b.waitMs(), 3_200)
  })

  it('frames are counted per peer, across all its sessions, and other peers keep their own allowance', () => {
    const clock = fakeClock()
    const limiter = new PeerRateLimiter({ framesPerSecond: 10, now: clock.now }) // burst: 20
    let passed = 0
    for (let i = 0; i < 100; i++) if (limiter.frameDelay('evil', 100) === 0) passed++
    assert.equal(passed, 20)
    assert.ok(limiter.frameDelay('evil', 100) > 0)
    assert.equal(limiter.frameDelay('good', 100), 0)
    clock.advance(1_000)
    passed = 0
    for (let i = 0; i < 100; i++) if (limiter.frameDelay('evil', 100) === 0) passed++
    assert.equal(passed, 10)
    assert.deepEqual(limiter.stats('evil'), { frames: 30, throttled: 171, refused: 0 })
  })

  it('bytes per second hold a peer back once its byte bucket is spent', () => {
    const clock = fakeClock()
    const limiter = new PeerRateLimiter({ bytesPerSecond: 1_000, now: clock.now })
    assert.equal(limiter.frameDelay('p', 1_500), 0) // into debt: -500 bytes
    assert.equal(limiter.frameDelay('p', 1), 501) // until one byte of allowance is back
    clock.advance(500)
    assert.ok(limiter.frameDelay('p', 1) > 0)
    clock.advance(1)
    assert.equal(limiter.frameDelay('p', 1), 0)
  })

  it('sessions per minute: the surplus is refused, a reconnect later is admitted', () => {
    const clock = fakeClock()
    const limiter = new PeerRateLimiter({ sessionsPerMinute: 3, now: clock.now })
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.admitSession('p')), [true, true, true, false])
    assert.equal(limiter.admitSession('q'), true)
    clock.advance(20_000)
    assert.equal(limiter.admitSession('p'), true)
    assert.equal(limiter.admitSession('p'), false)
    assert.equal(limiter.stats('p').refused, 2)
  })
})
