import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { open, type Database } from '../../engine/index.ts'
import { FRAME, SyncSession } from '../../protocols/sync/index.ts'
import { encodeHello, encodeVector } from '../../protocols/sync/messages.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'

describe('sync session against a hostile peer (in-memory stream)', () => {
  const dbs: Database[] = []
  afterEach(async () => { await Promise.all(dbs.splice(0).map(async (d) => await d.close())) })

  it('vectors naming made-up authors do not grow what the session remembers', async () => {
    const a = await open()
    dbs.push(a)
    const evil = identityFromSeed(new Uint8Array(32).fill(9))
    await a.members.grant(evil.peerId, 'writer')
    await a.collection('x').insert({ id: 'one' })
    const [sa, raw] = await streamPair()
    // the last ACK also names our own author: once the session has learned that, all were handled
    let lastAck: () => void = () => {}
    const handled = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('ACKs not handled within 10 s')) }, 10_000)
      lastAck = () => { clearTimeout(timer); resolve() }
    })
    const session = new SyncSession({
      db: a,
      stream: sa,
      remotePeer: evil.peerId,
      observer: { peerVector: (_p, vv) => { if ((vv as Record<string, number>)[a.peerId] === 1) lastAck() } }
    })
    raw.send(encodeHello({ v: 1, db: Buffer.from(a.id, 'hex'), vv: { [evil.peerId]: 3 } as never }))
    for (let k = 0; k < 5; k++) {
      const fake = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`made-up-${k}-${i}`, 1]))
      raw.send(encodeVector(FRAME.ack, (k === 4 ? { ...fake, [a.peerId]: 1 } : fake) as never))
    }
    await handled
    assert.deepEqual(Object.keys(session.peerVersionVector()).sort(), [a.peerId, evil.peerId].sort())
    assert.equal(session.error, undefined)
    await session.close()
    raw.abort(new Error('done'))
    await session.done
  })
})
