/**
 * One process at a time per data directory: the engine keeps each author's head in memory,
 * so two writers on one directory would fork the device's own hash chain. The lock file
 * holds the owner's pid; a lock whose process is gone (killed) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseLockedError } from '../errors.ts'

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockDir (dir: string): () => void {
  const path = join(dir, 'LOCK')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => { try { unlinkSync(path) } catch {} }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DatabaseLockedError(`${dir} is open in process ${pid}; stop that process, or talk to its node through the CLI (blaze … --data ${dir})`)
      }
      if (pid === process.pid) {
        throw new DatabaseLockedError(`${dir} is already open in this process; close the other handle first`)
      }
      try { unlinkSync(path) } catch {}
    }
  }
  throw new DatabaseLockedError(`could not lock ${dir}; another process keeps taking it`)
}
