/**
 * Test hosts in Linux network namespaces: several "devices" on one machine, joined by veth
 * pairs or a bridge, with only the addresses a test gives them, so tests can run mDNS,
 * link-local networks and networks with no route between them without ever sending on the
 * machine's own interfaces.
 *
 * Every name starts with `br<pid>-`; interfaces are created directly inside their
 * namespaces (never in the machine's own), so parallel runs cannot collide. `teardown()`
 * kills what the lab started and deletes its namespaces; `Lab.create()` first deletes
 * namespaces left behind by a killed run (prefix `br`, owner pid no longer alive).
 *
 * Needs root and iproute2 (`ip`). `requireNetns(this)` in a `before` hook skips the suite
 * with a printed reason when they are missing — except under `CI=true`, where it fails.
 *
 * @example
 * ```ts
 * const lab = Lab.create()
 * const a = lab.host('a'); const b = lab.host('b')
 * lab.link(a, '169.254.1.1/16', b, '169.254.1.2/16', { multicast: true })
 * const node = a.start(['--data', dir])   // `blaze start` inside namespace a
 * await lab.teardown()
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { alive } from '../../engine/db/lock.ts'

export const PREFIX = 'br'
const BLAZE = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

function ip (...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.error !== undefined) throw r.error
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`)
  return r.stdout
}


/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root, as CI does)'
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  if (probe.error !== undefined) return '`ip` (iproute2) is not installed'
  const name = `${PREFIX}${process.pid}-probe`
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
  if (add.status !== 0) return `cannot create a network namespace: ${add.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', name])
  return undefined
}

/** In a `before` hook: skip the suite with a printed reason, or fail under CI=true. */
export function requireNetns (ctx: Mocha.Context, reason = netnsUnavailable()): void {
  if (reason === undefined) return
  if (process.env.CI === 'true') throw new Error(`CI=true, so this test must run, but ${reason}`)
  process.stdout.write(`      skipped: ${reason}\n`)
  ctx.skip()
}

/** Deletes namespaces with our prefix whose owning test process is gone, and what runs in them. */
export function removeLeftovers (prefix = PREFIX): string[] {
  const removed: string[] = []
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(name)
    if (m === null || alive(Number(m[1]))) continue
    killInside(name)
    ip('netns', 'del', name)
    removed.push(name)
  }
  return removed
}

function killInside (ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? ''
  for (const pid of pids.split('\n').map(Number).filter((p) => p > 0)) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
}

/** A process running inside a namespace: its stdout lines, its stderr so far. */
export class NsProcess {
  readonly child: ChildProcess
  readonly lines: string[] = []
  private err = ''
  private readonly waiters = new Set<() => void>()

  constructor (child: ChildProcess) {
    this.child = child
    child.stderr!.on('data', (d: Buffer) => { this.err += d.toString(); this.wake() })
    createInterface({ input: child.stdout! }).on('line', (line) => { this.lines.push(line); this.wake() })
    child.once('exit', () => this.wake())
  }

  get stderr (): string { return this.err }
  get exited (): boolean { return this.child.exitCode !== null || this.child.signalCode !== null }

  private wake (): void { for (const w of [...this.waiters]) w() }

  /**
   * Resolves with `fn()`'s first defined value, re-checking after each output of this
   * process (a bound, not a sleep); rejects after `timeoutMs` or if the process exits.
   */
  until<T> (fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      let busy = false
      let again = false
      const finish = (error: Error | undefined, value?: T): void => {
        clearTimeout(timer)
        this.waiters.delete(check)
        if (error !== undefined) reject(error)
        else resolve(value as T)
      }
      const timer = setTimeout(() => finish(new Error(`${what}: not within ${timeoutMs} ms; stderr:\n${this.err.slice(-3000)}`)), timeoutMs)
      const check = (): void => {
        if (busy) { again = true; return }
        busy = true
        void Promise.resolve().then(fn).then((v) => {
          busy = false
          if (v !== undefined) finish(undefined, v)
          else if (this.exited) finish(new Error(`${what}: the process exited (${String(this.child.exitCode ?? this.child.signalCode)}); stderr:\n${this.err.slice(-3000)}`))
          else if (again) { again = false; check() }
        }, (e: unknown) => { busy = false; finish(e as Error) })
      }
      this.waiters.add(check)
      check()
    })
  }

  /** The first stdout line that parses as JSON and satisfies `match`. */
  async json<T> (match: (value: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
    return await this.until(() => {
      for (const line of this.lines) {
        try {
          const v = JSON.parse(line) as Record<string, unknown>
          if (match(v)) return v as T
        } catch {}
      }
      return undefined
    }, what, timeoutMs)
  }

  /** SIGINT, then SIGKILL if it has not exited within `graceMs`. */
  async stop (graceMs = 10_000): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGINT')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await gone
    clearTimeout(timer)
  }
}

/** One simulated device: a namespace with `lo` up. */
export class NsHost {
  readonly name: string
  readonly ns: string
  private readonly lab: Lab

  constructor (lab: Lab, name: string, ns: string) {
    this.lab = lab
    this.name = name
    this.ns = ns
  }

  /** Runs `ip ARGS` inside this namespace. */
  ip (...args: string[]): string { return ip('-n', this.ns, ...args) }

  /** Sets a sysctl of this namespace's network stack, e.g. `net.ipv4.ip_forward`. */
  sysctl (key: string, value: string): void {
    const r = spawnSync('ip', ['netns', 'exec', this.ns, 'sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`sysctl ${key}=${value} in ${this.ns} failed: ${r.stderr.trim()}`)
  }

  /** Spawns `node SCRIPT ARGS` inside this namespace (the pinned Node that runs the tests). */
  spawn (script: string, args: string[], env: NodeJS.ProcessEnv = process.env): NsProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    const p = new NsProcess(child)
    this.lab.track(p)
    return p
  }

  /** `blaze ARGS` inside this namespace, to completion. */
  async blaze (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
    const p = this.spawn(BLAZE, args)
    await new Promise<void>((resolve) => { if (p.exited) resolve(); else p.child.once('close', () => resolve()) })
    return { code: p.child.exitCode, stdout: p.lines.join('\n'), stderr: p.stderr }
  }

  /** `blaze start ARGS` inside this namespace; resolves once it prints its ready line. */
  async start (args: string[]): Promise<{ proc: NsProcess, ready: { peerId: string, addresses: string[] } }> {
    const proc = this.spawn(BLAZE, ['start', ...args])
    const ready = await proc.json<{ peerId: string, addresses: string[] }>((v) => v.status === 'ready', `blaze start in ${this.name} getting ready`)
    return { proc, ready }
  }
}

export interface LinkOptions {
  /** route 224.0.0.0/4 (multicast, mDNS) out of this link, as a host's default route would */
  multicast?: boolean
}

export class Lab {
  readonly id: string
  private readonly namespaces: string[] = []
  private readonly processes: NsProcess[] = []
  private links = 0

  private constructor (prefix: string) {
    this.id = `${prefix}${process.pid}`
  }

  /** A new lab whose names start with `prefix` (default `br`); first removes namespaces left by killed runs. */
  static create (prefix = PREFIX): Lab {
    if (!/^[a-z]{2,4}$/.test(prefix)) throw new Error(`a lab prefix is 2–4 lowercase letters, got ${JSON.stringify(prefix)}`)
    removeLeftovers(prefix)
    const lab = new Lab(prefix)
    // if the run ends without teardown (an interrupted mocha), still leave nothing behind
    process.once('exit', lab.removeNow)
    return lab
  }

  private readonly removeNow = (): void => {
    for (const p of this.processes) if (!p.exited) p.child.kill('SIGKILL')
    for (const ns of this.namespaces.splice(0)) {
      killInside(ns)
      spawnSync('ip', ['netns', 'del', ns])
    }
  }

  track (p: NsProcess): void { this.processes.push(p) }

  /** A namespace `br<pid>-NAME` with `lo` up. */
  host (name: string): NsHost {
    const ns = `${this.id}-${name}`
    ip('netns', 'add', ns)
    this.namespaces.push(ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    return new NsHost(this, name, ns)
  }

  /**
   * A cable between two hosts: a veth pair created inside the two namespaces, with the
   * given addresses (CIDR, IPv4 or IPv6), up. Returns the interface names (a's, b's).
   */
  link (a: NsHost, addrA: string, b: NsHost, addrB: string, options: LinkOptions = {}): [string, string] {
    const n = this.links++
    const ifA = `v${n}-${b.name}`.slice(0, 15)
    const ifB = `v${n}-${a.name}`.slice(0, 15)
    ip('link', 'add', ifA, 'netns', a.ns, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.ns)
    for (const [h, ifc, addr] of [[a, ifA, addrA], [b, ifB, addrB]] as const) {
      h.ip('addr', 'add', addr, 'dev', ifc)
      h.ip('link', 'set', ifc, 'up')
      if (options.multicast === true) h.ip('route', 'add', '224.0.0.0/4', 'dev', ifc)
    }
    return [ifA, ifB]
  }

  /**
   * A switch: a bridge in its own namespace `br<pid>-NAME`, one veth to each member, each
   * member's end given its address.
   */
  lan (name: string, members: Array<[NsHost, string]>, options: LinkOptions = {}): void {
    const sw = this.host(name)
    sw.ip('link', 'add', 'br0', 'type', 'bridge')
    sw.ip('link', 'set', 'br0', 'up')
    for (const [h, addr] of members) {
      const n = this.links++
      const ifH = `v${n}-${name}`.slice(0, 15)
      const ifS = `p${n}-${h.name}`.slice(0, 15)
      ip('link', 'add', ifH, 'netns', h.ns, 'type', 'veth', 'peer', 'name', ifS, 'netns', sw.ns)
      sw.ip('link', 'set', ifS, 'master', 'br0')
      sw.ip('link', 'set', ifS, 'up')
      h.ip('addr', 'add', addr, 'dev', ifH)
      h.ip('link', 'set', ifH, 'up')
      if (options.multicast === true) h.ip('route', 'add', '224.0.0.0/4', 'dev', ifH)
    }
  }

  /** Stops every process the lab started, then deletes its namespaces (and their interfaces). */
  async teardown (): Promise<void> {
    await Promise.all(this.processes.splice(0).map(async (p) => { await p.stop() }))
    for (const ns of this.namespaces.splice(0).reverse()) {
      killInside(ns)
      try { ip('netns', 'del', ns) } catch {}
    }
    process.off('exit', this.removeNow)
  }
}
