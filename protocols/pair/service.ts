/** The member's pairing service: holds the current window and answers `/blazedb/pair/1.0.0` streams. */
import { randomBytes } from 'node:crypto'
import { DEFAULT_TTL_MS, PROTOCOL } from './constants.ts'
import { formatCode, newCode } from './code.ts'
import { NotPairingError, PairingClosedError } from './errors.ts'
import { answerPairing, type Random } from './exchange.ts'
import type { PairStream } from './messages.ts'
import { PairingWindow, type Joined, type PairRole } from './window.ts'

/** What pairing needs of the database. */
export interface PairDatabase {
  readonly id: string
  readonly peerId: string
  members: { grant: (peerId: string, role: PairRole) => Promise<void> }
}

/** The part of a libp2p node (its registrar) the service registers with. */
export interface PairRegistrar {
  handle: (protocol: string, handler: (stream: PairStream, remotePeer: string) => void, options: { maxInboundStreams: number, maxOutboundStreams: number }) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
}

export interface PairServiceInit {
  db: PairDatabase
  /** the addresses a new device should dial afterwards */
  addresses: () => string[]
  random?: Random
  now?: () => number
  stepTimeoutMs?: number
  maxTries?: number
  tryDelayMs?: number
  /** told about every finished exchange */
  log?: (line: string) => void
  /** called when a window opens, and when the open window ends (the node announces pairing on the LAN meanwhile) */
  windowChanged?: (open: boolean) => void
  /** called when an exchange over the registered handler has ended (the node closes guest connections) */
  answered?: (remotePeer: string, error?: Error) => void
}

export interface PairingOffer {
  /** the code to show, grouped: 1234-5678 */
  code: string
  /** ms since the epoch */
  expiresAt: number
  addresses: string[]
  joined: Promise<Joined>
  /** closes this window unused (no-op once it has ended) */
  cancel: () => void
}

export class PairService {
  private window: PairingWindow | undefined
  private readonly init: PairServiceInit
  private readonly random: Random
  private readonly now: () => number
  private registrar: PairRegistrar | undefined

  constructor (init: PairServiceInit) {
    this.init = init
    this.random = init.random ?? ((n) => new Uint8Array(randomBytes(n)))
    this.now = init.now ?? Date.now
  }

  /** Registers the handler: one pairing stream per connection at a time. */
  async start (registrar: PairRegistrar): Promise<void> {
    this.registrar = registrar
    await registrar.handle(PROTOCOL, (stream, remotePeer) => {
      void this.answer(stream, remotePeer).then(() => { this.init.answered?.(remotePeer) }, (error: Error) => { this.init.answered?.(remotePeer, error) })
    }, { maxInboundStreams: 1, maxOutboundStreams: 1 })
  }

  async stop (): Promise<void> {
    this.window?.cancel(new PairingClosedError('the node stopped; start it again and ask for a new code with `blaze pair`'))
    await this.registrar?.unhandle(PROTOCOL)
    this.registrar = undefined
  }

  /** Opens a pairing window (closing any open one): a new one-time code granting `role`. */
  open (options: { role: PairRole, ttlMs?: number }): PairingOffer {
    this.window?.cancel(new PairingClosedError('a newer pairing code replaced this one: use the newest code `blaze pair` printed'))
    const expiresAt = this.now() + (options.ttlMs ?? DEFAULT_TTL_MS)
    const window = new PairingWindow({
      code: newCode(this.random),
      role: options.role,
      expiresAt,
      now: this.now,
      ...(this.init.maxTries === undefined ? {} : { maxTries: this.init.maxTries }),
      ...(this.init.tryDelayMs === undefined ? {} : { tryDelayMs: this.init.tryDelayMs })
    })
    this.window = window
    this.init.windowChanged?.(true)
    const ended = (): void => { if (this.window === window) this.init.windowChanged?.(false) }
    window.joined.then(ended, ended)
    return { code: formatCode(window.code), expiresAt, addresses: this.init.addresses(), joined: window.joined, cancel: () => { window.cancel() } }
  }

  /** Whether a window is open right now (unknown peers may then reach this protocol). */
  isOpen (): boolean { return this.window?.state === 'open' }

  /** Closes the open window unused. */
  cancel (): void { this.window?.cancel() }

  /** Answers one pairing stream from `remotePeer` (authenticated by the transport). */
  async answer (stream: PairStream, remotePeer: string): Promise<string> {
    const log = this.init.log ?? (() => {})
    try {
      const peer = await answerPairing({
        stream,
        window: this.window,
        localPeer: this.init.db.peerId,
        remotePeer,
        dbId: this.init.db.id,
        grant: async (p, role) => { await this.init.db.members.grant(p, role) },
        addresses: this.init.addresses,
        random: this.random,
        notPairing: () => new NotPairingError(),
        ...(this.init.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: this.init.stepTimeoutMs })
      })
      log(`paired ${peer} as ${this.window?.role ?? '?'}`)
      return peer
    } catch (error) {
      // "not pairing" answers are routine (devices probing the LAN): not worth a log line each
      if (!(error instanceof NotPairingError)) log(`pairing with ${remotePeer} failed: ${(error as Error).name}: ${(error as Error).message}`)
      throw error
    }
  }
}
