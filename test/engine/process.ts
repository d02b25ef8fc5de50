import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Spawns a TypeScript script with this Node, collecting stdout lines. */
export function spawnScript (script: string, args: string[]): { child: ChildProcess, lines: AsyncIterableIterator<string>, stderr: () => string } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return { child, lines, stderr: () => err }
}

/** Runs a script to completion: exit code, signal, stdout, stderr. */
export function runScript (script: string, args: string[]): Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Resolves when the process has exited. */
export function exited (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

/** Runs any command to completion (optional cwd, environment, stdin): exit code, stdout, stderr. */
export function runCommand (cmd: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, input?: string } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd === undefined ? {} : { cwd: options.cwd }), env: options.env ?? process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}
