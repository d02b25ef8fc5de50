#!/usr/bin/env node
/**
 * `blaze` — the BlazeDB command line. Output of `id`, `get`, `status` is JSON on stdout;
 * errors go to stderr with a non-zero exit and say what to do.
 * A passphrase for an encrypted data directory comes from $BLAZE_PASSPHRASE.
 */
import { Command } from 'commander'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database } from '../../engine/index.ts'
import { BlazeError } from '../../engine/errors.ts'

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

async function withDb<T> (data: string, fn: (db: Database) => Promise<T> | T): Promise<T> {
  if (!existsSync(join(data, 'identity.key'))) throw new CliError(`no database in ${data}; create one with: blaze init --data ${data}`)
  const db = await open(openOptions(data))
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v) + '\n')
}

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
    await withDb(opts.data, (db) => printJson({ peerId: db.peerId, dbId: db.id }))
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
    await withDb(opts.data, async (db) => { process.stdout.write(await db.collection(collection).put(doc as Record<string, unknown>) + '\n') })
  })

program.command('get')
  .description('print a document as JSON (exit 1 if absent)')
  .requiredOption('--data <dir>', 'data directory')
  .argument('<collection>')
  .argument('<id>')
  .action(async (collection: string, id: string, opts: { data: string }) => {
    const doc = await withDb(opts.data, (db) => db.collection(collection).get(id))
    if (doc === undefined) throw new CliError(`${collection}/${id} not found`)
    printJson(doc)
  })

program.command('status')
  .description('peer id, database id, version vector and state hash')
  .requiredOption('--data <dir>', 'data directory')
  .action(async (opts: { data: string }) => {
    await withDb(opts.data, (db) => printJson({ peerId: db.peerId, dbId: db.id, peers: [], versionVector: db.versionVector(), stateHash: db.stateHash() }))
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
  throw error
}
