import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbStore } from '../../../engine/store/lmdb.ts'
import { MemoryStore } from '../../../engine/store/memory.ts'
import { describeStore } from './describe-store.ts'

const TEST_KEY = 'blazedb-test-key-0123456789abcde'

function lmdb (encryptionKey?: string) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'blazedb-store-'))
    const store = LmdbStore.open({ path: join(dir, 'db'), ...(encryptionKey === undefined ? {} : { encryptionKey }) })
    return { store, cleanup: async () => { rmSync(dir, { recursive: true, force: true }) } }
  }
}

describeStore('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} }))
describeStore('LmdbStore', lmdb())
describeStore('LmdbStore with encryptionKey', lmdb(TEST_KEY))
