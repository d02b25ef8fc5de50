/**
 * The sync protocol as a libp2p service: `start()` registers the `/blazedb/sync/1.0.0`
 * handler (also on limited, i.e. relayed, connections; bounded streams per connection),
 * `stop()` removes it and closes every session. Each inbound stream and each `open(peer)`
 * runs one `SyncSession`; the service keeps at most one per peer (a new inbound stream from
 * a peer replaces its old session: the opener starts afresh, e.g. after its side died).
 *
 * Who opens a session with whom, and when, is not decided here (see node/peer-manager.ts).
 *
 * Events: `session:start` (detail: { peer, session, direction: 'inbound' | 'outbound' }),
 * `session:end` (detail: { peer, session, error? }), `session:refused` (detail: { peer, error }:
 * the peer opened more sessions than its limiter admits; it got a RATE_LIMITED error frame).
 */
import { serviceCapabilities } from '@libp2p/interface'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, OPEN_TIMEOUT_MS, PROTOCOL } from './constants.ts'
import { InvalidSyncOptionError, SyncRateLimitedError, SyncServiceNotStartedError } from './errors.ts'
import type { PeerRateLimiter } from './rate-limit.ts'
import { refuseSession } from './refuse.ts'
import { SyncSession, type SyncDatabase, type SyncObserver } from './session.ts'

/** The part of libp2p's registrar the service needs. */
export interface SyncRegistrar {
  handle (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: StreamHandlerOptions): Promise<void>
  unhandle (protocol: string, options?: AbortOptions): Promise<void>
}

/** The part of libp2p's connection manager the service needs: a new stream to a peer. */
export interface SyncStreamOpener {
  openStream (peer: PeerId, protocol: string, options?: AbortOptions & { runOnLimitedConnection?: boolean }): Promise<Stream>
}

/** What libp2p hands the service factory (a narrow view of its components). */
export interface SyncLibp2pComponents {
  registrar: SyncRegistrar
  connectionManager: SyncStreamOpener
  logger: ComponentLogger
}

/** Everything the service runs on: libp2p's parts, the database seam and a clock. */
export interface SyncServiceComponents extends SyncLibp2pComponents {
  db: SyncDatabase
  now: () => number
}

export interface SyncServiceInit {
  /** sync streams a peer may open per connection; default 2 */
  maxInboundStreams?: number
  /** sync streams we open per connection; default 2 */
  maxOutboundStreams?: number
  /** also sync over limited (relayed) connections; default true */
  runOnLimitedConnection?: boolean
  /** ms to open a stream and negotiate the protocol, and the most `stop()` waits for sessions to close; default 10 s */
  openTimeoutMs?: number
  /** per session: the peer's HELLO must arrive within this; default 10 s */
  helloTimeoutMs?: number
  /** per session: largest frame accepted; default 8 MiB */
  maxFrameBytes?: number
  /** per session: target catch-up batch size; default 256 KiB */
  batchBytes?: number
  /** per session: most frames per second from the peer, when no `limiter` is given; default 2,000 */
  maxFramesPerSecond?: number
  /** rate buckets per peer (frames, bytes, new sessions), shared by all its sessions; default: one private limiter per session, no session limit */
  limiter?: PeerRateLimiter
  /** per session: ms our send buffer may stay full before the peer counts as not reading; default 30 s */
  sendTimeoutMs?: number
  /** per session: ms a close waits for buffered bytes to leave before a reset; default 5 s */
  closeTimeoutMs?: number
  /** lets a non-member sync anyway (a device inside an open pairing window) */
  allowPeer?: (peer: string) => boolean
  /**
   * decides whether an inbound stream from `peer` runs a session; on false the stream is the
   * caller's (told why, refused, aborted). Default: every stream runs one (the session itself
   * refuses non-members with NOT_A_MEMBER).
   */
  admit?: (peer: string, stream: Stream) => boolean
  /** told about every session's applied and rejected changes, bytes and peer vectors */
  observer?: SyncObserver
}

export interface SyncServiceEvents {
  'session:start': CustomEvent<{ peer: string, session: SyncSession, direction: 'inbound' | 'outbound' }>
  'session:end': CustomEvent<{ peer: string, session: SyncSession, error: Error | undefined }>
  'session:refused': CustomEvent<{ peer: string, error: SyncRateLimitedError }>
}

function positive (name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
    throw new InvalidSyncOptionError(`sync option ${name} must be a positive number, got ${value}; leave it out for the default`)
  }
}

export class SyncService extends EventTarget {
  readonly protocol = PROTOCOL
  readonly [Symbol.toStringTag] = '@blazedb/sync'
  readonly [serviceCapabilities]: string[] = ['@blazedb/sync']
  private readonly components: SyncServiceComponents
  private readonly init: SyncServiceInit
  private readonly log: Logger
  private readonly sessions = new Map<string, SyncSession>()
  private readonly opening = new Map<string, Promise<SyncSession>>()
  private started = false

  constructor (components: SyncServiceComponents, init: SyncServiceInit = {}) {
    super()
    for (const key of ['maxInboundStreams', 'maxOutboundStreams', 'openTimeoutMs', 'helloTimeoutMs', 'maxFrameBytes', 'batchBytes', 'maxFramesPerSecond', 'sendTimeoutMs', 'closeTimeoutMs'] as const) positive(key, init[key])
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('blazedb:sync')
    this.onStream = this.onStream.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(PROTOCOL, this.onStream, {
      maxInboundStreams: this.init.maxInboundStreams ?? MAX_INBOUND_STREAMS,
      maxOutboundStreams: this.init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: this.init.runOnLimitedConnection ?? true
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.components.registrar.unhandle(PROTOCOL)
    // a peer that does not read could hold a graceful close forever: wait a bounded time,
    // after which libp2p closes the connections (and aborts their streams) anyway
    const bound = this.init.openTimeoutMs ?? OPEN_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, bound) })
    const all = [...this.sessions.values()]
    await Promise.race([Promise.all(all.map(async (s) => { await s.close(); await s.done })), late])
    clearTimeout(timer)
  }

  isStarted (): boolean { return this.started }

  /** peers with a live session */
  peers (): string[] { return [...this.sessions.keys()] }

  session (peer: string): SyncSession | undefined { return this.sessions.get(peer) }

  /**
   * Opens a sync stream to `peer` (over an existing connection, or a new one) and runs a
   * session on it; resolves with the live session (the existing one, if there is one).
   */
  async open (peer: PeerId, options: AbortOptions = {}): Promise<SyncSession> {
    if (!this.started) throw new SyncServiceNotStartedError('the sync service is not started: start the libp2p node first')
    const key = peer.toString()
    const live = this.sessions.get(key)
    if (live !== undefined) return live
    const pending = this.opening.get(key)
    if (pending !== undefined) return await pending
    const timeout = AbortSignal.timeout(this.init.openTimeoutMs ?? OPEN_TIMEOUT_MS)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
    const opening = this.components.connectionManager.openStream(peer, PROTOCOL, {
      signal,
      runOnLimitedConnection: this.init.runOnLimitedConnection ?? true
    }).then((stream) => this.run(key, stream, 'outbound'))
    this.opening.set(key, opening)
    try {
      return await opening
    } finally {
      this.opening.delete(key)
    }
  }

  private onStream (stream: Stream, connection: Connection): void {
    const key = connection.remotePeer.toString()
    if (!this.started) {
      stream.abort(new SyncServiceNotStartedError('sync service stopping'))
      return
    }
    if (this.init.admit !== undefined && !this.init.admit(key, stream)) return
    // a peer reopening sessions in a loop would make us re-read and re-send the log each time
    const limiter = this.init.limiter
    if (limiter !== undefined && !limiter.admitSession(key)) {
      const error = new SyncRateLimitedError(`${key} opened more than ${limiter.sessionsPerMinute} sync sessions in a minute; retry later, with backoff`)
      this.log('refused a sync session from %s: %s', key, error.message)
      this.dispatchEvent(new CustomEvent('session:refused', { detail: { peer: key, error } }))
      void refuseSession(stream, error, ...(this.init.closeTimeoutMs === undefined ? [] : [this.init.closeTimeoutMs]))
      return
    }
    const old = this.sessions.get(key)
    // the opener starts afresh (its old session died, maybe unnoticed here): replace ours
    if (old !== undefined) void old.close()
    this.run(key, stream, 'inbound')
  }

  private run (peer: string, stream: Stream, direction: 'inbound' | 'outbound'): SyncSession {
    const { allowPeer, observer, helloTimeoutMs, maxFrameBytes, batchBytes, maxFramesPerSecond, limiter, sendTimeoutMs, closeTimeoutMs } = this.init
    const session = new SyncSession({
      db: this.components.db,
      stream,
      remotePeer: peer,
      now: this.components.now,
      ...(observer === undefined ? {} : { observer }),
      ...(allowPeer === undefined ? {} : { allowPeer }),
      ...(helloTimeoutMs === undefined ? {} : { helloTimeoutMs }),
      ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
      ...(batchBytes === undefined ? {} : { batchBytes }),
      ...(maxFramesPerSecond === undefined ? {} : { maxFramesPerSecond }),
      ...(limiter === undefined ? {} : { limiter }),
      ...(sendTimeoutMs === undefined ? {} : { sendTimeoutMs }),
      ...(closeTimeoutMs === undefined ? {} : { closeTimeoutMs })
    })
    this.sessions.set(peer, session)
    this.log('sync with %s started', peer)
    this.dispatchEvent(new CustomEvent('session:start', { detail: { peer, session, direction } }))
    void session.done.then(() => {
      if (this.sessions.get(peer) === session) this.sessions.delete(peer)
      this.log('sync with %s ended %s', peer, session.error?.message ?? '')
      this.dispatchEvent(new CustomEvent('session:end', { detail: { peer, session, error: session.error } }))
    })
    return session
  }
}

/**
 * The libp2p service factory: `createLibp2p({ services: { sync: syncService({ db }) } })`.
 * `db` (the database seam) and `now` (the clock; default `Date.now`) join libp2p's
 * registrar, connection manager and logger as the service's components.
 */
export function syncService (init: SyncServiceInit & { db: SyncDatabase, now?: () => number }): (components: SyncLibp2pComponents) => SyncService {
  const { db, now, ...rest } = init
  return (components) => new SyncService({
    registrar: components.registrar,
    connectionManager: components.connectionManager,
    logger: components.logger,
    db,
    now: now ?? Date.now
  }, rest)
}
