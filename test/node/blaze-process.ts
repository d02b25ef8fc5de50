/**
 * Driving `blaze` as real processes: one-shot commands, `blaze start` children that resolve
 * once ready, and waits bounded by time that re-check on every line a node logs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { runScript, exited } from '../engine/process.ts'

export const blaze = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

export async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await runScript(blaze, args)
}

export interface Running {
  child: ChildProcess
  ready: { peerId: string, addresses: string[] }
  /** everything it logged so far */
  log: () => string
  stop: () => Promise<void>
}

/** Starts `blaze start …` and resolves once it prints its ready line. */
export function start (args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [blaze, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    await exited(child)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`blaze start did not get ready: ${err}`)) }, 30_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { status?: string, peerId: string, addresses: string[] }
      if (msg.status === 'ready') { clearTimeout(timer); resolve({ child, ready: msg, log: () => err, stop }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`blaze start exited with ${String(code)}: ${err}`)) })
  })
}

/** Runs `fn` until it returns a value, once per chunk any of `nodes` logs (a bound, not a sleep). */
export function untilLog<T> (nodes: Running[], fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let busy = false
    let again = false
    const off = (): void => { for (const n of nodes) n.child.stderr!.off('data', check) }
    const timer = setTimeout(() => { off(); reject(new Error(`${what}: not within ${timeoutMs} ms\n${nodes.map((n) => n.log()).join('\n---\n')}`)) }, timeoutMs)
    const check = (): void => {
      if (busy) { again = true; return }
      busy = true
      void fn().then((v) => {
        busy = false
        if (v !== undefined) { clearTimeout(timer); off(); resolve(v) } else if (again) { again = false; check() }
      }, (e: unknown) => { clearTimeout(timer); off(); reject(e as Error) })
    }
    for (const n of nodes) n.child.stderr!.on('data', check)
    check()
  })
}

/** The TCP port of a node's first 127.0.0.1 address. */
export function loopbackPort (node: Running): number {
  const addr = node.ready.addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))
  if (addr === undefined) throw new Error(`no loopback address among ${node.ready.addresses.join(', ')}`)
  return Number(addr.split('/')[4])
}
