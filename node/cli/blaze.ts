#!/usr/bin/env node
/**
 * `blaze` — the BlazeDB command line. Output of `id`, `get`, `status` is JSON on stdout;
 * errors go to stderr with a non-zero exit and say what to do. While a node runs on a data
 * directory, `put`, `get`, `status`, `id` and `members add` go through its control API (so
 * a put replicates at once); otherwise they open the database directly. `pair` needs a
 * running node (it shows a one-time code and waits for a device); `join CODE` runs on the
 * new device, in a data directory without a database.
 * A passphrase for an encrypted data directory comes from $BLAZE_PASSPHRASE.
 */
import { Command, Option } from 'commander'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database } from '../../engine/index.ts'
import { BlazeError } from '../../engine/errors.ts'
import { callApi, jsonReplacer, runningNode, streamApi, type ControlInfo } from '../control-api.ts'
import { runNode } from '../run-node.ts'
import { joinDatabase } from '../join.ts'

class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

function openOptions (data: string, dbId?: string): Parameters<typeof open>[0] {
  const passphrase = process.env.BLAZE_PASSPHRASE
  return { path: data, ...(passphrase === undefined ? {} : { passphrase }), ...(dbId === undefined ? {} : { dbId }) }
}

function checkInitialised (data: string): void {
  if (!existsSync(join(data, 'identity.key'))) throw new CliError(`no database in ${data}; create one with: blaze init --data ${data}`)
}

/** Runs `viaApi` against a running node on `data`, else `direct` on the opened database. */
async function withNodeOrDb<T> (data: string, viaApi: (api: ControlInfo) => Promise<T>, direct: (db: Database) => Promise<T> | T): Promise<T> {
  checkInitialised(data)
  const api = runningNode(data)
  if (api !== undefined) return await viaApi(api)
  // never create here: a directory whose store went missing is an error, not a new database
  const db = await open({ ...openOptions(data), create: false })
  try {
    return await direct(db)
  } finally {
    await db.close()
  }
}

async function api (info: ControlInfo, method: 'GET' | 'POST', path: string, payload?: unknown): Promise<unknown> {
  const { status, body } = await callApi(info, method, path, payload)
  if (status === 404 && path.startsWith('/get')) return undefined
  if (status >= 300) throw new CliError(`the running node refused: ${(body as { error?: string }).error ?? status}`)
  return body
}

function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonReplacer) + '\n')
}

function collect (value: string, previous: string[]): string[] { return [...previous, value] }

const program = new Command()
program.name('blaze').description('BlazeDB: an encrypted, peer-to-peer document database').showHelpAfterError()

program.command('init')
  .description('create a new database, or prepare to join DBID')
  .requiredOption('--data <dir>', 'data directory')
  .option('--db <dbid>', 'join this existing database instead of creating one')
  .action(async (opts: { data: string, db?: string }) => {
    if (existsSync(join(opts.data, 'identity.key'))) throw new CliError(`${opts.data} already holds a database; use another directory`)
    const db = await open(openOptions(opts.data, opts.db))
    printJson({ peerId: db.peerId, dbId: db.id })
    await db.close()
  })

program.command('id')
  .description('print this device\'s peer id and the database id')
  .requiredOption('--data <dir>', 'data directory')
  .action(async (opts: { data: string }) => {
    printJson(await withNodeOrDb(opts.data, async (info) => {
      const s = await api(info, 'GET', '/status') as { peerId: string, dbId: string }
      return { peerId: s.peerId, dbId: s.dbId }
    }, (db) => ({ peerId: db.peerId, dbId: db.id })))
  })

program.command('start')
  .description('run a node in the foreground until SIGINT/SIGTERM')
  .requiredOption('--data <dir>', 'data directory')
  .option('--listen <multiaddr>', 'address to listen on (repeatable; default: the addresses of the last run, else /ip4/0.0.0.0/tcp/0)', collect, [])
  .option('--bootstrap <multiaddr>', 'address of a node to dial, with /p2p/PEERID (repeatable)', collect, [])
  .option('--no-mdns', 'do not discover peers on the LAN')
  .option('--relay', 'also relay for members that cannot reach each other (an always-on node, e.g. a Pi)', false)
  .addOption(new Option('--api-port <n>', 'port of the local control API (default: any free port)').argParser((v) => Number.parseInt(v, 10)))
  .action(async (opts: { data: string, listen: string[], bootstrap: string[], mdns: boolean, relay: boolean, apiPort?: number }) => {
    checkInitialised(opts.data)
    if (runningNode(opts.data) !== undefined) throw new CliError(`a node is already running on ${opts.data}`)
    await runNode({
      data: opts.data,
      // without --listen: the ports of the last run (remembered in DIR), else any free port
      ...(opts.listen.length > 0 ? { listen: opts.listen } : {}),
      bootstrap: opts.bootstrap,
      mdns: opts.mdns,
      relay: opts.relay,
      ...(opts.apiPort === undefined ? {} : { apiPort: opts.apiPort })
    })
  })

const members = program.command('members').description('manage who may sync and write')
members.command('add')
  .description('grant a role to another device\'s peer id')
  .requiredOption('--data <dir>', 'data directory')
  .argument('<peerId>')
  .addOption(new Option('--role <role>', 'the role to grant').choices(['writer', 'reader', 'admin']).makeOptionMandatory())
  .action(async (peerId: string, opts: { data: string, role: 'writer' | 'reader' | 'admin' }) => {
    await withNodeOrDb(opts.data, async (info) => { await api(info, 'POST', '/members', { peerId, role: opts.role }) },
      async (db) => { await db.members.grant(peerId, opts.role) })
    printJson({ peerId, role: opts.role })
  })

program.command('pair')
  .description('show a one-time code that lets a new device join (with `blaze join CODE`); waits until one has')
  .requiredOption('--data <dir>', 'data directory of a running node whose device is an owner or admin')
  .addOption(new Option('--role <role>', 'the role the new device gets').choices(['writer', 'reader', 'admin']).default('writer'))
  .addOption(new Option('--ttl <seconds>', 'how long the code is valid').default(600).argParser((v) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`--ttl takes a number of seconds, got ${JSON.stringify(v)}`, 2)
    return n
  }))
  .action(async (opts: { data: string, role: string, ttl: number }) => {
    checkInitialised(opts.data)
    const info = runningNode(opts.data)
    if (info === undefined) throw new CliError(`no node is running on ${opts.data}: start it with \`blaze start --data ${opts.data}\`, then run \`blaze pair\` again`)
    let outcome: Record<string, unknown> | undefined
    const status = await streamApi(info, '/pair', { role: opts.role, ttlMs: Math.round(opts.ttl * 1000) }, (line) => {
      if ('expiresAt' in line) printJson(line)
      else outcome = line
    })
    if (status >= 300) throw new CliError(`the running node refused: ${String(outcome?.error ?? status)}`)
    if (outcome === undefined) throw new CliError('the node stopped before a device joined; start it again and run `blaze pair` again')
    if (typeof outcome.joined !== 'string') throw new CliError(String(outcome.error ?? 'the pairing window closed unused; run `blaze pair` again'))
    printJson(outcome)
  })

program.command('join')
  .description('join a database with the code `blaze pair` printed on a member (in a new data directory)')
  .argument('<code>', 'the pairing code, e.g. 1234-5678')
  .requiredOption('--data <dir>', 'data directory for this device (must not hold a database yet)')
  .option('--bootstrap <multiaddr>', 'an address `blaze pair` printed (repeatable)', collect, [])
  .option('--no-mdns', 'do not look for the member on the LAN')
  .addOption(new Option('--timeout <seconds>', 'how long to look for the member').default(30).argParser((v) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`--timeout takes a number of seconds, got ${JSON.stringify(v)}`, 2)
    return n
  }))
  .action(async (code: string, opts: { data: string, bootstrap: string[], mdns: boolean, timeout: number }) => {
    const passphrase = process.env.BLAZE_PASSPHRASE
    const joined = await joinDatabase({
      code,
      dataDir: opts.data,
      bootstrap: opts.bootstrap,
      mdns: opts.mdns,
      timeoutMs: Math.round(opts.timeout * 1000),
      ...(passphrase === undefined ? {} : { passphrase }),
      log: (line) => { process.stderr.write(`[blaze] ${line}\n`) }
    })
    printJson({ dbId: joined.dbId, peerId: joined.peerId, role: joined.role })
    process.stderr.write(`joined database ${joined.dbId} as ${joined.role}; now run: blaze start --data ${opts.data}\n`)
  })

program.command('put')
  .description('insert or replace a document; prints its id')
  .requiredOption('--data <dir>', 'data directory')
  .argument('<collection>')
  .argument('<json>', 'the document, as JSON')
  .action(async (collection: string, json: string, opts: { data: string }) => {
    let doc: unknown
    try {
      doc = JSON.parse(json)
    } catch {
      throw new CliError(`the document is not valid JSON: ${json}; quote it for your shell, e.g. '{"title":"hi"}'`, 2)
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliError('the document must be a JSON object, e.g. \'{"title":"hi"}\'', 2)
    const id = await withNodeOrDb(opts.data,
      async (info) => (await api(info, 'POST', '/put', { collection, doc }) as { id: string }).id,
      async (db) => await db.collection(collection).put(doc as Record<string, unknown>))
    process.stdout.write(id + '\n')
  })

program.command('get')
  .description('print a document as JSON (exit 1 if absent)')
  .requiredOption('--data <dir>', 'data directory')
  .argument('<collection>')
  .argument('<id>')
  .action(async (collection: string, id: string, opts: { data: string }) => {
    const doc = await withNodeOrDb(opts.data,
      async (info) => await api(info, 'GET', `/get?collection=${encodeURIComponent(collection)}&id=${encodeURIComponent(id)}`),
      (db) => db.collection(collection).get(id))
    if (doc === undefined) throw new CliError(`${collection}/${id} not found`)
    printJson(doc)
  })

program.command('status')
  .description('peer id, database id, connected peers, version vector and state hash')
  .requiredOption('--data <dir>', 'data directory')
  .action(async (opts: { data: string }) => {
    printJson(await withNodeOrDb(opts.data, async (info) => await api(info, 'GET', '/status'),
      (db) => ({ peerId: db.peerId, dbId: db.id, peers: [], versionVector: db.versionVector(), stateHash: db.stateHash() })))
  })

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`blaze: ${error.message}\n`)
    process.exit(error.exitCode)
  }
  if (error instanceof BlazeError) {
    process.stderr.write(`blaze: ${error.message} [${error.code}]\n`)
    process.exit(1)
  }
  process.stderr.write(`blaze: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
}
