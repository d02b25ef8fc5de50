/**
 * What every `blaze` command shares: the data directory (`--data`, else `$BLAZE_DATA`), the
 * passphrase (`$BLAZE_PASSPHRASE`), running a command through the node's API when a node runs
 * on the directory or on the opened database otherwise, reading JSON arguments (inline, `-`
 * for stdin, `@file`), printing JSON, and progress bars on stderr.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import cliProgress from 'cli-progress'
import { open, type Database, type OpenOptions } from '../../engine/index.ts'
import { callApi, jsonReplacer, runningNode, type ControlInfo } from '../control-api.ts'

export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The data directory: `--data`, else $BLAZE_DATA. */
export function dataDir (opts: { data?: string }): string {
  const dir = opts.data ?? process.env.BLAZE_DATA
  if (dir === undefined || dir === '') throw new CliError('which data directory? pass --data DIR or set $BLAZE_DATA', 2)
  return dir
}

export function openOptions (data: string, extra: Partial<OpenOptions> = {}): OpenOptions {
  const passphrase = process.env.BLAZE_PASSPHRASE
  return { path: data, ...(passphrase === undefined ? {} : { passphrase }), ...extra }
}

export function checkInitialised (data: string): void {
  if (!existsSync(join(data, 'identity.key'))) throw new CliError(`no database in ${data}; create one with \`blaze init --data ${data}\`, or join one with \`blaze join CODE --data ${data}\``)
}

/** A call on the running node's API: throws a CliError with the node's message on a refusal. */
export type ApiCall = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, payload?: unknown) => Promise<unknown>

export function apiCaller (info: ControlInfo): ApiCall {
  return async (method, path, payload) => {
    const { status, body } = await callApi(info, method, path, payload)
    if (status >= 300) {
      const b = body as { error?: string, code?: string }
      throw new CliError(`${b.error ?? `the node answered ${status}`}${b.code === undefined ? '' : ` [${b.code}]`}`)
    }
    return body
  }
}

/** Runs `viaApi` against a node running on `data`, else `direct` on the opened database. */
export async function withNodeOrDb<T> (data: string, viaApi: (api: ApiCall, info: ControlInfo) => Promise<T>, direct: (db: Database) => Promise<T> | T): Promise<T> {
  checkInitialised(data)
  const info = runningNode(data)
  if (info !== undefined) return await viaApi(apiCaller(info), info)
  // never create here: a directory whose store went missing is an error, not a new database
  const db = await open(openOptions(data, { create: false }))
  try {
    return await direct(db)
  } finally {
    await db.close()
  }
}

/** A JSON argument: inline, `-` (stdin) or `@file` — a command line cannot carry a large document. */
export function readJson (arg: string, what: string): unknown {
  let text: string
  if (arg === '-') text = readFileSync(0, 'utf8')
  else if (arg.startsWith('@')) {
    const file = arg.slice(1)
    if (!existsSync(file)) throw new CliError(`${what}: no file ${file}`, 2)
    text = readFileSync(file, 'utf8')
  } else text = arg
  try {
    return JSON.parse(text)
  } catch {
    throw new CliError(`${what} is not valid JSON: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}; quote it for your shell (e.g. '{"title":"hi"}'), or pass - (stdin) or @file`, 2)
  }
}

export function readObject (arg: string, what: string): Record<string, unknown> {
  const v = readJson(arg, what)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(`${what} must be a JSON object, e.g. '{"title":"hi"}'`, 2)
  return v as Record<string, unknown>
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonReplacer) + '\n')
}

export function collect (value: string, previous: string[]): string[] { return [...previous, value] }

export function positiveNumber (what: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`${what} takes a positive number, got ${JSON.stringify(v)}`, 2)
    return n
  }
}

/** A progress bar on stderr when it is a terminal; silent otherwise (scripts, tests). */
export function progressBar (label: string): { update: (done: number, total: number) => void, stop: () => void } {
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr }, cliProgress.Presets.shades_classic)
  let started = false
  return {
    update: (done, total) => {
      if (!started) { bar.start(total, done); started = true } else { bar.setTotal(total); bar.update(done) }
    },
    stop: () => { if (started) bar.stop() }
  }
}
