/**
 * An in-process cluster for simulations: in-memory databases joined by SyncSessions over
 * `streamPair()` links (real libp2p streams over an in-memory muxer). Links go down and come
 * back (a cut closes both sessions gracefully; a node that leaves closes its sessions the same
 * way or has its streams aborted, like a dropped connection) and every session's unexpected
 * end is recorded as a problem.
 *
 * @example
 * const cluster = await Cluster.create(world.nodes, world.links, rng)
 * await cluster.cut([0, 3])
 * await cluster.heal([0, 3])
 * await cluster.close()
 */
import { streamPair } from '@libp2p/utils'
import { open, type Database } from '../../engine/index.ts'
import { SyncSession } from '../../protocols/sync/index.ts'
import { components, type Link } from './world.ts'
import { divergence, linkName } from './report.ts'
import type { Prng } from './prng.ts'

interface LiveLink {
  sessions: [SyncSession, SyncSession]
  streams: [{ abort: (err: Error) => void }, { abort: (err: Error) => void }]
  /** set when we end it on purpose, so its sessions' ends are expected */
  ending: 'close' | 'abort' | undefined
}

export interface ClusterOptions {
  /** runs on the owner before the others learn the membership (e.g. to create shared documents) */
  setup?: (owner: Database) => Promise<void>
  /** per link, the sessions' batch size; default the protocol's */
  batchBytes?: readonly number[]
  /** bound on the wait for a link's sessions to end; default 20 s */
  closeBoundMs?: number
}

/** Bounds a wait on a promise (no sleep: resolves as soon as `promise` does). */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
    ])
  } finally {
    clearTimeout(timer)
  }
}

export class Cluster {
  readonly dbs: Database[]
  readonly links: readonly Link[]
  /** unexpected session ends and refused changes, as readable lines */
  readonly problems: string[] = []
  readonly counts = { sessions: 0, applied: 0, rejected: new Map<string, number>() }
  private readonly live: Array<LiveLink | undefined>
  private readonly cutLinks = new Set<number>()
  private readonly awayNodes = new Set<number>()
  private readonly options: ClusterOptions

  private constructor (dbs: Database[], links: readonly Link[], options: ClusterOptions) {
    this.dbs = dbs
    this.links = links
    this.live = links.map(() => undefined)
    this.options = options
  }

  /**
   * Node 0 creates the database and grants 'writer' to every other node; every node learns
   * the membership before any session starts. Links are not connected yet: call `connectAll()`.
   */
  static async create (nodes: number, links: readonly Link[], rng: Prng, options: ClusterOptions = {}): Promise<Cluster> {
    const seeded = (): { seed: Uint8Array, random: (n: number) => Uint8Array } => {
      const r = rng.fork()
      return { seed: r.bytes(32), random: (n) => r.bytes(n) }
    }
    const owner = await open(seeded())
    const dbs = [owner]
    for (let i = 1; i < nodes; i++) dbs.push(await open({ ...seeded(), dbId: owner.id }))
    for (const db of dbs.slice(1)) await owner.members.grant(db.peerId, 'writer')
    await options.setup?.(owner)
    for (const db of dbs.slice(1)) await db.applyChanges(owner.changesSince(db.versionVector()))
    return new Cluster(dbs, links, options)
  }

  get size (): number { return this.dbs.length }

  isUp (link: number): boolean {
    const [a, b] = this.links[link]!
    return !this.cutLinks.has(link) && !this.awayNodes.has(a) && !this.awayNodes.has(b)
  }

  /** connected components over the links that are up */
  components (): number[][] { return components(this.size, this.links, (i) => this.isUp(i)) }

  async connectAll (): Promise<void> {
    for (let i = 0; i < this.links.length; i++) if (this.isUp(i)) await this.connect(i)
  }

  async cut (links: readonly number[]): Promise<void> {
    for (const i of links) this.cutLinks.add(i)
    await Promise.all(links.map(async (i) => await this.disconnect(i, 'close')))
  }

  async heal (links: readonly number[]): Promise<void> {
    for (const i of links) this.cutLinks.delete(i)
    for (const i of links) if (this.isUp(i)) await this.connect(i)
  }

  /** The node goes offline: its sessions are closed (both sides), or its streams dropped (aborted on its side). */
  async leave (node: number, how: 'close' | 'drop' = 'drop'): Promise<void> {
    this.awayNodes.add(node)
    const mine = this.links.flatMap(([a, b], i) => a === node || b === node ? [i] : [])
    await Promise.all(mine.map(async (i) => await this.disconnect(i, how === 'close' ? 'close' : 'abort')))
  }

  async rejoin (node: number): Promise<void> {
    this.awayNodes.delete(node)
    for (const [i, [a, b]] of this.links.entries()) {
      if ((a === node || b === node) && this.isUp(i)) await this.connect(i)
    }
  }

  /** every node present, every link up */
  async healAll (): Promise<void> {
    for (const node of [...this.awayNodes]) await this.rejoin(node)
    await this.heal([...this.cutLinks])
  }

  private async connect (link: number): Promise<void> {
    if (this.live[link] !== undefined) return
    const [a, b] = this.links[link]!
    const [sa, sb] = await streamPair()
    const entry: LiveLink = {
      sessions: [this.session(link, a, b, sa), this.session(link, b, a, sb)],
      streams: [sa, sb],
      ending: undefined
    }
    this.live[link] = entry
    this.counts.sessions += 2
    for (const s of entry.sessions) {
      void s.done.then(() => {
        if (entry.ending === 'abort') return
        if (entry.ending === undefined) this.problems.push(`session ${this.name(link)} on node ${this.dbs.indexOf(this.dbOf(s, link))} ended by itself: ${String(s.error)}`)
        else if (s.error !== undefined) this.problems.push(`session ${this.name(link)} failed while closing: ${String(s.error)}`)
      })
    }
  }

  private dbOf (s: SyncSession, link: number): Database {
    const [a, b] = this.links[link]!
    return s.remotePeer === this.dbs[b]!.peerId ? this.dbs[a]! : this.dbs[b]!
  }

  private session (link: number, self: number, other: number, stream: Awaited<ReturnType<typeof streamPair>>[number]): SyncSession {
    const batchBytes = this.options.batchBytes?.[link]
    return new SyncSession({
      db: this.dbs[self]!,
      stream,
      remotePeer: this.dbs[other]!.peerId,
      ...(batchBytes === undefined ? {} : { batchBytes }),
      observer: {
        applied: (result) => { this.counts.applied += result.applied },
        rejected: (rejection) => {
          const name = rejection.error.name
          this.counts.rejected.set(name, (this.counts.rejected.get(name) ?? 0) + 1)
          // a gap is recovered by NEED; anything else means a valid change was refused
          if (name !== 'SequenceGapError') this.problems.push(`node ${self} refused ${rejection.count} change(s) from node ${other} over ${this.name(link)}: ${name}: ${rejection.error.message}`)
        }
      }
    })
  }

  private async disconnect (link: number, how: 'close' | 'abort'): Promise<void> {
    const entry = this.live[link]
    if (entry === undefined) return
    this.live[link] = undefined
    entry.ending = how
    if (how === 'close') {
      await Promise.all(entry.sessions.map(async (s) => await s.close()))
    } else {
      // the leaving side drops; the other side sees a reset
      const [a] = this.links[link]!
      const leaving = this.awayNodes.has(a) ? 0 : 1
      entry.streams[leaving].abort(new Error('node left'))
    }
    await within(Promise.all(entry.sessions.map(async (s) => await s.done)), this.options.closeBoundMs ?? 20_000, `both sessions of ${this.name(link)} to end (${how})`)
  }

  name (link: number): string { return linkName(this.links, link) }

  /** For a failure message: which nodes differ from the majority, in what, and which links are down. */
  describe (): string {
    const { hashes, missing } = divergence(this.dbs)
    const lines = [hashes]
    this.dbs.forEach((db, i) => {
      const lacks = missing(i)
      const held = db.stats().held
      if (lacks.length > 0 || held > 0) lines.push(`node ${i} lacks ${lacks.join(' ')}${held > 0 ? `, holds ${held}` : ''}`)
    })
    const down = this.links.flatMap((_, i) => this.live[i] === undefined ? [this.name(i)] : [])
    lines.push(`links down: ${down.length === 0 ? 'none' : down.join(', ')}`, `away: ${[...this.awayNodes].join(',') || 'none'}`)
    if (this.problems.length > 0) lines.push('problems:', ...this.problems.slice(0, 20))
    return lines.join('\n')
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.links.map(async (_, i) => await this.disconnect(i, 'close')))
    await Promise.allSettled(this.dbs.map(async (db) => await db.close()))
  }
}
