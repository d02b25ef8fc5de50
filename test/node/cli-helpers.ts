import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { runCommand, runScript } from '../engine/process.ts'

export const blaze = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

export async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await runScript(blaze, args)
}

/** The command line that runs `blaze ARGS`, inside network namespace `netns` when given. */
function command (args: string[], netns: string | undefined): [string, string[]] {
  return netns === undefined ? [process.execPath, [blaze, ...args]] : ['ip', ['netns', 'exec', netns, process.execPath, blaze, ...args]]
}

/** `blaze ARGS` to completion, with optional stdin and environment, inside network namespace `netns` when given. */
export function runBlaze (args: string[], options: { netns?: string, input?: string, env?: Record<string, string> } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const [cmd, argv] = command(args, options.netns)
  return runCommand(cmd, argv, { env: { ...process.env, ...options.env }, ...(options.input === undefined ? {} : { input: options.input }) })
}

/** `cli`, inside a network namespace (its control API answers on that namespace's loopback). */
export function cliIn (netns: string, ...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return runBlaze(args, { netns })
}

/** `blaze pair …` as a child: its JSON lines as they come, and its exit code. */
export function pairProcess (args: string[], netns?: string): { child: ChildProcess, next: () => Promise<Record<string, unknown>>, exit: Promise<number | null>, stderr: () => string } {
  const [cmd, argv] = command(['pair', ...args], netns)
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    exit,
    stderr: () => err,
    next: async () => {
      const r = await lines.next()
      if (r.done === true) throw new Error(`blaze pair printed nothing more: ${err}`)
      return JSON.parse(r.value) as Record<string, unknown>
    }
  }
}

/** Starts `blaze start …` and resolves with its ready line once it prints one. */
export function start (args: string[], netns?: string): Promise<{ child: ChildProcess, ready: { peerId: string, addresses: string[] } }> {
  const [cmd, argv] = command(['start', ...args], netns)
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`blaze start did not get ready: ${err}`)) }, 30_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { status?: string, peerId: string, addresses: string[] }
      if (msg.status === 'ready') { clearTimeout(timer); resolve({ child, ready: msg }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`blaze start exited with ${String(code)}: ${err}`)) })
  })
}

/** Runs `fn` until it returns a value, once per event on the node's stderr log (a bound, not a sleep). */
export function untilLog<T> (child: ChildProcess, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let busy = false
    let again = false
    const timer = setTimeout(() => { child.stderr!.off('data', check); reject(new Error(`condition not met within ${timeoutMs} ms`)) }, timeoutMs)
    const check = (): void => {
      if (busy) { again = true; return }
      busy = true
      void fn().then((v) => {
        busy = false
        if (v !== undefined) { clearTimeout(timer); child.stderr!.off('data', check); resolve(v) } else if (again) { again = false; check() }
      }, (e: unknown) => { clearTimeout(timer); reject(e as Error) })
    }
    child.stderr!.on('data', check)
    check()
  })
}

