/**
 * Running a node in the foreground on a data directory: open the database, start the mesh
 * node and the control API, print readiness as one JSON line, stop cleanly on SIGINT/SIGTERM.
 */
import { open, type Database } from '../engine/index.ts'
import { BlazeNode } from './blaze-node.ts'
import { ControlApi } from './control-api.ts'
import { savedBootstrap } from './bootstrap-file.ts'

export interface RunOptions {
  data: string
  dbId?: string
  /** default: the addresses of the last run (same ports), else all interfaces on a free port */
  listen?: string[]
  bootstrap: string[]
  mdns: boolean
  /** run a circuit-relay server for the members (`blaze start --relay`) */
  relay?: boolean
  apiPort?: number
  /** extra text for humans after the ready line (stderr) */
  hint?: (db: Database, node: BlazeNode) => string
}

export async function runNode (options: RunOptions): Promise<void> {
  const passphrase = process.env.BLAZE_PASSPHRASE
  const db = await open({ path: options.data, ...(passphrase === undefined ? {} : { passphrase }), ...(options.dbId === undefined ? {} : { dbId: options.dbId }) })
  const log = (line: string): void => { process.stderr.write(`[blaze] ${line}\n`) }
  // addresses saved by `blaze join` (the member it paired with) are dialled too
  const bootstrap = [...new Set([...options.bootstrap, ...savedBootstrap(options.data)])]
  const node = await BlazeNode.start({
    db,
    dataDir: options.data,
    ...(options.listen === undefined || options.listen.length === 0 ? {} : { listen: options.listen }),
    bootstrap,
    mdns: options.mdns,
    relay: options.relay ?? false,
    log
  })
  const api = await ControlApi.start(node, options.data, options.apiPort ?? 0)
  process.stdout.write(JSON.stringify({ status: 'ready', peerId: node.peerId, dbId: db.id, addresses: node.multiaddrs(), apiPort: api.info.port }) + '\n')
  if (options.hint !== undefined) process.stderr.write(options.hint(db, node) + '\n')
  // pairing a device through a relay (the Pi) uses this node's relayed address: say when it has one
  let relayed = new Set<string>()
  const sayRelayed = (): void => {
    const now = node.multiaddrs().filter((a) => a.includes('/p2p-circuit'))
    for (const a of now) if (!relayed.has(a)) log(`reachable through a relay at ${a}`)
    relayed = new Set(now)
  }
  node.host.addEventListener('self:peer:update', sayRelayed)
  sayRelayed()

  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      log(`${signal}: stopping`)
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await api.stop()
  await node.stop()
  await db.close()
  log('stopped')
}
