import assert from 'node:assert/strict'
import type { ComponentLogger, Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { open, type Database } from '../../engine/index.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import {
  InvalidSyncOptionError, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, PROTOCOL, SyncService, syncService, SyncServiceNotStartedError,
  type SyncLibp2pComponents
} from '../../protocols/sync/index.ts'
import { createHost, type Host } from '../../node/host.ts'
import { converged } from '../wait.ts'

/** libp2p's components, with a registrar that records what the service asks of it */
function recordingComponents (): SyncLibp2pComponents & { handled: Map<string, StreamHandlerOptions | undefined>, unhandled: string[] } {
  const handled = new Map<string, StreamHandlerOptions | undefined>()
  const unhandled: string[] = []
  const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false, newScope: () => log })
  return {
    handled,
    unhandled,
    registrar: {
      handle: async (protocol: string, _h: (s: Stream, c: Connection) => void, options?: StreamHandlerOptions) => { handled.set(protocol, options) },
      unhandle: async (protocol: string) => { handled.delete(protocol); unhandled.push(protocol) }
    },
    connectionManager: { openStream: async () => { throw new Error('no network here') } },
    logger: { forComponent: () => log } as unknown as ComponentLogger
  }
}

describe('sync as a libp2p service', function () {
  this.timeout(60_000)
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })
  async function db (options: Parameters<typeof open>[0] = {}): Promise<Database> {
    const d = await open(options)
    cleanups.push(async () => { await d.close() })
    return d
  }

  it('start() registers the protocol on limited connections with bounded streams; stop() removes it', async () => {
    const c = recordingComponents()
    const service = syncService({ db: await db() })(c)
    assert.equal(service.isStarted(), false)
    await service.start()
    assert.deepEqual(c.handled.get(PROTOCOL), { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS, runOnLimitedConnection: true })
    assert.ok(service.isStarted())
    await service.stop()
    assert.deepEqual(c.unhandled, [PROTOCOL])
    assert.equal(c.handled.size, 0)

    const custom = syncService({ db: await db(), maxInboundStreams: 1, maxOutboundStreams: 3, runOnLimitedConnection: false })(c)
    await custom.start()
    assert.deepEqual(c.handled.get(PROTOCOL), { maxInboundStreams: 1, maxOutboundStreams: 3, runOnLimitedConnection: false })
    await custom.stop()
  })

  it('refuses out-of-range options with a typed error', async () => {
    const d = await db()
    for (const bad of [{ maxInboundStreams: 0 }, { maxOutboundStreams: -1 }, { openTimeoutMs: Number.NaN }, { batchBytes: 0 }, { maxFramesPerSecond: Infinity }]) {
      assert.throws(() => syncService({ db: d, ...bad })(recordingComponents()), (e: Error) => {
        assert.equal(e.name, 'InvalidSyncOptionError')
        assert.equal((e as InvalidSyncOptionError).code, 'ERR_INVALID_SYNC_OPTION')
        return true
      }, JSON.stringify(bad))
    }
  })

  it('open() before start() is a typed error', async () => {
    const service = syncService({ db: await db() })(recordingComponents())
    const peer = (await createHost({ identity: identityFromSeed(new Uint8Array(32).fill(1)), dbId: '00', listen: [], bootstrap: [], mdns: false, allowPeer: () => true, start: false })).peerId
    await assert.rejects(service.open(peer), (e: Error) => {
      assert.equal(e.name, 'SyncServiceNotStartedError')
      assert.equal((e as SyncServiceNotStartedError).code, 'ERR_SYNC_NOT_STARTED')
      return true
    })
  })

  it('two libp2p hosts composing the service sync over TCP; open() keeps one session per peer; stopping the host ends its sessions', async () => {
    const a = await db()
    const b = await db({ dbId: a.id })
    await a.members.grant(b.peerId, 'writer')
    await b.applyChanges(a.changesSince(b.versionVector()))
    await a.collection('x').insert({ id: 'from-a' })
    await b.collection('x').insert({ id: 'from-b' })
    const host = async (d: Database): Promise<Host<{ sync: SyncService }>> => {
      const h = await createHost({ identity: d.deviceIdentity(), dbId: d.id, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, allowPeer: () => true }, { sync: syncService({ db: d }) })
      cleanups.push(async () => { await h.stop() })
      return h
    }
    const ha = await host(a)
    const hb = await host(b)
    assert.ok(ha.getProtocols().includes(PROTOCOL))
    await ha.peerStore.merge(hb.peerId, { multiaddrs: hb.getMultiaddrs() })
    const started = new Promise<void>((resolve) => { hb.services.sync.addEventListener('session:start', () => resolve(), { once: true }) })
    const session = await ha.services.sync.open(hb.peerId)
    assert.equal(await ha.services.sync.open(hb.peerId), session, 'a second open returns the live session')
    await started
    await converged([a, b])
    assert.deepEqual(ha.services.sync.peers(), [hb.peerId.toString()])
    assert.deepEqual(hb.services.sync.peers(), [ha.peerId.toString()])
    const remote = hb.services.sync.session(ha.peerId.toString())!
    await ha.stop()
    await Promise.all([session.done, remote.done])
    assert.equal(session.error, undefined)
    assert.deepEqual(ha.services.sync.peers(), [])
    assert.ok(!ha.getProtocols().includes(PROTOCOL))
  })
})
