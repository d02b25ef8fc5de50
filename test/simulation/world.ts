/**
 * The world of a cluster simulation, a pure function of its seed: the nodes, the links
 * between them (a random spanning tree plus extra edges) and a script of steps — bursts of
 * writes at random nodes, waits for a write to cross the network, partitions, flaky links,
 * nodes that leave and return. Running the script may interleave differently from run to
 * run (async timing), but what happens to the network and who writes what does not.
 *
 * @example
 * const world = makeWorld(new Prng(7), { nodes: 25, rounds: 40 })
 * world.links.length   // spanning tree (24) plus extra edges
 */
import { Prng } from './prng.ts'

/** two node indices, lower first */
export type Link = readonly [number, number]

export type WriteOp =
  /** a conflict-prone document (a small set of ids): may fail if it exists */
  | { kind: 'insert', id: string, body: Record<string, unknown> }
  | { kind: 'put', id: string, body: Record<string, unknown> }
  /** may fail if the document does not exist here (yet, or any more) */
  | { kind: 'update', id: string, patch: Record<string, unknown> }
  | { kind: 'delete', id: string }
  | { kind: 'increment', id: string, by: number }
  /** a counter document that is only ever incremented: its total is known exactly */
  | { kind: 'count', counter: string, by: number }
  /** a document with an id unique to this write, never touched again */
  | { kind: 'log', id: string, node: number }
  /** a log insert and a counter increment as one change */
  | { kind: 'tx', id: string, node: number, counter: string, by: number }

export interface Write { node: number, op: WriteOp }

export type Step =
  | { type: 'writes', writes: Write[] }
  /** wait until `to` holds the latest write of `from` (they are connected) */
  | { type: 'propagate', from: number, to: number }
  /** wait until every connected component has converged */
  | { type: 'settle' }
  /** close the sessions on these links (both sides, gracefully) and keep them down */
  | { type: 'cut', links: number[], kind: 'partition' | 'flaky' }
  /** bring these links back (new stream pair, new sessions) where both ends are present */
  | { type: 'heal', links: number[] }
  /** the node goes offline (its sessions closed, or its streams dropped); it keeps writing */
  | { type: 'leave', node: number, how: 'close' | 'drop' }
  | { type: 'return', node: number }

export interface World {
  nodes: number
  links: Link[]
  /** per link, the sync batch size its sessions use: small ones cut catch-ups into many frames */
  batchBytes: number[]
  steps: Step[]
  docIds: string[]
  counters: string[]
}

export interface WorldOptions {
  nodes: number
  rounds: number
  /** extra edges on top of the spanning tree, as a fraction of the node count */
  extraEdges?: number
  /** most nodes away at once */
  maxAway?: number
}

const DOC_IDS = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5']
const COUNTERS = ['c0', 'c1', 'c2']
const FIELDS = ['a', 'b', 'c']

export function makeWorld (rng: Prng, options: WorldOptions): World {
  const n = options.nodes
  const links = topology(rng, n, Math.round(n * (options.extraEdges ?? 0.5)))
  const batchBytes = links.map(() => rng.pick([512, 4096, 64 * 1024, 256 * 1024]))
  const maxAway = options.maxAway ?? Math.max(1, Math.floor(n / 8))
  const steps: Step[] = []
  const cut = new Set<number>()
  const away = new Set<number>()
  const logCount = new Array<number>(n).fill(0)
  const up = (i: number): boolean => !cut.has(i) && !away.has(links[i]![0]) && !away.has(links[i]![1])
  const logId = (node: number): string => `n${node}-${logCount[node]!++}`

  for (let round = 0; round < options.rounds; round++) {
    const bursts = rng.range(1, 3)
    for (let b = 0; b < bursts; b++) {
      const writes: Write[] = []
      for (let k = rng.range(1, 8); k > 0; k--) {
        const node = rng.int(n)
        writes.push({ node, op: writeOp(rng, node, logId) })
      }
      steps.push({ type: 'writes', writes })
    }
    if (rng.chance(0.5)) {
      const groups = components(n, links, up).filter((g) => g.length > 1)
      if (groups.length > 0) {
        const [from, to] = rng.sample(rng.pick(groups), 2) as [number, number]
        steps.push({ type: 'propagate', from, to })
      }
    }
    const event = rng.weighted({
      partition: 2,
      flaky: 2,
      heal: cut.size > 0 ? 4 : 0,
      leave: away.size < maxAway ? 2 : 0,
      return: away.size > 0 ? 3 : 0,
      settle: 1,
      none: 3
    })
    switch (event) {
      case 'partition': {
        // split the nodes into 2–3 groups; every link between groups goes down
        const groupCount = rng.range(2, 3)
        const group = Array.from({ length: n }, () => rng.int(groupCount))
        const crossing = links.flatMap(([a, b], i) => group[a] !== group[b] && !cut.has(i) ? [i] : [])
        if (crossing.length === 0) break
        for (const i of crossing) cut.add(i)
        steps.push({ type: 'cut', links: crossing, kind: 'partition' })
        break
      }
      case 'flaky': {
        const candidates = links.flatMap((_, i) => cut.has(i) ? [] : [i])
        const chosen = rng.sample(candidates, rng.range(1, Math.max(1, Math.floor(links.length / 6))))
        for (const i of chosen) cut.add(i)
        steps.push({ type: 'cut', links: chosen, kind: 'flaky' })
        break
      }
      case 'heal': {
        const all = [...cut].sort((a, b) => a - b)
        const chosen = rng.chance(0.7) ? all : rng.sample(all, rng.range(1, all.length)).sort((a, b) => a - b)
        for (const i of chosen) cut.delete(i)
        steps.push({ type: 'heal', links: chosen })
        break
      }
      case 'leave': {
        const node = rng.pick(Array.from({ length: n }, (_, i) => i).filter((i) => !away.has(i)))
        away.add(node)
        steps.push({ type: 'leave', node, how: rng.chance(0.5) ? 'close' : 'drop' })
        break
      }
      case 'return': {
        const node = rng.pick([...away].sort((a, b) => a - b))
        away.delete(node)
        steps.push({ type: 'return', node })
        break
      }
      case 'settle':
        steps.push({ type: 'settle' })
        break
      case 'none':
        break
    }
  }
  return { nodes: n, links, batchBytes, steps, docIds: DOC_IDS, counters: COUNTERS }
}

function writeOp (rng: Prng, node: number, logId: (node: number) => string): WriteOp {
  const id = rng.pick(DOC_IDS)
  const value = (): unknown => rng.chance(0.5) ? rng.int(1000) : `v${rng.int(1000)}`
  const body = (): Record<string, unknown> => {
    const out: Record<string, unknown> = { by: node }
    for (const f of rng.sample(FIELDS, rng.range(1, FIELDS.length))) out[f] = value()
    if (rng.chance(0.3)) out.meta = { x: value(), y: value() }
    return out
  }
  switch (rng.weighted({ insert: 3, put: 2, update: 6, delete: 2, increment: 3, count: 3, log: 3, tx: 1 })) {
    case 'insert': return { kind: 'insert', id, body: body() }
    case 'put': return { kind: 'put', id, body: body() }
    case 'update': {
      const patch: Record<string, unknown> = {}
      const field = rng.pick(FIELDS)
      // undefined removes the field; a nested object merges field by field
      patch[field] = rng.chance(0.15) ? undefined : value()
      if (rng.chance(0.3)) patch.meta = { [rng.pick(['x', 'y', 'z'])]: value() }
      return { kind: 'update', id, patch }
    }
    case 'delete': return { kind: 'delete', id }
    case 'increment': return { kind: 'increment', id, by: rng.range(1, 5) }
    case 'count': return { kind: 'count', counter: rng.pick(COUNTERS), by: rng.range(1, 9) }
    case 'log': return { kind: 'log', id: logId(node), node }
    case 'tx': return { kind: 'tx', id: logId(node), node, counter: rng.pick(COUNTERS), by: rng.range(1, 9) }
  }
  throw new Error('unreachable')
}

/** A random spanning tree (each node attaches to an earlier one, in shuffled order) plus `extra` edges. */
function topology (rng: Prng, n: number, extra: number): Link[] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i))
  const seen = new Set<string>()
  const links: Link[] = []
  const add = (x: number, y: number): boolean => {
    const link: Link = x < y ? [x, y] : [y, x]
    const key = `${link[0]}-${link[1]}`
    if (x === y || seen.has(key)) return false
    seen.add(key)
    links.push(link)
    return true
  }
  for (let i = 1; i < n; i++) add(order[i]!, order[rng.int(i)]!)
  for (let added = 0, tries = 0; added < extra && tries < extra * 20; tries++) {
    if (add(rng.int(n), rng.int(n))) added++
  }
  return links
}

/** Connected components over the links that are up, each sorted, in order of their first node. */
export function components (n: number, links: readonly Link[], up: (link: number) => boolean): number[][] {
  const parent = Array.from({ length: n }, (_, i) => i)
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!
    return x
  }
  links.forEach(([a, b], i) => { if (up(i)) parent[find(a)] = find(b) })
  const groups = new Map<number, number[]>()
  for (let i = 0; i < n; i++) {
    const root = find(i)
    let g = groups.get(root)
    if (g === undefined) groups.set(root, g = [])
    g.push(i)
  }
  return [...groups.values()]
}
