/**
 * `DATA/bootstrap.json`: addresses a node dials at start besides its `--bootstrap` options.
 * `blaze join` writes the member's addresses there, so the first `blaze start` finds it.
 *
 * | field     | what                                             |
 * |-----------|--------------------------------------------------|
 * | version   | 1                                                |
 * | addresses | multiaddrs with /p2p/PEERID, most useful first   |
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../engine/data-dir.ts'
import { CorruptionError } from '../engine/errors.ts'

const FILE = 'bootstrap.json'
const MAX_ADDRESSES = 64

export function saveBootstrap (dataDir: string, addresses: string[]): void {
  writeFileAtomic(join(dataDir, FILE), JSON.stringify({ version: 1, addresses: addresses.slice(0, MAX_ADDRESSES) }, null, 2) + '\n', 0o600)
}

/** The saved addresses, or [] when there is no file. */
export function savedBootstrap (dataDir: string): string[] {
  const path = join(dataDir, FILE)
  if (!existsSync(path)) return []
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: number, addresses?: unknown }
    if (parsed.version !== 1 || !Array.isArray(parsed.addresses) || parsed.addresses.some((a) => typeof a !== 'string')) throw new Error('unexpected contents')
    return (parsed.addresses as string[]).slice(0, MAX_ADDRESSES)
  } catch (cause) {
    throw new CorruptionError(`${path} is damaged; delete it and pass the member's address with --bootstrap instead`, { cause })
  }
}
