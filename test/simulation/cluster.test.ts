import assert from 'node:assert/strict'
import type { Database } from '../../engine/index.ts'
import { converged, until } from '../wait.ts'
import { Prng, seedFromEnv } from './prng.ts'
import { makeWorld, type Step, type World, type WriteOp } from './world.ts'
import { Cluster } from './cluster.ts'
import { NodeCluster } from './node-cluster.ts'

/** What a simulation drives: sessions wired in-process (Cluster) or real BlazeNodes (NodeCluster). */
type SimCluster = Pick<Cluster, 'dbs' | 'components' | 'connectAll' | 'cut' | 'heal' | 'leave' | 'rejoin' | 'healAll' | 'describe' | 'problems' | 'counts' | 'close'>

// SIM_SEED replays a run; SIM_NODES and SIM_ROUNDS scale it up for a soak run
const DEFAULT_SEED = 20_240_611
const NODES = Number(process.env.SIM_NODES ?? 30)
const ROUNDS = Number(process.env.SIM_ROUNDS ?? 100)
// the same on real BlazeNodes (a libp2p host each; smaller by default, it costs ~2x per round): SIM_NODE_NODES, SIM_NODE_ROUNDS
const NODE_SIM_NODES = Number(process.env.SIM_NODE_NODES ?? 20)
const NODE_SIM_ROUNDS = Number(process.env.SIM_NODE_ROUNDS ?? 60)
/** bounds on waits for the network (generous: a healthy run needs a fraction) */
const PROPAGATE_MS = 30_000
const SETTLE_MS = 45_000
const FINAL_MS = 90_000

type Outcome = 'changed' | 'unchanged' | 'refused'

/** Performs one write; expected refusals (the document is missing or present here) are outcomes, anything else throws. */
async function perform (db: Database, op: WriteOp): Promise<Outcome> {
  try {
    switch (op.kind) {
      case 'insert': await db.collection('docs').insert({ id: op.id, ...op.body }); break
      case 'put': await db.collection('docs').put({ id: op.id, ...op.body }); break
      case 'update': await db.collection('docs').update(op.id, op.patch); break
      case 'delete': return await db.collection('docs').delete(op.id) ? 'changed' : 'unchanged'
      case 'increment': await db.collection('docs').increment(op.id, 'n', op.by); break
      case 'count': await db.collection('counters').increment(op.counter, 'n', op.by); break
      case 'log': await db.collection('log').insert({ id: op.id, node: op.node }); break
      case 'tx':
        await db.transaction(async (tx) => {
          await tx.collection('log').insert({ id: op.id, node: op.node })
          await tx.collection('counters').increment(op.counter, 'n', op.by)
        })
        break
    }
    return 'changed'
  } catch (error) {
    const name = (error as Error).name
    if ((op.kind === 'insert' && name === 'AlreadyExistsError') || ((op.kind === 'update' || op.kind === 'increment') && name === 'NotFoundError')) return 'refused'
    throw error
  }
}

/** What the writes that resolved promise: each is one change of its node, and the exact totals of what is never overwritten. */
class Ledger {
  /** per node, the seq of its last change */
  readonly lastSeq: number[]
  readonly counters: Map<string, number>
  /** log document id → the node that wrote it */
  readonly logIds = new Map<string, number>()
  readonly tally = { writes: 0, changed: 0, refused: 0 }

  constructor (world: World) {
    this.lastSeq = new Array<number>(world.nodes).fill(0)
    this.counters = new Map(world.counters.map((c) => [c, 0]))
  }

  record (node: number, op: WriteOp, outcome: Outcome): void {
    this.tally.writes++
    if (outcome === 'refused') this.tally.refused++
    if (outcome !== 'changed') return
    this.tally.changed++
    this.lastSeq[node]!++
    if (op.kind === 'count' || op.kind === 'tx') this.counters.set(op.counter, this.counters.get(op.counter)! + op.by)
    if (op.kind === 'log' || op.kind === 'tx') this.logIds.set(op.id, op.node)
  }

  /** `db` (node `i`) holds every resolved write of every node, and nothing else. */
  check (db: Database, i: number, dbs: readonly Database[]): void {
    const vv = db.versionVector()
    dbs.forEach((author, j) => assert.equal(vv[author.peerId] ?? 0, this.lastSeq[j], `node ${i} holds node ${j}'s changes up to ${vv[author.peerId] ?? 0}; node ${j} made ${this.lastSeq[j]}`))
    assert.equal(Object.keys(vv).length, this.lastSeq.filter((seq) => seq > 0).length, `node ${i}'s version vector names authors from outside the cluster`)
    assert.equal(db.stats().held, 0, `node ${i} holds changes back`)
    for (const [counter, total] of this.counters) assert.equal(db.collection('counters').get(counter)?.n, total, `node ${i}: counter ${counter}`)
    assert.equal(db.collection('log').count(), this.logIds.size, `node ${i}: log documents`)
    for (const [id, node] of this.logIds) assert.equal(db.collection('log').get(id)?.node, node, `node ${i}: log/${id}`)
  }
}

interface Events { partitions: number, flaky: number, leaves: number, rejoins: number, settles: number, propagations: number }

async function runStep (c: SimCluster, step: Step, ledger: Ledger, events: Events): Promise<void> {
  switch (step.type) {
    case 'writes':
      await Promise.all(step.writes.map(async ({ node, op }) => { ledger.record(node, op, await perform(c.dbs[node]!, op)) }))
      return
    case 'propagate': {
      const from = c.dbs[step.from]!
      const to = c.dbs[step.to]!
      const seq = from.versionVector()[from.peerId] ?? 0
      await until(to, () => (to.versionVector()[from.peerId] ?? 0) >= seq, PROPAGATE_MS, `node ${step.from}'s seq ${seq} to reach node ${step.to}`)
      events.propagations++
      return
    }
    case 'settle':
      // every connected part of the network converges on its own
      for (const group of c.components().filter((g) => g.length > 1)) await converged(group.map((i) => c.dbs[i]!), SETTLE_MS)
      events.settles++
      return
    case 'cut':
      await c.cut(step.links)
      if (step.kind === 'partition') events.partitions++
      else events.flaky++
      return
    case 'heal': await c.heal(step.links); return
    case 'leave': await c.leave(step.node, step.how); events.leaves++; return
    case 'return': await c.rejoin(step.node); events.rejoins++
  }
}

describe('cluster simulation', function () {
  this.timeout(180_000)
  let cluster: SimCluster | undefined
  afterEach(async () => { await cluster?.close() })

  it('the world is a function of the seed alone', () => {
    const a = makeWorld(new Prng(7), { nodes: 25, rounds: 20 })
    assert.deepEqual(makeWorld(new Prng(7), { nodes: 25, rounds: 20 }), a)
    assert.notDeepEqual(makeWorld(new Prng(8), { nodes: 25, rounds: 20 }), a)
    // a spanning tree plus extra edges: connected, but far from complete
    assert.equal(new Set(a.links.flat()).size, 25)
    assert.ok(a.links.length >= 24 && a.links.length < 25 * 24 / 4, `${a.links.length} links`)
  })

  async function simulate (create: typeof Cluster.create | typeof NodeCluster.create, nodes: number, rounds: number, seed: number): Promise<void> {
    const started = performance.now()
    const rng = new Prng(seed)
    const world = makeWorld(rng.fork(), { nodes, rounds })
    const ledger = new Ledger(world)
    const events: Events = { partitions: 0, flaky: 0, leaves: 0, rejoins: 0, settles: 0, propagations: 0 }
    try {
      const c = cluster = await create(world.nodes, world.links, rng.fork(), {
        batchBytes: world.batchBytes,
        setup: async (owner) => {
          for (const counter of world.counters) await owner.collection('counters').insert({ id: counter, n: 0 })
        }
      })
      ledger.lastSeq[0] = c.dbs[0]!.versionVector()[c.dbs[0]!.peerId]!
      await c.connectAll()
      for (const step of world.steps) await runStep(c, step, ledger, events)

      const writesDone = performance.now()
      await c.healAll()
      const vvKey = (db: Database): string => JSON.stringify(Object.entries(db.versionVector()).sort())
      await until(c.dbs, () => new Set(c.dbs.map((db) => db.stateHash())).size === 1 && new Set(c.dbs.map(vvKey)).size === 1,
        FINAL_MS, 'every node to reach the same state hash and version vector')
      const finalSync = performance.now() - writesDone

      assert.deepEqual(c.problems, [])
      c.dbs.forEach((db, i) => ledger.check(db, i, c.dbs))

      const { writes, changed, refused } = ledger.tally
      const rejected = [...c.counts.rejected].map(([name, n]) => `${name}×${n}`).join(' ') || 'none'
      console.log(`      seed=${seed}: ${world.nodes} nodes, ${world.links.length} links, ${writes} writes (${changed} changes, ${refused} refused), ` +
        `${events.partitions} partitions, ${events.flaky} flaky cuts, ${events.leaves} leaves, ${events.rejoins} rejoins, ${events.settles} settles, ` +
        `${events.propagations} propagation waits, ${c.counts.sessions} sessions, rejected changes: ${rejected}; ` +
        `final sync ${(finalSync / 1000).toFixed(1)} s, total ${((performance.now() - started) / 1000).toFixed(1)} s`)
    } catch (error) {
      const e = error as Error
      e.message = `[SIM_SEED=${seed}] ${e.message}${cluster === undefined ? '' : `\n${cluster.describe()}`}`
      throw e
    }
  }

  it(`${NODES} nodes converge through partitions, flaky links and nodes that leave and return`, async () => {
    await simulate(Cluster.create, NODES, ROUNDS, seedFromEnv(DEFAULT_SEED))
  })

  it(`${NODE_SIM_NODES} real BlazeNodes over @libp2p/memory converge through the same kind of world (their peer managers redial)`, async () => {
    await simulate(NodeCluster.create, NODE_SIM_NODES, NODE_SIM_ROUNDS, seedFromEnv(DEFAULT_SEED))
  })
})
