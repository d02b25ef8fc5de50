/**
 * `/blazedb/sync/1.0.0`: version-vector handshake, delta catch-up both ways, live push of
 * every new change, acks. `SyncSession` runs over any stream with libp2p 3.x's
 * `send`/`onDrain`/async iteration, so tests drive it over in-memory stream pairs as well as
 * real connections; `syncService` is the same protocol as a libp2p service (registers its
 * handler on start, removes it on stop, opens sessions on request).
 *
 * @example
 * const [a, b] = await streamPair()            // from @libp2p/utils
 * const one = new SyncSession({ db: dbA, stream: a, remotePeer: dbB.peerId })
 * const two = new SyncSession({ db: dbB, stream: b, remotePeer: dbA.peerId })
 * // … both databases converge, and stay converged while both sessions run
 *
 * @example
 * const host = await createLibp2p({ …, services: { sync: syncService({ db }) } })
 * const session = await host.services.sync.open(otherPeerId)
 */
export { SyncSession } from './session.ts'
export type { SyncStream, SyncDatabase, SyncObserver, SyncSessionInit } from './session.ts'
export { SyncService, syncService } from './service.ts'
export type { SyncServiceInit, SyncServiceComponents, SyncLibp2pComponents, SyncRegistrar, SyncStreamOpener, SyncServiceEvents } from './service.ts'
export { PROTOCOL, VERSION, FRAME, ERROR_CODES, MAX_FRAME_BYTES, BATCH_BYTES, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, OPEN_TIMEOUT_MS } from './constants.ts'
export { SyncProtocolError, RemoteSyncError, InvalidSyncOptionError, SyncServiceNotStartedError } from './errors.ts'
