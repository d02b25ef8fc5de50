import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { encodeFrame } from '../../engine/codec/index.ts'
import { FrameReader } from '../../protocols/sync/frame-reader.ts'

describe('frame reader (backpressure, one frame at a time)', () => {
  it('hands out frames one at a time whatever the chunking, and holds at most one frame plus what was in flight', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 1024 * 1024)
    const frames = Array.from({ length: 50 }, (_, i) => encodeFrame(new Uint8Array(1000 + i).fill(i), { type: 17 }))
    const all = Buffer.concat(frames)
    // split mid-header and mid-payload, and many frames in one chunk
    for (const [from, to] of [[0, 5], [5, 1500], [1500, 30_000], [30_000, all.length]] as const) a.send(all.subarray(from, to))
    await a.close()
    for (let i = 0; i < 50; i++) {
      const next = await reader.next()
      assert.ok(next !== undefined)
      assert.equal(next.frame.payload.length, 1000 + i)
      assert.equal(next.frame.payload[0], i)
      assert.equal(next.wireBytes, frames[i]!.length)
    }
    assert.equal(await reader.next(), undefined)
    assert.ok(reader.peak <= all.length)
    assert.equal(reader.buffered, 0)
  })

  it('a frame declaring more than the limit is a typed error before its payload is buffered', async () => {
    const [a, b] = await streamPair()
    const reader = new FrameReader(b, 1024)
    a.send(encodeFrame(new Uint8Array(4096), { type: 17 }).subarray(0, 20))
    await assert.rejects(reader.next(), (e: Error & { code?: string }) => e.code === 'ERR_LIMIT_EXCEEDED')
    a.abort(new Error('done'))
  })
})
