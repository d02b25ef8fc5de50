/**
 * Joining a database with a pairing code, on a new device: a temporary libp2p host with the
 * device's own identity (created in the data directory, without a database yet) finds a
 * member that is pairing — at the addresses given, or by mDNS on the pairing service tag —
 * runs the pairing protocol, then creates the replica with the database id it received and
 * saves the member's addresses for the first `blaze start` (node/bootstrap-file.ts).
 *
 * Through a relay (the Pi): a member that holds a reservation on a relay prints a relayed
 * address, `/…/p2p/RELAY/p2p-circuit/p2p/MEMBER`. Its first part is the relay's address as
 * the member sees it, which the new device may have no route to; so when the relay's own
 * address is given too (`--bootstrap` of the relay, as this device reaches it), the member is
 * dialled through the relay by peer id first (`/p2p/RELAY/p2p-circuit/p2p/MEMBER`), then at
 * the address as printed. The relay's addresses are saved with the member's, so the first
 * `blaze start` reaches the relay as well.
 *
 * @example
 * const { code, addresses } = memberNode.pair({ role: 'writer' })
 * const { dbId } = await joinDatabase({ code, dataDir: '/tmp/phone', bootstrap: addresses, mdns: false })
 * const db = await open({ path: '/tmp/phone', dbId })
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { open } from '../engine/index.ts'
import { prepareDataDir } from '../engine/data-dir.ts'
import { lockDir } from '../engine/db/lock.ts'
import { joinOver, parseCode, PROTOCOL as PAIR_PROTOCOL, NotPairingError, type PairRole } from '../protocols/pair/index.ts'
import { createHost, type Host } from './host.ts'
import { saveBootstrap } from './bootstrap-file.ts'
import { AlreadyJoinedError, describeError, InvalidNodeArgumentError, NoPairingPeerError } from './errors.ts'

export interface JoinOptions {
  /** the code `blaze pair` printed, with or without the dash */
  code: string
  /** an empty (or new) data directory */
  dataDir: string
  /** member addresses to try (multiaddrs, ideally with /p2p/PEERID) */
  bootstrap?: string[]
  /** look for a pairing member on the LAN; default true */
  mdns?: boolean
  passphrase?: string
  /** how long to look for a pairing member; default 30 s */
  timeoutMs?: number
  log?: (line: string) => void
}

export interface Joined { dbId: string, peerId: string, role: PairRole, member: string, addresses: string[] }

export async function joinDatabase (options: JoinOptions): Promise<Joined> {
  const code = parseCode(options.code)
  const log = options.log ?? (() => {})
  const bootstrap = options.bootstrap ?? []
  const useMdns = options.mdns ?? true
  if (bootstrap.length === 0 && !useMdns) throw new InvalidNodeArgumentError('nowhere to look for the member: give its address (--bootstrap, as `blaze pair` prints it) or allow mDNS')
  const addresses = bootstrap.map((a) => {
    try { return multiaddr(a) } catch { throw new InvalidNodeArgumentError(`not a multiaddr: ${JSON.stringify(a)}; use an address \`blaze pair\` printed, such as /ip4/192.168.1.5/tcp/4001/p2p/12D3KooW…`) }
  })
  if (existsSync(join(options.dataDir, 'db'))) {
    throw new AlreadyJoinedError(`${options.dataDir} already holds a database; join into a new, empty directory (or run \`blaze start --data ${options.dataDir}\`)`)
  }
  const { identity } = prepareDataDir(options.dataDir, options.passphrase)
  const release = lockDir(options.dataDir)
  let result: Joined
  let host: Host | undefined
  try {
    // no reservations: a device that is not a member yet would be refused them anyway
    host = await createHost({ identity, dbId: undefined, listen: [], bootstrap: [], mdns: useMdns, pairingMdns: 'ask', allowPeer: () => true, useRelays: false })
    const h = host
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 30_000)
    const tried = new Set<string>()
    const found: PeerInfo[] = []
    let lastFailure: Error | undefined
    let wake: (() => void) | undefined
    h.addEventListener('peer:discovery', (e) => { found.push(e.detail); wake?.() })
    await h.start()
    // the relays (and members) at addresses we were given, so a circuit can reach them by peer id
    const reachable = new Set<string>()
    for (const ma of addresses) {
      const direct = directPart(ma)
      if (direct === undefined) continue
      await h.peerStore.merge(peerIdFromString(direct.peer), { multiaddrs: [direct.address] })
      reachable.add(direct.peer)
    }

    const attempt = async (dial: () => Promise<Connection>, what: string): Promise<Joined | undefined> => {
      let connection: Connection
      try {
        connection = await dial()
      } catch (error) {
        log(`could not reach ${what}: ${describeError(error)}`)
        return undefined
      }
      const member = connection.remotePeer.toString()
      if (tried.has(member)) return undefined
      tried.add(member)
      try {
        const stream = await connection.newStream(PAIR_PROTOCOL, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
        const got = await joinOver({ stream, code, localPeer: identity.peerId, remotePeer: member, signal: deadline })
        return { dbId: got.dbId, peerId: identity.peerId, role: got.role, member: got.member, addresses: got.addresses }
      } catch (error) {
        if (error instanceof NotPairingError) { log(`${member} is not pairing`); return undefined }
        // wrong, expired, used codes and the like: the user has to act, trying elsewhere won't help
        if ((error as { wireCode?: string }).wireCode !== undefined && (error as Error).name !== 'PairingProtocolError') throw error
        log(`pairing with ${member} failed: ${describeError(error)}`)
        lastFailure = error as Error
        return undefined
      } finally {
        await connection.close().catch(() => {})
      }
    }

    let got: Joined | undefined
    const dialSignal = (): AbortSignal => AbortSignal.any([deadline, AbortSignal.timeout(10_000)])
    for (const ma of addresses) {
      const circuit = circuitParts(ma)
      if (circuit !== undefined && reachable.has(circuit.relay) && !tried.has(circuit.member)) {
        const byId = multiaddr(`/p2p/${circuit.relay}/p2p-circuit/p2p/${circuit.member}`)
        got = await attempt(async () => await h.dial(byId, { signal: dialSignal() }), `${byId.toString()} (through the relay at the address given)`)
        if (got !== undefined) break
        // the member answered (not pairing, or the exchange failed): the printed address leads to it too
        if (tried.has(circuit.member)) continue
      }
      got = await attempt(async () => await h.dial(ma, { signal: dialSignal() }), ma.toString())
      if (got !== undefined) break
    }
    while (got === undefined && useMdns && !deadline.aborted) {
      const info = found.shift()
      if (info === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve
          deadline.addEventListener('abort', () => resolve(), { once: true })
        })
        wake = undefined
        continue
      }
      if (tried.has(info.id.toString())) continue
      got = await attempt(async () => await h.dial(info.multiaddrs.length > 0 ? info.multiaddrs : info.id, { signal: AbortSignal.any([deadline, AbortSignal.timeout(10_000)]) }), info.id.toString())
    }
    if (got === undefined) {
      // a member was pairing, but the exchange broke (tampered, timed out): that is the news
      if (lastFailure !== undefined) throw lastFailure
      throw new NoPairingPeerError(tried.size > 0
        ? `the members reached are not pairing: run \`blaze pair\` on a member, then \`blaze join\` with the code it prints${addresses.some((ma) => circuitParts(ma) !== undefined) ? '' : '; if you reached a relay (the Pi), also pass the relayed address `blaze pair` printed (…/p2p/RELAY/p2p-circuit/p2p/MEMBER)'}`
        : `no pairing member found${useMdns ? ' on the LAN' : ''}${addresses.length > 0 ? ` or at ${bootstrap.join(', ')}` : ''}: check that the member runs \`blaze start\` and \`blaze pair\`, and pass an address it printed with --bootstrap${unreachedRelay(addresses, reachable)}`)
    }
    result = got
  } finally {
    try { await host?.stop() } catch {}
    release()
  }
  // the replica: this database id, no data yet; the first sync brings the rest
  const db = await open({ path: options.dataDir, dbId: result.dbId, ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }) })
  await db.close()
  // the addresses we were given (a relay among them, as this device reaches it), then the member's
  const given = addresses.filter((ma) => directPart(ma) !== undefined).map((ma) => ma.toString())
  saveBootstrap(options.dataDir, [...new Set([...given, ...result.addresses])])
  return result
}

/** A hint when a relayed address was given without its relay's own address. */
function unreachedRelay (addresses: Multiaddr[], reachable: Set<string>): string {
  const relay = addresses.map(circuitParts).find((c) => c !== undefined && !reachable.has(c.relay))
  return relay === undefined
    ? ''
    : `; for a relayed address (…/p2p-circuit/…), also pass the relay's address as this device reaches it, e.g. --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/${relay.relay}`
}

/** `/ip4/…/tcp/…/p2p/PEER` → its transport address and peer; undefined for a relayed address or one without a peer id. */
function directPart (ma: Multiaddr): { address: Multiaddr, peer: string } | undefined {
  const parts = ma.getComponents()
  if (parts.some((c) => c.name === 'p2p-circuit')) return undefined
  const last = parts.at(-1)
  if (last?.name !== 'p2p' || last.value === undefined || parts.length < 2) return undefined
  return { address: ma.decapsulate(`/p2p/${last.value}`), peer: last.value }
}

/** `/…/p2p/RELAY/p2p-circuit/p2p/MEMBER` → its relay and member; undefined otherwise. */
function circuitParts (ma: Multiaddr): { relay: string, member: string } | undefined {
  const parts = ma.getComponents()
  const at = parts.findIndex((c) => c.name === 'p2p-circuit')
  const relay = parts[at - 1]
  const member = parts[at + 1]
  if (at < 1 || relay?.name !== 'p2p' || member?.name !== 'p2p' || relay.value === undefined || member.value === undefined) return undefined
  return { relay: relay.value, member: member.value }
}
