/**
 * The ordered key-value store every engine layer writes through (types.ts), with two
 * implementations that pass one compliance suite (test/engine/store/describe-store.ts):
 *
 * - `LmdbStore`: durable. Every value carries a CRC32 checked on every read; `transact`
 *   resolves once the commit is fsync'd; optional page encryption (`encryptionKey`, 32
 *   printable ASCII characters) with the key checked before LMDB opens the files.
 *   LMDB has no page checksums: `verifyLmdbFiles` reads a store in a child process and
 *   turns damage that would crash or mislead LMDB into a CorruptionError.
 * - `MemoryStore`: a persistent B+tree for tests and simulations.
 *
 * @example
 * const store = LmdbStore.open({ path: '/tmp/blazedb-example' })  // or: new MemoryStore()
 * await store.transact((txn) => { txn.put(Uint8Array.of(1), new TextEncoder().encode('one')) })
 * store.get(Uint8Array.of(1))                                      // the bytes of 'one'
 * for (const { key, value } of store.range({ gte: Uint8Array.of(0), limit: 10 })) console.log(key, value)
 * const snap = store.snapshot(); snap.get(Uint8Array.of(1)); snap.release()
 * await store.close()
 */
export type { Bytes, Entry, RangeOptions, Store, StoreReader, StoreSnapshot, StoreTxn } from './types.ts'
export { MAX_KEY_BYTES } from './checks.ts'
export { LmdbStore, type LmdbStoreOptions } from './lmdb.ts'
export { MemoryStore } from './memory.ts'
export { verifyLmdbFiles, verifyStore, type VerifyReport } from './lmdb-verify.ts'
