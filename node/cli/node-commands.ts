/**
 * The device and its node: init, id, start, status, peers, pair, join.
 */
import { Option, type Command } from 'commander'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { open } from '../../engine/index.ts'
import { runningNode, streamApi } from '../control-api.ts'
import { runNode } from '../run-node.ts'
import { joinDatabase } from '../join.ts'
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../log.ts'
import { parseHostPort } from '../metrics-server.ts'
import { apiCaller, CliError, checkInitialised, collect, dataDir, openOptions, positiveNumber, printJson, withNodeOrDb } from './context.ts'

interface StartOptions {
  data?: string
  listen: string[]
  bootstrap: string[]
  mdns: boolean
  relay: boolean
  apiPort?: number
  metrics?: string
  http?: string
  tlsCert?: string
  tlsKey?: string
  logLevel: LogLevel
  logFormat: LogFormat
}

export function addNodeCommands (program: Command, parentPid: number = process.ppid): void {
  program.command('init')
    .description('create a new database, or prepare to join DBID')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .option('--db <dbid>', 'join this existing database instead of creating one')
    .action(async (opts: { data?: string, db?: string }) => {
      const dir = dataDir(opts)
      if (existsSync(join(dir, 'identity.key'))) throw new CliError(`${dir} already holds a database; use another directory`)
      const db = await open(openOptions(dir, opts.db === undefined ? {} : { dbId: opts.db }))
      printJson({ peerId: db.peerId, dbId: db.id })
      await db.close()
    })

  program.command('id')
    .description('print this device\'s peer id and the database id')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .action(async (opts: { data?: string }) => {
      printJson(await withNodeOrDb(dataDir(opts), async (api) => {
        const s = await api('GET', '/v1/status') as { peerId: string, dbId: string }
        return { peerId: s.peerId, dbId: s.dbId }
      }, (db) => ({ peerId: db.peerId, dbId: db.id })))
    })

  program.command('start')
    .description('run a node in the foreground until SIGINT/SIGTERM (or until the process that started it goes away)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .option('--listen <multiaddr>', 'address to listen on (repeatable; default: the addresses of the last run, else /ip4/0.0.0.0/tcp/0)', collect, [])
    .option('--bootstrap <multiaddr>', 'address of a node to dial, with /p2p/PEERID (repeatable)', collect, [])
    .option('--no-mdns', 'do not discover peers on the LAN')
    .option('--relay', 'also relay for members that cannot reach each other (an always-on node, e.g. a Pi)', false)
    .addOption(new Option('--api-port <n>', 'port of the local control API (default: any free port)').argParser((v) => Number.parseInt(v, 10)))
    .option('--metrics <host:port>', 'serve /metrics (Prometheus) and /health here; a port alone means 127.0.0.1')
    .option('--http <host:port>', 'serve the HTTP API here (tokens: blaze token create); a port alone means 127.0.0.1')
    .option('--tls-cert <file>', 'PEM certificate: serve the HTTP API over HTTPS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .addOption(new Option('--log-level <level>', 'least important lines shown').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--log-format <format>', 'text, or one JSON object per line').choices(['text', 'json']).default('text'))
    .action(async (opts: StartOptions) => {
      const dir = dataDir(opts)
      checkInitialised(dir)
      if (runningNode(dir) !== undefined) throw new CliError(`a node is already running on ${dir}; stop it first (its pid is in ${join(dir, 'control.json')})`)
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new CliError('--tls-cert and --tls-key go together', 2)
      if (opts.tlsCert !== undefined && opts.http === undefined) throw new CliError('--tls-cert serves the HTTP API: add --http HOST:PORT', 2)
      await runNode({
        data: dir,
        // without --listen: the ports of the last run (remembered in DIR), else any free port
        ...(opts.listen.length > 0 ? { listen: opts.listen } : {}),
        bootstrap: opts.bootstrap,
        mdns: opts.mdns,
        relay: opts.relay,
        log: { level: opts.logLevel, format: opts.logFormat },
        parentPid,
        ...(opts.apiPort === undefined ? {} : { apiPort: opts.apiPort }),
        ...(opts.metrics === undefined ? {} : { metrics: parseHostPort(opts.metrics, '--metrics') }),
        ...(opts.http === undefined ? {} : { http: { ...parseHostPort(opts.http, '--http'), ...(opts.tlsCert === undefined ? {} : { tls: { certFile: opts.tlsCert, keyFile: opts.tlsKey! } }) } })
      })
    })

  program.command('status')
    .description('peer id, database id, peers, version vector, the log and the state hash')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .action(async (opts: { data?: string }) => {
      printJson(await withNodeOrDb(dataDir(opts), async (api) => await api('GET', '/v1/status?stateHash=true'),
        (db) => ({ peerId: db.peerId, dbId: db.id, peers: [], versionVector: db.versionVector(), log: { ...db.logStats(), horizon: db.horizon() }, stateHash: db.stateHash() })))
    })

  program.command('peers')
    .description('the peers the running node syncs with')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .action(async (opts: { data?: string }) => {
      const dir = dataDir(opts)
      checkInitialised(dir)
      const info = runningNode(dir)
      if (info === undefined) throw new CliError(`no node is running on ${dir}: start it with \`blaze start --data ${dir}\``)
      const status = await apiCaller(info)('GET', '/v1/status') as { peers: string[], connections?: Array<{ peer: string, address: string, relayed: boolean }> }
      for (const peer of status.peers) {
        const conns = status.connections?.filter((c) => c.peer === peer) ?? []
        printJson({ peer, addresses: conns.map((c) => c.address), relayed: conns.length > 0 && conns.every((c) => c.relayed) })
      }
    })

  program.command('pair')
    .description('show a one-time code that lets a new device join (with `blaze join CODE`); waits until one has')
    .option('--data <dir>', 'data directory of a running node whose device is an owner or admin (default: $BLAZE_DATA)')
    .addOption(new Option('--role <role>', 'the role the new device gets').choices(['writer', 'reader', 'admin']).default('writer'))
    .addOption(new Option('--ttl <seconds>', 'how long the code is valid').default(600).argParser(positiveNumber('--ttl')))
    .action(async (opts: { data?: string, role: string, ttl: number }) => {
      const dir = dataDir(opts)
      checkInitialised(dir)
      const info = runningNode(dir)
      if (info === undefined) throw new CliError(`no node is running on ${dir}: start it with \`blaze start --data ${dir}\`, then run \`blaze pair\` again`)
      let outcome: Record<string, unknown> | undefined
      const status = await streamApi(info, '/v1/pair', { role: opts.role, ttlMs: Math.round(opts.ttl * 1000) }, (line) => {
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
    .option('--data <dir>', 'data directory for this device, without a database yet (default: $BLAZE_DATA)')
    .option('--bootstrap <multiaddr>', 'an address `blaze pair` printed (repeatable)', collect, [])
    .option('--no-mdns', 'do not look for the member on the LAN')
    .addOption(new Option('--timeout <seconds>', 'how long to look for the member').default(30).argParser(positiveNumber('--timeout')))
    .action(async (code: string, opts: { data?: string, bootstrap: string[], mdns: boolean, timeout: number }) => {
      const dir = dataDir(opts)
      const passphrase = process.env.BLAZE_PASSPHRASE
      const joined = await joinDatabase({
        code,
        dataDir: dir,
        bootstrap: opts.bootstrap,
        mdns: opts.mdns,
        timeoutMs: Math.round(opts.timeout * 1000),
        ...(passphrase === undefined ? {} : { passphrase }),
        log: (line) => { process.stderr.write(`[blaze] ${line}\n`) }
      })
      printJson({ dbId: joined.dbId, peerId: joined.peerId, role: joined.role })
      process.stderr.write(`joined database ${joined.dbId} as ${joined.role}; now run: blaze start --data ${dir}\n`)
    })
}
