/**
 * `npm start`: runs a node on the default data directory (`$BLAZE_DATA`, or `.data/default`
 * in the project), creating the database on first run, and prints how a second device joins.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runNode } from '../run-node.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const data = process.env.BLAZE_DATA ?? join(root, '.data', 'default')
await runNode({
  data,
  bootstrap: [],
  mdns: true,
  hint: (db, node) => [
    `BlazeDB node running on ${data} (database ${db.id}). Ctrl+C stops it.`,
    'To add a second device:',
    `  here:   npx blaze pair --data ${data}                      (prints a one-time code)`,
    '  there:  npx blaze join CODE --data ./device2             (finds this node by mDNS)',
    `          or add --bootstrap ${node.multiaddrs().find((a) => a.includes('127.0.0.1')) ?? node.multiaddrs()[0] ?? ''}`,
    '  there:  npx blaze start --data ./device2'
  ].join('\n')
})
