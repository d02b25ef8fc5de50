/**
 * Joining a database with a pairing code, on a new device: a temporary libp2p host with the
 * device's own identity (created in the data directory, without a database yet) finds a
 * member that is pairing — at the addresses given, or by mDNS on the pairing service tag —
 * runs the pairing protocol, then creates the replica with the database id it received and
 * saves the member's addresses for the first `blaze start` (node/bootstrap-file.ts).
 *
 * @example
 * const { code, addresses } = memberNode.pair({ role: 'writer' })
 * const { dbId } = await joinDatabase({ code, dataDir: '/tmp/phone', bootstrap: addresses, mdns: false })
 * const db = await open({ path: '/tmp/phone', dbId })
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerInfo } from '@libp2p/interface'
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
    host = await createHost({ identity, dbId: undefined, listen: [], bootstrap: [], mdns: useMdns, pairingMdns: 'ask', allowPeer: () => true })
    const h = host
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 30_000)
    const tried = new Set<string>()
    const found: PeerInfo[] = []
    let lastFailure: Error | undefined
    let wake: (() => void) | undefined
    h.addEventListener('peer:discovery', (e) => { found.push(e.detail); wake?.() })
    await h.start()

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
        const stream = await connection.newStream(PAIR_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
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
    for (const ma of addresses) {
      got = await attempt(async () => await h.dial(ma, { signal: AbortSignal.any([deadline, AbortSignal.timeout(10_000)]) }), ma.toString())
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
        ? 'the members reached are not pairing: run `blaze pair` on a member, then `blaze join` with the code it prints'
        : `no pairing member found${useMdns ? ' on the LAN' : ''}${addresses.length > 0 ? ` or at ${bootstrap.join(', ')}` : ''}: check that the member runs \`blaze start\` and \`blaze pair\`, and pass an address it printed with --bootstrap`)
    }
    result = got
  } finally {
    try { await host?.stop() } catch {}
    release()
  }
  // the replica: this database id, no data yet; the first sync brings the rest
  const db = await open({ path: options.dataDir, dbId: result.dbId, ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }) })
  await db.close()
  saveBootstrap(options.dataDir, result.addresses)
  return result
}
