/**
 * The process `verifyLmdbFiles` runs: reads LmdbStoreOptions as JSON on stdin, verifies
 * the store, prints one JSON line ({ entries } or { error, code, message }) and exits
 * 0, or VERIFY_TYPED_ERROR_EXIT for a BlazeError. A crash is for the parent to see.
 */
import { fileURLToPath } from 'node:url'
import { BlazeError } from '../errors.ts'
import { LmdbStore, type LmdbStoreOptions } from './lmdb.ts'
import { verifyStore, VERIFY_TYPED_ERROR_EXIT } from './lmdb-verify.ts'

async function main (): Promise<void> {
  let input = ''
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin) input += String(chunk)
  try {
    const store = LmdbStore.open(JSON.parse(input) as LmdbStoreOptions)
    try {
      const report = await verifyStore(store)
      process.stdout.write(JSON.stringify(report) + '\n')
    } finally {
      await store.close()
    }
  } catch (error) {
    const typed = error instanceof BlazeError
    const e = error as Error & { code?: unknown }
    process.stdout.write(JSON.stringify({ error: e?.name ?? 'Error', code: typed ? e.code : null, message: String(e?.message ?? error) }) + '\n')
    process.exitCode = typed ? VERIFY_TYPED_ERROR_EXIT : 1
  }
}

// import.meta.main is missing before Node 22.18 / 24.2
if ((import.meta.main as boolean | undefined) ?? process.argv[1] === fileURLToPath(import.meta.url)) await main()
