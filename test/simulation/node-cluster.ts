/**
 * The cluster simulation on real `BlazeNode`s over `@libp2p/memory`: every node runs its own
 * libp2p host, sync service and peer manager, so what is simulated is the node's own logic —
 * who dials whom, one session per pair, redial with backoff — not a wiring of sessions.
 *
 * - a link is a libp2p connection; at the start one end dials the other once, after that
 *   the peer managers keep it up;
 * - cutting a link makes both ends refuse each other (`allowPeer`) and hangs up; healing it
 *   lets them again and asks both peer managers to look again;
 * - a node that leaves stops its BlazeNode (`drop` aborts its connections first; its
 *   database and peer store stay, as its data directory would); it returns on the same
 *   memory address and dials the neighbours it remembers, whose peer managers are also
 *   redialling it with backoff.
 *
 * @example
 * const cluster = await NodeCluster.create(world.nodes, world.links, rng)
 * await cluster.connectAll()
 */
import { memory } from '@libp2p/memory'
import { MemoryDatastore } from 'datastore-core'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { open, type Database, type Rejection } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import type { ClusterOptions } from './cluster.ts'
import { components, type Link } from './world.ts'
import { divergence, linkName } from './report.ts'
import type { Prng } from './prng.ts'

export class NodeCluster {
  readonly dbs: Database[]
  readonly links: readonly Link[]
  /** refused changes and nodes that failed, as readable lines */
  readonly problems: string[] = []
  readonly counts = { sessions: 0, applied: 0, rejected: new Map<string, number>() }
  private readonly nodes: Array<BlazeNode | undefined>
  /** per node, its peer store's datastore: kept across leave and return, as a data directory would */
  private readonly peerStores: MemoryDatastore[]
  /** per node, its last log lines (for a failure message) */
  private readonly logs: string[][]
  private readonly cutLinks = new Set<number>()
  private readonly awayNodes = new Set<number>()
  private readonly linkOf = new Map<string, number>()
  private readonly index = new Map<string, number>()
  private readonly prefix = `/memory/bm-sim-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

  private constructor (dbs: Database[], links: readonly Link[]) {
    this.dbs = dbs
    this.links = links
    this.nodes = dbs.map(() => undefined)
    this.logs = dbs.map(() => [])
    this.peerStores = dbs.map(() => new MemoryDatastore())
    dbs.forEach((db, i) => this.index.set(db.peerId, i))
    links.forEach(([a, b], i) => this.linkOf.set(`${a}-${b}`, i))
  }

  /** As `Cluster.create`: node 0 owns the database and every node knows the membership. */
  static async create (nodes: number, links: readonly Link[], rng: Prng, options: ClusterOptions = {}): Promise<NodeCluster> {
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
    return new NodeCluster(dbs, links)
  }

  get size (): number { return this.dbs.length }

  isUp (link: number): boolean {
    const [a, b] = this.links[link]!
    return !this.cutLinks.has(link) && !this.awayNodes.has(a) && !this.awayNodes.has(b)
  }

  components (): number[][] { return components(this.size, this.links, (i) => this.isUp(i)) }

  private address (node: number): string { return `${this.prefix}-${node}` }

  /** may node `self` talk to `peer`: only over a link that is not cut */
  private allowed (self: number, peer: string): boolean {
    const other = this.index.get(peer)
    if (other === undefined) return false
    const link = this.linkOf.get(self < other ? `${self}-${other}` : `${other}-${self}`)
    return link !== undefined && !this.cutLinks.has(link)
  }

  private async startNode (i: number): Promise<BlazeNode> {
    const node = await BlazeNode.start({
      db: this.dbs[i]!,
      listen: [this.address(i)],
      transports: [memory()],
      datastore: this.peerStores[i]!,
      mdns: false,
      backoffMs: 25,
      maxBackoffMs: 250,
      allowPeer: (peer) => this.allowed(i, peer),
      log: (line) => {
        if (line.startsWith('applied')) return
        const log = this.logs[i]!
        log.push(`${performance.now().toFixed(0)} ${line.replace(/12D3KooW\w+/g, (p) => `n${this.index.get(p) ?? '?'}`)}`)
        if (log.length > 30) log.shift()
      },
      limits: { inboundPerHostPerSecond: 100_000, maxConnections: 256, pingIntervalMs: 60_000 }
    })
    node.addEventListener('session:start', () => { this.counts.sessions++ })
    node.addEventListener('rejected', (e) => {
      const r = (e as CustomEvent<Rejection & { via: string }>).detail
      const name = r.error.name
      this.counts.rejected.set(name, (this.counts.rejected.get(name) ?? 0) + 1)
      // a gap is recovered by NEED; anything else means a valid change was refused
      if (name !== 'SequenceGapError') this.problems.push(`node ${i} refused ${r.count} change(s) via node ${this.index.get(r.via)}: ${name}: ${r.error.message}`)
    })
    this.nodes[i] = node
    return node
  }

  private async dialLink (link: number): Promise<void> {
    const [a, b] = this.links[link]!
    const na = this.nodes[a]
    if (na === undefined || this.nodes[b] === undefined) return
    try {
      await na.host.dial(multiaddr(`${this.address(b)}/p2p/${this.dbs[b]!.peerId}`), { signal: AbortSignal.timeout(10_000) })
    } catch (error) {
      this.problems.push(`dialling ${this.name(link)} failed: ${String(error)}`)
    }
  }

  async connectAll (): Promise<void> {
    for (let i = 0; i < this.size; i++) if (!this.awayNodes.has(i)) await this.startNode(i)
    for (let i = 0; i < this.links.length; i++) if (this.isUp(i)) await this.dialLink(i)
  }

  async cut (links: readonly number[]): Promise<void> {
    for (const i of links) this.cutLinks.add(i)
    await Promise.all(links.map(async (i) => {
      const [a, b] = this.links[i]!
      await this.nodes[a]?.host.hangUp(peerIdFromString(this.dbs[b]!.peerId), { signal: AbortSignal.timeout(10_000) })
    }))
  }

  async heal (links: readonly number[]): Promise<void> {
    for (const i of links) this.cutLinks.delete(i)
    for (const i of links) {
      if (!this.isUp(i)) continue
      const [a, b] = this.links[i]!
      this.nodes[a]?.connectMembers()
      this.nodes[b]?.connectMembers()
    }
  }

  async leave (node: number, how: 'close' | 'drop' = 'drop'): Promise<void> {
    this.awayNodes.add(node)
    const n = this.nodes[node]
    this.nodes[node] = undefined
    if (n === undefined) return
    if (how === 'drop') for (const c of n.host.getConnections()) c.abort(new Error('node dropped off the network'))
    await n.stop()
  }

  /** The node comes back on its old address; its neighbours' redialling finds it. */
  async rejoin (node: number): Promise<void> {
    if (!this.awayNodes.delete(node)) return
    await this.startNode(node)
  }

  async healAll (): Promise<void> {
    for (const node of [...this.awayNodes]) await this.rejoin(node)
    await this.heal([...this.cutLinks])
  }

  name (link: number): string { return linkName(this.links, link) }

  describe (): string {
    const { hashes, missing: lacking } = divergence(this.dbs)
    const lines = [hashes]
    this.dbs.forEach((_db, i) => {
      const missing = lacking(i)
      const peers = this.nodes[i]?.peers().map((p) => this.index.get(p)).join(',') ?? 'away'
      if (missing.length > 0) lines.push(`node ${i} (sessions with ${peers}) lacks ${missing.join(' ')}`)
      if (missing.length > 0 && this.nodes[i]?.peers().length === 0) {
        for (const [j, [a, b]] of this.links.entries()) {
          if (a !== i && b !== i) continue
          const other = a === i ? b : a
          lines.push(`  ${this.name(j)}: up ${String(this.isUp(j))}, connections ${this.nodes[i]?.host.getConnections().filter((c) => c.remotePeer.toString() === this.dbs[other]!.peerId).length ?? 'away'}`)
          lines.push(...(this.logs[other] ?? []).map((l) => `    n${other}: ${l}`))
        }
        lines.push(...this.logs[i]!.map((l) => `    n${i}: ${l}`))
      }
    })
    lines.push(`links cut: ${[...this.cutLinks].map((i) => this.name(i)).join(', ') || 'none'}`, `away: ${[...this.awayNodes].join(',') || 'none'}`)
    if (this.problems.length > 0) lines.push('problems:', ...this.problems.slice(0, 20))
    return lines.join('\n')
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.nodes.map(async (n) => await n?.stop()))
    await Promise.allSettled(this.dbs.map(async (db) => await db.close()))
  }
}
