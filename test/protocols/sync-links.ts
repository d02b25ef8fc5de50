/**
 * Link factories for `describeSyncLink`: an in-process stream pair, and two BlazeNodes over
 * any libp2p transport (memory, TCP; a relayed connection needs only another factory that
 * returns the same `SyncLink`).
 */
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Database } from '../../engine/index.ts'
import { SyncSession } from '../../protocols/sync/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'
import type { Transports } from '../../node/host.ts'
import type { MakeLink, SyncLink } from './describe-sync-link.ts'

/** Two sessions over an in-process stream pair; `restore` wires a new pair. */
export async function streamLink (a: Database, b: Database): Promise<SyncLink> {
  let sessions: [SyncSession, SyncSession]
  const connect = async (): Promise<void> => {
    const [x, y] = await streamPair()
    sessions = [new SyncSession({ db: a, stream: x, remotePeer: b.peerId }), new SyncSession({ db: b, stream: y, remotePeer: a.peerId })]
  }
  await connect()
  return {
    ready: async () => sessions,
    restore: connect,
    close: async () => { for (const s of sessions) { await s.close(); await s.done } }
  }
}

/** Resolves with both nodes' sessions with each other once both are up (bounded, event-driven). */
export function bothSessions (na: BlazeNode, nb: BlazeNode, timeoutMs = 20_000): Promise<[SyncSession, SyncSession]> {
  const get = (): [SyncSession, SyncSession] | undefined => {
    const sa = na.host.services.sync.session(nb.peerId)
    const sb = nb.host.services.sync.session(na.peerId)
    return sa !== undefined && sb !== undefined ? [sa, sb] : undefined
  }
  return new Promise((resolve, reject) => {
    const now = get()
    if (now !== undefined) { resolve(now); return }
    const off = (): void => { na.removeEventListener('session:start', check); nb.removeEventListener('session:start', check) }
    const timer = setTimeout(() => { off(); reject(new Error(`no sessions both ways within ${timeoutMs} ms`)) }, timeoutMs)
    function check (): void {
      const s = get()
      if (s === undefined) return
      clearTimeout(timer)
      off()
      resolve(s)
    }
    na.addEventListener('session:start', check)
    nb.addEventListener('session:start', check)
  })
}

/**
 * Two BlazeNodes over the given transport; b dials a's address once (@libp2p/bootstrap
 * ignores /memory addresses: its matcher knows only IP, DNS and friends); from then on
 * their peer managers keep the link up.
 */
export function nodeLink (transports: () => Transports, listen: () => string[]): MakeLink {
  return async (a: Database, b: Database): Promise<SyncLink> => {
    const common = { mdns: false, backoffMs: 50, maxBackoffMs: 500 }
    const na = await BlazeNode.start({ db: a, listen: listen(), transports: transports(), ...common })
    const nb = await BlazeNode.start({ db: b, listen: listen(), transports: transports(), ...common })
    await nb.host.dial(multiaddr(na.multiaddrs()[0]!), { signal: AbortSignal.timeout(10_000) })
    return {
      ready: async () => await bothSessions(na, nb),
      restore: async () => { await bothSessions(na, nb) },
      close: async () => { await nb.stop(); await na.stop() }
    }
  }
}

