/**
 * Checks made on an LMDB directory before LMDB ever sees it, because lmdb-js 3.5 crashes the
 * whole process (segfault) when an encrypted environment is opened without a key or a plain
 * one with a key, and a wrong key "opens" as an empty database and then poisons that path
 * for the rest of the process.
 *
 * | file       | what                                                                    |
 * |------------|-------------------------------------------------------------------------|
 * | data.mdb   | LMDB's data; its two meta pages are never encrypted and carry the flags  |
 * | lock.mdb   | LMDB's reader table                                                      |
 * | key.check  | only when encrypted: proof of the key, checked before opening LMDB       |
 *
 * key.check (53 bytes):
 *
 * | offset | bytes | field                                                  |
 * |--------|-------|--------------------------------------------------------|
 * | 0      | 4     | magic `BZKC`                                           |
 * | 4      | 1     | version (1)                                            |
 * | 5      | 16    | random salt                                            |
 * | 21     | 32    | HMAC-SHA256(key, "blazedb/store-key-check" ‖ salt)     |
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { dirname, join } from 'node:path'
import { CorruptionError, InvalidArgumentError, PassphraseRequiredError, WrongPassphraseError } from '../errors.ts'

const META_MAGIC = 0xbeefc0de
/** MDB_ENCRYPT, kept in the persistent env flags of both meta pages */
const FLAG_ENCRYPT = 0x2000
/** size of LMDB's page header; the meta record follows it */
const PAGE_HEADER = 24
/** offset of mm_dbs[0] in the meta record: magic, version, address, mapsize */
const META_DBS = 24

const CHECK_MAGIC = 'BZKC'
const CHECK_VERSION = 1
const CHECK_INFO = 'blazedb/store-key-check'
const CHECK_SIZE = 53

export type DataFileState = { exists: false } | { exists: true, encrypted: boolean }

/** Rejects anything but the 32 printable ASCII characters lmdb-js can take safely. */
export function checkEncryptionKey (key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new InvalidArgumentError(`encryptionKey must be a string of 32 ASCII characters, got ${key === null ? 'null' : typeof key} (a Buffer key crashes lmdb-js); derive it with engine/crypto`)
  }
  if (key.length !== 32 || !/^[\x20-\x7e]{32}$/.test(key)) {
    throw new InvalidArgumentError(`encryptionKey must be exactly 32 printable ASCII characters, got ${key.length} characters; derive it with engine/crypto`)
  }
}

/** Reads the meta pages of `dir/data.mdb` to tell whether it is encrypted. */
export function probeDataFile (dir: string): DataFileState {
  const file = join(dir, 'data.mdb')
  if (!existsSync(file)) return { exists: false }
  const head = readHead(file, 65536 + 64)
  if (head.length === 0) return { exists: false }
  const meta0 = readMeta(head, 0)
  if (meta0 === undefined) throw damaged(file, 'its first meta page is not an LMDB meta page')
  const meta1 = readMeta(head, meta0.pageSize)
  if (meta1 === undefined) throw damaged(file, 'its second meta page is not an LMDB meta page')
  if (meta0.pageSize !== meta1.pageSize || meta0.encrypted !== meta1.encrypted) {
    throw damaged(file, 'its two meta pages disagree on the page size or on encryption')
  }
  return { exists: true, encrypted: meta0.encrypted }
}

/**
 * Makes sure LMDB will be opened the way the file was created: with the right key, or
 * without one. Writes key.check when a new encrypted store is created.
 */
export function checkKeyAgainstFiles (dir: string, key: string | undefined): void {
  const state = probeDataFile(dir)
  const checkPath = join(dir, 'key.check')
  const hasCheck = existsSync(checkPath)
  if (key === undefined) {
    if ((state.exists && state.encrypted) || hasCheck) {
      throw new PassphraseRequiredError(`the store at ${dir} is encrypted; open it with its encryptionKey`)
    }
    return
  }
  if (state.exists && !state.encrypted) {
    throw new InvalidArgumentError(`the store at ${dir} is not encrypted; open it without an encryptionKey`)
  }
  if (hasCheck) {
    if (!keyMatches(readCheck(checkPath), key)) {
      throw new WrongPassphraseError(`the encryption key does not open the store at ${dir}; check the passphrase`)
    }
    return
  }
  if (state.exists) {
    throw new CorruptionError(`${checkPath} is missing, so the key of the encrypted store at ${dir} cannot be checked safely; restore that file (or the whole store) from a backup`)
  }
  mkdirSync(dir, { recursive: true })
  writeCheck(checkPath, key)
}

interface Meta { pageSize: number, encrypted: boolean }

function readMeta (head: Buffer, offset: number): Meta | undefined {
  const at = offset + PAGE_HEADER
  if (head.length < at + META_DBS + 8) return undefined
  if (head.readUInt32LE(at) !== META_MAGIC) return undefined
  const pageSize = head.readUInt32LE(at + META_DBS)
  // LMDB pages are a power of two between 512 bytes and 64 KiB
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined
  const flags = head.readUInt16LE(at + META_DBS + 4)
  return { pageSize, encrypted: (flags & FLAG_ENCRYPT) !== 0 }
}

function readHead (file: string, length: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(length)
    const n = readSync(fd, buf, 0, length, 0)
    return buf.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

function tag (key: string, salt: Uint8Array): Buffer {
  return createHmac('sha256', key).update(CHECK_INFO).update(salt).digest()
}

function keyMatches (check: { salt: Buffer, tag: Buffer }, key: string): boolean {
  return timingSafeEqual(tag(key, check.salt), check.tag)
}

function readCheck (path: string): { salt: Buffer, tag: Buffer } {
  const bytes = readFileSync(path)
  if (bytes.length !== CHECK_SIZE || bytes.toString('latin1', 0, 4) !== CHECK_MAGIC || bytes[4] !== CHECK_VERSION) {
    throw new CorruptionError(`${path} is damaged, so the encryption key cannot be checked; restore it from a backup`)
  }
  return { salt: bytes.subarray(5, 21), tag: bytes.subarray(21, 53) }
}

function writeCheck (path: string, key: string): void {
  const salt = randomBytes(16)
  const bytes = Buffer.concat([Buffer.from(CHECK_MAGIC, 'latin1'), Buffer.of(CHECK_VERSION), salt, tag(key, salt)])
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  syncDir(dirname(path))
}

/** Makes a rename durable; some platforms (Windows) cannot open a directory, and need not. */
function syncDir (dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // best effort: the rename itself is atomic
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function damaged (file: string, what: string): Error {
  return new CorruptionError(`${file} is damaged: ${what}; restore the store from a replica or a backup`)
}
