import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HybridClock, hlcCounter, hlcMs, makeHlc } from '../../../engine/clock/index.ts'

describe('HLC', () => {
  it('is strictly monotonic even when the wall clock stands still or goes back', () => {
    let t = 1_000
    const clock = new HybridClock({ now: () => t })
    const a = clock.now()
    const b = clock.now()
    t = 500 // the wall clock jumps back
    const c = clock.now()
    assert.ok(a < b && b < c)
    assert.equal(hlcMs(c), 1_000)
    assert.equal(hlcCounter(c), 2)
    t = 2_000
    const d = clock.now()
    assert.equal(hlcMs(d), 2_000)
    assert.equal(hlcCounter(d), 0)
  })

  it('borrows the next millisecond when the counter is exhausted', () => {
    const clock = new HybridClock({ now: () => 7 })
    let last = clock.now()
    for (let i = 0; i < 70_000; i++) {
      const next = clock.now()
      assert.ok(next > last)
      last = next
    }
    assert.equal(hlcMs(last), 8)
  })

  it('observes remote timestamps within drift and moves past them', () => {
    let t = 10_000
    const clock = new HybridClock({ now: () => t, maxDriftMs: 1_000 })
    assert.equal(clock.observe(makeHlc(10_500, 3)), true)
    const next = clock.now()
    assert.ok(next > makeHlc(10_500, 3))
  })

  it('refuses a remote timestamp beyond the drift: it does not move the clock', () => {
    const t = 10_000
    const clock = new HybridClock({ now: () => t, maxDriftMs: 1_000 })
    assert.equal(clock.withinDrift(makeHlc(11_001, 0)), false)
    assert.equal(clock.observe(makeHlc(50_000, 0)), false)
    assert.equal(hlcMs(clock.now()), 10_000)
  })

  it('orders like (ms, counter) for any values (property)', () => {
    fc.assert(fc.property(fc.nat(2 ** 47), fc.nat(0xffff), fc.nat(2 ** 47), fc.nat(0xffff), (m1, c1, m2, c2) => {
      const a = makeHlc(m1, c1)
      const b = makeHlc(m2, c2)
      assert.equal(a < b, m1 < m2 || (m1 === m2 && c1 < c2))
      assert.equal(hlcMs(a), m1)
      assert.equal(hlcCounter(a), c1)
    }))
  })

  it('rejects out-of-range parts with a typed error', () => {
    assert.throws(() => makeHlc(-1, 0), { name: 'InvalidArgumentError' })
    assert.throws(() => makeHlc(0, 70_000), { name: 'InvalidArgumentError' })
  })
})
