/**
 * Backups: one file holding a consistent copy of a data directory — the store as of one
 * snapshot, the device identity, the key parameters and the database record — encrypted when
 * the directory is (under a key derived from the same passphrase), and checked end to end on
 * restore (a damaged, truncated or reordered file is a CorruptionError, never a half-restored
 * directory).
 *
 * | bytes | field                                                                   |
 * |-------|-------------------------------------------------------------------------|
 * | 4     | magic "BZBK"                                                            |
 * | 1     | version (1)                                                             |
 * | 4     | header length (u32 BE), then the header: JSON { version, dbId, encrypted, created, entries, files: { name: base64 } } |
 * | …     | chunks: length (u32 BE) ‖ body; a body is, once opened, records key length (u32) ‖ key ‖ value length (u32) ‖ value |
 * |       | the last chunk's opened body is "END" ‖ entry count (u64) ‖ SHA-256 of every record |
 *
 * Encrypted: each body is AES-256-GCM, nonce(12) ‖ ciphertext ‖ tag(16), with the chunk's index
 * (u64 BE) and the header's hash as additional data — so chunks cannot be dropped, reordered or
 * moved between backups. Not encrypted: body ‖ CRC32 of it.
 *
 * LMDB's own copy (`env.copy`) is not used: with lmdb-js page encryption it writes a broken file.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { checkPassphrase, deriveKeys, type KdfParams } from './crypto/keys.ts'
import { writeFileAtomic } from './data-dir.ts'
import { CorruptionError, InvalidArgumentError, PassphraseRequiredError } from './errors.ts'
import { LmdbStore } from './store/lmdb.ts'
import type { StoreReader } from './store/types.ts'

const MAGIC = Buffer.from('BZBK')
const VERSION = 1
const CHUNK_BYTES = 1024 * 1024
const FILES = ['identity.key', 'keys.json', 'database.json'] as const
const END = Buffer.from('END')

interface Header { version: 1, dbId: string, encrypted: boolean, created: number, entries: number, files: Record<string, string> }

export type Progress = (done: number, total: number) => void

/** The backup key: from the directory's seal key, for this purpose only. */
export function backupKey (sealKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', sealKey, new Uint8Array(0), 'blazedb/backup', 32))
}

/**
 * Writes a backup of `reader` (a snapshot of the store) and the data directory's small files
 * to `file` (through a temporary file, renamed when complete and fsync'd).
 */
export function writeBackup (options: { file: string, dir: string, dbId: string, reader: StoreReader, entries: number, key?: Uint8Array, onProgress?: Progress, now?: () => number }): { entries: number, bytes: number } {
  const { file, dir, reader, key } = options
  const files: Record<string, string> = {}
  for (const name of FILES) {
    const path = join(dir, name)
    if (existsSync(path)) files[name] = readFileSync(path).toString('base64')
  }
  const header: Header = { version: VERSION, dbId: options.dbId, encrypted: key !== undefined, created: (options.now ?? Date.now)(), entries: options.entries, files }
  const headerBytes = Buffer.from(JSON.stringify(header))
  const headerHash = createHash('sha256').update(headerBytes).digest()
  const tmp = `${file}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  let bytes = 0
  const write = (b: Uint8Array): void => { writeSync(fd, b); bytes += b.length }
  try {
    write(MAGIC)
    write(Uint8Array.of(VERSION))
    write(u32(headerBytes.length))
    write(headerBytes)
    const hash = createHash('sha256')
    let index = 0
    let parts: Buffer[] = []
    let size = 0
    const flush = (body: Buffer): void => {
      const out = key === undefined ? Buffer.concat([body, u32(crc32(body))]) : sealChunk(key, body, index, headerHash)
      write(u32(out.length))
      write(out)
      index++
    }
    let done = 0
    for (const { key: k, value } of reader.range({})) {
      const record = Buffer.concat([u32(k.length), k, u32(value.length), value])
      hash.update(record)
      parts.push(record)
      size += record.length
      if (size >= CHUNK_BYTES) { flush(Buffer.concat(parts)); parts = []; size = 0 }
      if (++done % 10_000 === 0) options.onProgress?.(done, options.entries)
    }
    if (parts.length > 0) flush(Buffer.concat(parts))
    flush(Buffer.concat([END, u64(done), hash.digest()]))
    options.onProgress?.(done, done)
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, file)
    return { entries: done, bytes }
  } catch (error) {
    try { closeSync(fd) } catch {}
    rmSync(tmp, { force: true })
    throw error
  }
}

/**
 * Restores a backup into `dir`, which must hold no database. Verifies every chunk and the
 * whole; on any failure removes what it wrote and throws (CorruptionError for a damaged file,
 * WrongPassphraseError, PassphraseRequiredError). Returns the database id.
 */
export async function restoreBackup (options: { file: string, dir: string, passphrase?: string, onProgress?: Progress }): Promise<{ dbId: string, entries: number }> {
  const { file, dir } = options
  for (const name of ['identity.key', 'database.json', 'db']) {
    if (existsSync(join(dir, name))) throw new InvalidArgumentError(`${dir} already holds a database (${name}); restore into a new, empty directory`)
  }
  const fd = openSync(file, 'r')
  const damaged = (why: string): never => { throw new CorruptionError(`the backup ${file} is damaged (${why}); use another copy of it`) }
  const read = (n: number): Buffer => {
    const out = Buffer.alloc(n)
    let got = 0
    while (got < n) {
      const r = readSync(fd, out, got, n - got, null)
      if (r === 0) damaged('it ends too early: truncated')
      got += r
    }
    return out
  }
  let store: LmdbStore | undefined
  let wrote = false
  try {
    if (!read(4).equals(MAGIC)) damaged('not a BlazeDB backup')
    const version = read(1)[0]
    if (version !== VERSION) damaged(`version ${String(version)}, this BlazeDB reads version ${VERSION}`)
    const headerLength = read(4).readUInt32BE(0)
    if (headerLength > 16 * 1024 * 1024) damaged('header too long')
    const headerBytes = read(headerLength)
    let header: Header
    try {
      header = JSON.parse(headerBytes.toString('utf8')) as Header
    } catch {
      return damaged('unreadable header')
    }
    const headerHash = createHash('sha256').update(headerBytes).digest()
    let key: Uint8Array | undefined
    let storeKey: string | undefined
    if (header.encrypted) {
      if (options.passphrase === undefined) throw new PassphraseRequiredError(`the backup ${file} is encrypted; restore it with the passphrase of the directory it came from ($BLAZE_PASSPHRASE)`)
      const params = JSON.parse(Buffer.from(header.files['keys.json'] ?? '', 'base64').toString('utf8')) as KdfParams & { check: string }
      const keys = deriveKeys(options.passphrase, params)
      checkPassphrase(keys, Buffer.from(params.check, 'base64'))
      key = backupKey(keys.sealKey)
      storeKey = keys.storeKey
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    wrote = true
    store = LmdbStore.open(storeKey === undefined ? { path: join(dir, 'db') } : { path: join(dir, 'db'), encryptionKey: storeKey })
    const hash = createHash('sha256')
    let index = 0
    let done = 0
    for (;;) {
      const length = read(4).readUInt32BE(0)
      if (length > 2 * CHUNK_BYTES + 1024 * 1024) damaged('a chunk is too long')
      const raw = read(length)
      const body = key === undefined ? plainChunk(raw, damaged) : openChunk(key, raw, index, headerHash, damaged)
      index++
      if (body.length === END.length + 8 + 32 && body.subarray(0, 3).equals(END)) {
        const count = Number(body.readBigUInt64BE(3))
        if (count !== done || !hash.digest().equals(body.subarray(11))) damaged('its records do not add up')
        break
      }
      const records: Array<[Buffer, Buffer]> = []
      for (let o = 0; o < body.length;) {
        if (o + 4 > body.length) damaged('a record is cut')
        const kl = body.readUInt32BE(o); o += 4
        const k = body.subarray(o, o + kl); o += kl
        if (o + 4 > body.length) damaged('a record is cut')
        const vl = body.readUInt32BE(o); o += 4
        const v = body.subarray(o, o + vl); o += vl
        if (o > body.length) damaged('a record is cut')
        records.push([k, v])
      }
      hash.update(body)
      await store.transact((txn) => { for (const [k, v] of records) txn.put(k, v) })
      done += records.length
      options.onProgress?.(done, header.entries)
    }
    await store.close()
    store = undefined
    for (const [name, b64] of Object.entries(header.files)) {
      if (!(FILES as readonly string[]).includes(name)) damaged(`unexpected file ${name}`)
      writeFileAtomic(join(dir, name), Buffer.from(b64, 'base64'), 0o600)
    }
    return { dbId: header.dbId, entries: done }
  } catch (error) {
    if (store !== undefined) await store.close().catch(() => {})
    if (wrote) for (const name of ['db', ...FILES]) rmSync(join(dir, name), { recursive: true, force: true })
    throw error
  } finally {
    closeSync(fd)
  }
}

function sealChunk (key: Uint8Array, body: Buffer, index: number, headerHash: Buffer): Buffer {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(Buffer.concat([u64(index), headerHash]))
  return Buffer.concat([nonce, cipher.update(body), cipher.final(), cipher.getAuthTag()])
}

function openChunk (key: Uint8Array, raw: Buffer, index: number, headerHash: Buffer, damaged: (why: string) => never): Buffer {
  if (raw.length < 28) damaged('a chunk is too short')
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    decipher.setAAD(Buffer.concat([u64(index), headerHash]))
    decipher.setAuthTag(raw.subarray(raw.length - 16))
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()])
  } catch {
    return damaged(`chunk ${index} does not authenticate`)
  }
}

function plainChunk (raw: Buffer, damaged: (why: string) => never): Buffer {
  if (raw.length < 4) damaged('a chunk is too short')
  const body = raw.subarray(0, raw.length - 4)
  if (crc32(body) !== raw.readUInt32BE(raw.length - 4)) damaged('a chunk fails its checksum')
  return body
}

function u32 (n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b }
function u64 (n: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b }
