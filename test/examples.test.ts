import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { runScript, exited } from './engine/process.ts'
import { tempDir } from './engine/helpers.ts'

const todo = fileURLToPath(new URL('../examples/todo/todo.ts', import.meta.url))

/** A running todo.ts: type commands, wait for output lines matching a pattern (bounded). */
function todoApp (args: string[]): { child: ChildProcess, type: (line: string) => void, waitFor: (re: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, [todo, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: string[] = []
  const waiters: Array<{ re: RegExp, resolve: (l: string) => void }> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
  })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return {
    child,
    type: (line) => { child.stdin!.write(line + '\n') },
    waitFor: (re) => new Promise((resolve, reject) => {
      const seen = lines.find((l) => re.test(l))
      if (seen !== undefined) { resolve(seen); return }
      const timer = setTimeout(() => reject(new Error(`no line matching ${String(re)}; got:\n${lines.join('\n')}\n${err}`)), 30_000)
      waiters.push({ re, resolve: (l) => { clearTimeout(timer); resolve(l) } })
    })
  }
}

describe('examples', function () {
  this.timeout(120_000)

  it('the README API example runs and its replica converges', async () => {
    const run = await runScript(fileURLToPath(new URL('../examples/readme.ts', import.meta.url)), [])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /same state: true/)
  })

  it('examples/todo: a todo list on two devices, as its README tells', async () => {
    const dir = tempDir()
    const apps: ChildProcess[] = []
    try {
      const alice = todoApp(['--data', join(dir.path, 'alice'), '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
      apps.push(alice.child)
      const listId = /todo list ([0-9a-f]{32})/.exec(await alice.waitFor(/^todo list /))![1]!
      const address = (await alice.waitFor(/^listening on /)).split(' ').find((a) => a.startsWith('/ip4/127.0.0.1/'))!
      alice.type('add buy milk')
      await alice.waitFor(/1\. \[ \] buy milk/)

      const bob = todoApp(['--data', join(dir.path, 'bob'), '--join', listId, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', address])
      apps.push(bob.child)
      const bobPeer = /type {2}invite (\S+)/.exec(await bob.waitFor(/waiting to be invited/))![1]!
      alice.type(`invite ${bobPeer}`)
      await bob.waitFor(/\[ \] buy milk/)
      bob.type('done 1')
      await alice.waitFor(/\[x\] buy milk/)
      bob.type('add walk the dog')
      await alice.waitFor(/\[ \] walk the dog/)
      alice.type('quit')
      bob.type('quit')
      await Promise.all(apps.map(exited))
    } finally {
      for (const a of apps) a.kill('SIGKILL')
      dir.cleanup()
    }
  })
})
