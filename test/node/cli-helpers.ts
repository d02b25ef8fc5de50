import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { runScript } from '../engine/process.ts'

export const blaze = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

export async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await runScript(blaze, args)
}

/** Starts `blaze start …` and resolves with its ready line once it prints one. */
export function start (args: string[]): Promise<{ child: ChildProcess, ready: { peerId: string, addresses: string[] } }> {
  const child = spawn(process.execPath, [blaze, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
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

