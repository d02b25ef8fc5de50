import type { Database } from '../engine/index.ts'

/**
 * Resolves once `predicate()` holds, re-checking after every change applied to any of `dbs`;
 * rejects after `timeoutMs` (a bound, not a sleep).
 */
export function until (dbs: Database | Database[], predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const list = Array.isArray(dbs) ? dbs : [dbs]
  return new Promise((resolve, reject) => {
    if (predicate()) { resolve(); return }
    const unsubscribes: Array<() => void> = []
    const done = (error?: Error): void => {
      clearTimeout(timer)
      for (const u of unsubscribes) u()
      if (error === undefined) resolve()
      else reject(error)
    }
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    let pending = false
    for (const db of list) {
      unsubscribes.push(db.subscribe(() => {
        // one check per burst of changes, on the next turn (when they are all applied)
        if (pending) return
        pending = true
        setImmediate(() => {
          pending = false
          try { if (predicate()) done() } catch (e) { done(e as Error) }
        })
      }))
    }
  })
}

/** Resolves when all databases have the same state hash. */
export function converged (dbs: Database[], timeoutMs = 20_000): Promise<void> {
  return until(dbs, () => new Set(dbs.map((d) => d.stateHash())).size === 1, timeoutMs, 'convergence')
}
