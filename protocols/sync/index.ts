/**
 * `/blazedb/sync/1.0.0`: version-vector handshake, delta catch-up both ways, live push of
 * every new change, acks. Runs over any libp2p 3.x message stream (`send`/`onDrain`, `message`
 * events, `pause`/`resume`), so tests drive it over in-memory stream pairs as well as real connections.
 *
 * Against a hostile peer: reading is one frame at a time with the stream paused meanwhile
 * (frame-reader.ts), so what a peer can make us hold is one frame plus one receive window;
 * our writes never hold up our reads; a peer that stops reading is reset after the send
 * timeout (SyncStalledError); frames, bytes and new sessions are limited per peer across
 * all its streams (rate-limit.ts; a refused session gets RATE_LIMITED, refuse.ts).
 *
 * `syncService` is the same protocol as a libp2p service (registers its handler on start,
 * removes it on stop, opens sessions on request; the node composes it).
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
export { SyncProtocolError, SyncStalledError, SyncRateLimitedError, RemoteSyncError, InvalidSyncOptionError, SyncServiceNotStartedError } from './errors.ts'
export { PeerRateLimiter, TokenBucket } from './rate-limit.ts'
export type { PeerRateLimits, PeerRateStats } from './rate-limit.ts'
export { refuseSession } from './refuse.ts'
