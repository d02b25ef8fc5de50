/**
 * A todo list shared by two devices. Each device runs this program on its own data
 * directory; they find each other on the LAN (mDNS) or through --bootstrap, and every change
 * on one shows up on the other. Commands on stdin: add TEXT | done N | undo N | rm N | list |
 * invite PEERID | quit. See README.md beside this file.
 */
import { createInterface } from 'node:readline'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { open, type Document } from '../../engine/index.ts'
import { BlazeNode } from '../../node/blaze-node.ts'

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    join: { type: 'string' },
    bootstrap: { type: 'string', multiple: true, default: [] },
    'no-mdns': { type: 'boolean', default: false },
    listen: { type: 'string' }
  }
})
if (values.data === undefined) {
  process.stderr.write('usage: node examples/todo/todo.ts --data DIR [--join DBID] [--bootstrap MULTIADDR] [--no-mdns]\n')
  process.exit(2)
}
const fresh = !existsSync(join(values.data, 'identity.key'))
const db = await open({ path: values.data, ...(fresh && values.join !== undefined ? { dbId: values.join } : {}) })
const node = await BlazeNode.start({ db, listen: [values.listen ?? '/ip4/0.0.0.0/tcp/0'], bootstrap: values.bootstrap, mdns: !values['no-mdns'], ...(process.env.TODO_DEBUG === undefined ? {} : { log: (l: string) => process.stderr.write(l + '\n') }) })
const todos = db.collection('todos')

const say = (line: string): void => { process.stdout.write(line + '\n') }
const sorted = (): Document[] => todos.find().sort((a, b) => String(a.created).localeCompare(String(b.created)))
const list = (): void => {
  const items = sorted()
  if (items.length === 0) say('(no todos)')
  items.forEach((t, i) => say(`${i + 1}. [${t.done === true ? 'x' : ' '}] ${String(t.text)}`))
}

say(`todo list ${db.id} — this device is ${db.peerId}`)
say(`listening on ${node.multiaddrs().join(' ')}`)
if (db.members.roleOf(db.peerId) === null) say(`waiting to be invited: on the other device type  invite ${db.peerId}`)
list()

db.subscribe((event) => {
  if (event.origin === 'remote' && event.ops.some((op) => 'c' in op && op.c === 'todos')) {
    say('— updated from another device —')
    list()
  }
})

const nth = (arg: string): Document => {
  const item = sorted()[Number.parseInt(arg, 10) - 1]
  if (item === undefined) throw new Error(`no todo number ${arg}; type list to see them`)
  return item
}

const rl = createInterface({ input: process.stdin })
process.once('SIGINT', () => rl.close())
for await (const line of rl) {
  const [cmd = '', ...rest] = line.trim().split(/\s+/)
  const arg = rest.join(' ')
  try {
    if (cmd === 'add' && arg !== '') { await todos.insert({ text: arg, done: false, created: new Date().toISOString() }); list() }
    else if (cmd === 'done') { await todos.update(nth(arg).id, { done: true }); list() }
    else if (cmd === 'undo') { await todos.update(nth(arg).id, { done: false }); list() }
    else if (cmd === 'rm') { await todos.delete(nth(arg).id); list() }
    else if (cmd === 'list') list()
    else if (cmd === 'invite') { await db.members.grant(arg, 'writer'); say(`invited ${arg}`) }
    else if (cmd === 'quit') break
    else if (cmd !== '') say('commands: add TEXT | done N | undo N | rm N | list | invite PEERID | quit')
  } catch (error) {
    say(`error: ${(error as Error).message}`)
  }
}
rl.close()
await node.stop()
await db.close()
process.exit(0) // stdin may still be open (a terminal or a pipe): don't wait for it
