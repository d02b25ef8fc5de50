/**
 * What a node remembers about the network in its data directory, so that a restart finds
 * its peers again and they find it:
 *
 * | path                | what                                                        |
 * |---------------------|-------------------------------------------------------------|
 * | `DATA/peers/`       | libp2p's peer store (LevelDB via datastore-level): peers' addresses, keys, protocols |
 * | `DATA/listen.json`  | `{ "listen": ["/ip4/127.0.0.1/tcp/41234", …] }`: the addresses it last bound, real ports |
 *
 * A remembered port that is taken at the next start is replaced by a new one (and logged).
 */
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { writeFileAtomic } from '../engine/data-dir.ts'

export const PEERS_DIR = 'peers'
export const LISTEN_FILE = 'listen.json'

/** Opens (creating if needed) the peer store's datastore in `DATA/peers/`. */
export async function openPeerDatastore (dataDir: string): Promise<LevelDatastore> {
  const store = new LevelDatastore(join(dataDir, PEERS_DIR))
  await store.open()
  return store
}

/** The listen addresses of the last run, or undefined (none yet, or unreadable: then logged). */
export function rememberedListen (dataDir: string, log: (line: string) => void): string[] | undefined {
  const path = join(dataDir, LISTEN_FILE)
  if (!existsSync(path)) return undefined
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { listen?: unknown }
    const list = parsed.listen
    if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) throw new Error('no "listen" list of strings')
    for (const a of list) multiaddr(a)
    return list
  } catch (error) {
    log(`ignoring ${path} (${(error as Error).message}): listening on the default address; the file is rewritten after start`)
    return undefined
  }
}

export function rememberListen (dataDir: string, listen: string[]): void {
  writeFileAtomic(join(dataDir, LISTEN_FILE), JSON.stringify({ listen }) + '\n')
}

function tcpParts (addr: Multiaddr): { family: 4 | 6, host: string, port: number } | undefined {
  const parts = addr.getComponents()
  const ip = parts[0]
  const tcp = parts[1]
  if (ip === undefined || tcp === undefined || tcp.name !== 'tcp' || (ip.name !== 'ip4' && ip.name !== 'ip6')) return undefined
  return { family: ip.name === 'ip4' ? 4 : 6, host: ip.value ?? '', port: Number(tcp.value) }
}

function withPort (addr: string, port: number): string {
  const parts = multiaddr(addr).getComponents()
  return parts.map((p, i) => i === 1 ? `/tcp/${port}` : `/${p.name}${p.value === undefined ? '' : `/${p.value}`}`).join('')
}

function portFree (host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => { server.close(() => resolve(true)) })
  })
}

/** The addresses with every taken TCP port replaced by 0 (a new one), each replacement logged. */
export async function freeListen (listen: string[], log: (line: string) => void): Promise<string[]> {
  return await Promise.all(listen.map(async (addr) => {
    const tcp = tcpParts(multiaddr(addr))
    if (tcp === undefined || tcp.port === 0 || await portFree(tcp.host, tcp.port)) return addr
    const fresh = withPort(addr, 0)
    log(`remembered port ${tcp.port} on ${tcp.host} is taken: listening on a new port instead (${fresh})`)
    return fresh
  }))
}

/**
 * The configured listen addresses with each TCP port 0 replaced by the port actually bound
 * (found among `bound`, the listeners' addresses: same family, same host unless a wildcard).
 */
export function boundListen (listen: string[], bound: Multiaddr[]): string[] {
  const tcpBound = bound.flatMap((m) => { const t = tcpParts(m); return t === undefined ? [] : [t] })
  return listen.map((addr) => {
    const want = tcpParts(multiaddr(addr))
    if (want === undefined || want.port !== 0) return addr
    const wildcard = want.host === '0.0.0.0' || want.host === '::'
    const hit = tcpBound.find((b) => b.family === want.family && (wildcard || b.host === want.host))
    return hit === undefined ? addr : withPort(addr, hit.port)
  })
}
