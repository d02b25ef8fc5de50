/**
 * `npm start`: opens (creating on first run) the database in the default data directory
 * (`$BLAZE_DATA`, or `.data/default` in the project) and keeps it open until SIGINT/SIGTERM.
 * Networking arrives with the mesh node; until then this runs the embedded engine alone.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open } from '../../engine/index.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const path = process.env.BLAZE_DATA ?? join(root, '.data', 'default')
const passphrase = process.env.BLAZE_PASSPHRASE
const db = await open(passphrase === undefined ? { path } : { path, passphrase })
const vv = db.versionVector()
process.stdout.write(JSON.stringify({ status: 'ready', data: path, dbId: db.id, peerId: db.peerId, changes: Object.values(vv).reduce((a, b) => a + b, 0) }) + '\n')
process.stderr.write(`BlazeDB node running on ${path} (database ${db.id}). Press Ctrl+C to stop.\n`)

let stopping = false
async function stop (signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  process.stderr.write(`${signal}: closing the database…\n`)
  await db.close()
  process.exit(0)
}
process.on('SIGINT', () => { void stop('SIGINT') })
process.on('SIGTERM', () => { void stop('SIGTERM') })
// keep the process alive until a signal arrives
setInterval(() => {}, 1 << 30)
