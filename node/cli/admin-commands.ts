/**
 * Running a database: members, API tokens, backups.
 */
import { Option, type Command } from 'commander'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { restoreBackup, type Role } from '../../engine/index.ts'
import { TokenStore, TOKEN_ROLES, type TokenRole } from '../http/tokens.ts'
import { CliError, checkInitialised, dataDir, printJson, progressBar, withNodeOrDb } from './context.ts'

export function addAdminCommands (program: Command): void {
  const members = program.command('members').description('manage who may sync and write')
  members.command('list')
    .description('every member and its role, one JSON line each')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .action(async (opts: { data?: string }) => {
      const list = await withNodeOrDb(dataDir(opts), async (api) => (await api('GET', '/v1/members') as { members: unknown[] }).members, (db) => db.members.list())
      for (const m of list) printJson(m)
    })
  members.command('add')
    .description('grant a role to another device\'s peer id (a signed, replicated change)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<peerId>')
    .addOption(new Option('--role <role>', 'the role to grant').choices(['writer', 'reader', 'admin']).makeOptionMandatory())
    .action(async (peerId: string, opts: { data?: string, role: Role }) => {
      await withNodeOrDb(dataDir(opts), async (api) => { await api('POST', '/v1/members', { peerId, role: opts.role }) }, async (db) => { await db.members.grant(peerId, opts.role) })
      printJson({ peerId, role: opts.role })
    })
  members.command('remove')
    .description('revoke a member (its later changes are refused everywhere)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<peerId>')
    .action(async (peerId: string, opts: { data?: string }) => {
      await withNodeOrDb(dataDir(opts), async (api) => { await api('DELETE', `/v1/members/${encodeURIComponent(peerId)}`) }, async (db) => {
        if (db.members.roleOf(peerId) === null) throw new CliError(`${peerId} is not a member; \`blaze members list\` shows who is`)
        await db.members.revoke(peerId)
      })
      printJson({ peerId, revoked: true })
    })

  const token = program.command('token').description('bearer tokens for the HTTP API (blaze start --http)')
  token.command('create')
    .description('create a token; it is printed once, and stored only hashed')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .addOption(new Option('--role <role>', 'reader: read only; writer: also write; admin: also members, pairing, backups').choices([...TOKEN_ROLES]).makeOptionMandatory())
    .option('--name <name>', 'a note to tell tokens apart')
    .action((opts: { data?: string, role: TokenRole, name?: string }) => {
      const dir = dataDir(opts)
      checkInitialised(dir)
      printJson(new TokenStore(dir).create(opts.role, opts.name === undefined ? {} : { name: opts.name }))
    })
  token.command('list')
    .description('the tokens (ids, roles, names; never the secrets)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .action((opts: { data?: string }) => {
      for (const t of new TokenStore(dataDir(opts)).list()) printJson({ id: t.id, role: t.role, created: new Date(t.created).toISOString(), ...(t.name === undefined ? {} : { name: t.name }) })
    })
  token.command('revoke')
    .description('revoke a token by its id (a running node refuses it at once)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<id>', 'the token id (or the token itself)')
    .action((id: string, opts: { data?: string }) => {
      new TokenStore(dataDir(opts)).revoke(id)
      printJson({ id, revoked: true })
    })

  program.command('backup')
    .description('write a consistent copy of the data directory to FILE (encrypted when the directory is)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<file>')
    .action(async (file: string, opts: { data?: string }) => {
      const target = resolve(file)
      const done = await withNodeOrDb(dataDir(opts), async (api) => await api('POST', '/v1/backup', { file: target }), async (db) => {
        const bar = progressBar('backing up')
        try {
          return { file: target, ...await db.backup(target, { onProgress: bar.update }) }
        } finally {
          bar.stop()
        }
      })
      printJson(done)
    })

  program.command('restore')
    .description('restore a backup into a new data directory (never over a database)')
    .argument('<file>')
    .option('--data <dir>', 'the new data directory (default: $BLAZE_DATA)')
    .action(async (file: string, opts: { data?: string }) => {
      if (!existsSync(file)) throw new CliError(`no backup file ${file}`, 2)
      const passphrase = process.env.BLAZE_PASSPHRASE
      const bar = progressBar('restoring')
      try {
        const restored = await restoreBackup({ file, dir: dataDir(opts), onProgress: bar.update, ...(passphrase === undefined ? {} : { passphrase }) })
        printJson(restored)
      } finally {
        bar.stop()
      }
    })
}
