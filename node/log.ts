/**
 * The node's log: lines with a level, as text (`[blaze] info: …`) or JSON
 * (`{"time":…,"level":"info","msg":…}`), on stderr; lines below the chosen level are dropped.
 * Components take a plain `(line: string) => void`; `Logger.line` maps their lines to a level
 * by what they say (refusals and failures are warnings).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export class Logger {
  readonly #level: LogLevel
  readonly #format: LogFormat
  readonly #write: (text: string) => void
  readonly #now: () => number

  constructor (options: { level?: LogLevel, format?: LogFormat, write?: (text: string) => void, now?: () => number } = {}) {
    this.#level = options.level ?? 'info'
    this.#format = options.format ?? 'text'
    this.#write = options.write ?? ((text) => { process.stderr.write(text) })
    this.#now = options.now ?? Date.now
  }

  log (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] < RANK[this.#level]) return
    if (this.#format === 'json') this.#write(JSON.stringify({ time: new Date(this.#now()).toISOString(), level, msg, ...fields }) + '\n')
    else this.#write(`[blaze] ${level === 'info' ? '' : `${level}: `}${msg}\n`)
  }

  debug (msg: string, fields?: Record<string, unknown>): void { this.log('debug', msg, fields) }
  info (msg: string, fields?: Record<string, unknown>): void { this.log('info', msg, fields) }
  warn (msg: string, fields?: Record<string, unknown>): void { this.log('warn', msg, fields) }
  error (msg: string, fields?: Record<string, unknown>): void { this.log('error', msg, fields) }

  /** A `(line) => void` for components that log plain lines. */
  get line (): (line: string) => void {
    return (line) => { this.log(/\b(refused|rejected|failed|error|stalled|cannot|could not)\b/i.test(line) ? 'warn' : 'info', line) }
  }
}
