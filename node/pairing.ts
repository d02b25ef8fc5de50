/**
 * Pairing on a running node: the pairing service with the node's database and addresses, and
 * `openPairing`, which checks that this device may grant the role before it shows a code.
 */
import type { Database, Role } from '../engine/index.ts'
import { DEFAULT_TTL_MS, PairService, type PairingOffer, type PairRole } from '../protocols/pair/index.ts'
import { InvalidNodeArgumentError, PairingNotAllowedError } from './errors.ts'
import { announcePairing, type Host } from './host.ts'

export interface PairOptions {
  /** role the new device gets; default 'writer' */
  role?: PairRole
  /** how long the code stays valid, in ms; default 10 min, at most 24 h */
  ttlMs?: number
}

interface PairingNode extends EventTarget {
  readonly db: Database
  readonly pairing: PairService
  readonly guests: { forget: (peer: string) => void }
  readonly host: Host
  multiaddrs: () => string[]
}

const ROLES: readonly PairRole[] = ['admin', 'writer', 'reader']
const GRANTERS: readonly Role[] = ['owner', 'admin']

/** Dialable addresses with the peer id, so a device can find this node by any of them. */
export function dialableAddresses (addresses: string[], peerId: string): string[] {
  return addresses.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`)
}

export function pairService (node: PairingNode, log: (line: string) => void): PairService {
  return new PairService({
    db: node.db,
    addresses: () => dialableAddresses(node.multiaddrs(), node.db.peerId),
    log,
    windowChanged: (open) => { void announcePairing(node.host, open).catch((error: Error) => { log(`pairing mDNS: ${error.message}`) }) },
    answered: (peer, error) => {
      if (error !== undefined) return
      // a member now: no longer bound by the guest limits
      node.guests.forget(peer)
      node.dispatchEvent(new CustomEvent('paired', { detail: { peer, role: node.db.members.roleOf(peer) } }))
    }
  })
}

export function openPairing (node: PairingNode, options: PairOptions): PairingOffer {
  const role = options.role ?? 'writer'
  if (!ROLES.includes(role)) throw new InvalidNodeArgumentError(`a paired device can be ${ROLES.join(', ')}; got ${JSON.stringify(role)}`)
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS
  if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > 24 * 3_600_000) throw new InvalidNodeArgumentError(`the pairing TTL must be between 1 ms and 24 h, got ${String(ttlMs)} ms`)
  const mine = node.db.members.roleOf(node.db.peerId)
  if (mine === null || !GRANTERS.includes(mine)) {
    throw new PairingNotAllowedError(`this device is ${mine ?? 'not a member'} of database ${node.db.id}; only an owner or admin can pair devices — run \`blaze pair\` on one of those`)
  }
  return node.pairing.open({ role, ttlMs })
}
