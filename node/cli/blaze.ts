#!/usr/bin/env node
/**
 * `blaze` — the BlazeDB command line. Output is JSON on stdout (one document per line for
 * lists); errors go to stderr with a non-zero exit and say what to do. While a node runs on a
 * data directory, commands go through its local API (so a write replicates at once);
 * otherwise they open the database directly. `--data DIR` defaults to $BLAZE_DATA; a
 * passphrase for an encrypted directory comes from $BLAZE_PASSPHRASE.
 */
import { startedBy } from './parent.ts'
import { Command } from 'commander'
import { existsSync, readFileSync } from 'node:fs'
import { BlazeError } from '../../engine/errors.ts'
import { addAdminCommands } from './admin-commands.ts'
import { CliError } from './context.ts'
import { addDataCommands } from './data-commands.ts'
import { addNodeCommands } from './node-commands.ts'

// node/cli/ in a checkout, dist/node/cli/ in the installed package
const manifest = ['../../package.json', '../../../package.json'].map((p) => new URL(p, import.meta.url)).find((u) => existsSync(u))
const pkg = manifest === undefined ? { version: 'unknown' } : JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }

const program = new Command()
program.name('blaze').description('BlazeDB: an encrypted, peer-to-peer document database').version(pkg.version).showHelpAfterError()
addNodeCommands(program, startedBy)
addDataCommands(program)
addAdminCommands(program)

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
