/** What both cluster simulations print when replicas do not converge. */
import type { Database, VersionVector } from '../../engine/index.ts'
import type { Link } from './world.ts'

export function linkName (links: readonly Link[], link: number): string {
  const [a, b] = links[link]!
  return `link ${link} (${a}–${b})`
}

/**
 * The state hashes grouped by node (the first report line) and, per node, the changes it
 * lacks against the union of everyone's version vectors, as `nAUTHOR:have/want`.
 */
export function divergence (dbs: readonly Database[]): { hashes: string, missing: (node: number) => string[] } {
  const groups = new Map<string, number[]>()
  dbs.forEach((db, i) => {
    const h = db.stateHash()
    groups.set(h, [...(groups.get(h) ?? []), i])
  })
  const all: VersionVector = {}
  for (const db of dbs) {
    for (const [peer, seq] of Object.entries(db.versionVector()) as Array<[keyof VersionVector, number]>) all[peer] = Math.max(all[peer] ?? 0, seq)
  }
  const author = new Map(dbs.map((db, i) => [db.peerId as string, i]))
  return {
    hashes: `state hashes: ${[...groups.values()].map((g) => `[${g.join(',')}]`).join(' ')}`,
    missing: (node) => {
      const vv = dbs[node]!.versionVector()
      return Object.entries(all).flatMap(([peer, seq]) => (vv[peer as keyof VersionVector] ?? 0) < seq ? [`n${author.get(peer)}:${vv[peer as keyof VersionVector] ?? 0}/${seq}`] : [])
    }
  }
}
