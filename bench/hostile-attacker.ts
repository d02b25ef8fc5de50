/**
 * The hostile member of bench/hostile.ts, in a process of its own (so the node's RSS is the
 * node's alone). Dials the node's sync protocol, never reads (the stream is paused), asks
 * for everything (HELLO with an empty vector), then sends `flood` bytes of replayed change
 * batches as fast as the node takes them. Prints one JSON line when done, then waits for
 * the node to reset the stream.
 *
 * argv: path of a JSON file { addr, dbId, seed (hex), replay (path of the frame), flood }
 */
import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { identityFromSeed } from '../engine/crypto/identity.ts'
import { createHost } from '../node/host.ts'
import { PROTOCOL } from '../protocols/sync/index.ts'
import { encodeHello } from '../protocols/sync/messages.ts'

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { addr: string, dbId: string, seed: string, replay: string, flood: number }
const replay = new Uint8Array(readFileSync(job.replay))
const identity = identityFromSeed(new Uint8Array(Buffer.from(job.seed, 'hex')))
const host = await createHost({ identity, dbId: job.dbId, listen: [], bootstrap: [], mdns: false, allowPeer: () => true })
const stream = await host.dialProtocol(multiaddr(job.addr), PROTOCOL)
stream.pause()
stream.send(encodeHello({ v: 1, db: Buffer.from(job.dbId, 'hex'), vv: {} }))
const started = Date.now()
let sent = 0
while (sent < job.flood && stream.status === 'open') {
  stream.send(replay)
  sent += replay.length
  if (stream.writeBufferLength > 0) {
    await new Promise<void>((resolve) => {
      const done = (): void => { stream.removeEventListener('idle', done); stream.removeEventListener('close', done); resolve() }
      stream.addEventListener('idle', done)
      stream.addEventListener('close', done)
    })
  }
}
process.stdout.write(JSON.stringify({ sent, ms: Date.now() - started, status: stream.status }) + '\n')
if (stream.status === 'open') {
  await new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }) })
}
process.stdout.write(JSON.stringify({ closed: stream.status, ms: Date.now() - started }) + '\n')
await host.stop()
