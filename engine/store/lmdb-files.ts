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
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { dirname, join } from 'node:path'
import { CorruptionError, InvalidArgumentError, PassphraseRequiredError, WrongPassphraseError } from '../errors.ts'

const META_MAGIC = 0xbeefc0de
/** MDB_DATA_VERSION of the LMDB inside lmdb-js 3.x; another value makes LMDB misread (it segfaulted) */
const META_VERSION = 2
/** MDB_ENCRYPT, kept in the persistent env flags of both meta pages */
const FLAG_ENCRYPT = 0x2000
/** byte offsets in a meta page, from MDB_meta and MDB_db in mdb.c: a 24-byte page header
 * (pgno, txnid, pad, flags, lower, upper; pgno and txnid are never encrypted), then the meta */
const M = { magic: 24, version: 28, dbs: 48, lastPage: 144, txnid: 152, end: 160 } as const
/** byte offsets in an MDB_db record (48 bytes: free DB first, then main DB) */
const DB = { size: 48, pageSize: 0, flags: 4, depth: 6, entries: 32, root: 40 } as const
const NO_PAGE = 0xffffffffffffffffn
/** page header: 8-byte pgno and txnid (never encrypted), pad, flags at 18, lower, upper */
const PAGE_HEADER = 24
const P_BRANCH = 0x01
const P_LEAF = 0x02

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

/**
 * Reads and checks the two meta pages of `dir/data.mdb` (never encrypted) before LMDB maps
 * the file. LMDB trusts them blindly: a damaged version field crashed the process, and a
 * damaged transaction id silently rolled the store back to an older commit. Checked:
 *
 * 1. magic, version, page size and flags, equal in both pages;
 * 2. transaction ids: page i holds the commits whose id has parity i, so the two ids are
 *    equal (0, a new file) or consecutive, each on its own page;
 * 3. each database root lies inside the file, its page header names that page, and was
 *    written by a commit no later than the meta's; the newest of the roots was written by
 *    the meta's own commit (every commit copies the root of what it changes).
 */
export function probeDataFile (dir: string): DataFileState {
  const file = join(dir, 'data.mdb')
  if (!existsSync(file)) return { exists: false }
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    if (size === 0) return { exists: false }
    const read = (position: number, length: number): Buffer => {
      const buf = Buffer.alloc(length)
      const n = readSync(fd, buf, 0, length, position)
      return buf.subarray(0, n)
    }
    const meta0 = parseMeta(read(0, M.end), file, 0)
    const meta1 = parseMeta(read(meta0.pageSize, M.end), file, 1)
    if (meta0.pageSize !== meta1.pageSize || meta0.flags !== meta1.flags) {
      throw damaged(file, 'its two meta pages disagree on the page size or the flags')
    }
    const [t0, t1] = [meta0.txnid, meta1.txnid]
    const parityOk = (t0 === 0n || (t0 & 1n) === 0n) && (t1 === 0n || (t1 & 1n) === 1n)
    if (!parityOk || t0 - t1 > 1n || t1 - t0 > 1n) {
      throw damaged(file, `its meta pages hold transaction ids ${t0} and ${t1}, which no sequence of commits leaves`)
    }
    const encrypted = (meta0.flags & FLAG_ENCRYPT) !== 0
    for (const meta of [meta0, meta1]) checkRoots(meta, meta0.pageSize, size, encrypted, read, file)
    return { exists: true, encrypted }
  } finally {
    closeSync(fd)
  }
}

interface DbRecord { depth: number, entries: bigint, root: bigint }
interface Meta { index: number, pageSize: number, flags: number, lastPage: bigint, txnid: bigint, dbs: [DbRecord, DbRecord] }

function parseMeta (page: Buffer, file: string, index: number): Meta {
  if (page.length < M.end) throw damaged(file, 'it is too short to hold both meta pages')
  if (page.readUInt32LE(M.magic) !== META_MAGIC) throw damaged(file, `meta page ${index} is not an LMDB meta page`)
  const version = page.readUInt32LE(M.version)
  if (version !== META_VERSION) throw damaged(file, `meta page ${index} has format version ${version}, not ${META_VERSION}`)
  const pageSize = page.readUInt32LE(M.dbs + DB.pageSize)
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw damaged(file, `meta page ${index} has page size ${pageSize}`)
  }
  const db = (i: number): DbRecord => {
    const at = M.dbs + i * DB.size
    return { depth: page.readUInt16LE(at + DB.depth), entries: page.readBigUInt64LE(at + DB.entries), root: page.readBigUInt64LE(at + DB.root) }
  }
  return {
    index,
    pageSize,
    flags: page.readUInt16LE(M.dbs + DB.flags),
    lastPage: page.readBigUInt64LE(M.lastPage),
    txnid: page.readBigUInt64LE(M.txnid),
    dbs: [db(0), db(1)]
  }
}

function checkRoots (meta: Meta, pageSize: number, fileSize: number, encrypted: boolean, read: (position: number, length: number) => Buffer, file: string): void {
  const bad = (what: string): Error => damaged(file, `meta page ${meta.index} ${what}`)
  const pagesInFile = BigInt(Math.floor(fileSize / pageSize))
  const written: Array<bigint | undefined> = []
  for (const [i, db] of meta.dbs.entries()) {
    const name = i === 0 ? 'free-space database' : 'main database'
    if (db.root === NO_PAGE) {
      if (db.depth !== 0 || db.entries !== 0n) throw bad(`says the ${name} is empty but gives it depth ${db.depth} and ${db.entries} entries`)
      continue
    }
    if (db.depth === 0 || db.depth > 64) throw bad(`gives the ${name} a depth of ${db.depth}`)
    if (db.root < 2n || db.root > meta.lastPage || db.root >= pagesInFile) throw bad(`puts the ${name} root at page ${db.root}, outside the file`)
    const header = read(Number(db.root) * pageSize, PAGE_HEADER)
    if (header.length < PAGE_HEADER || header.readBigUInt64LE(0) !== db.root) throw bad(`points the ${name} at page ${db.root}, which is not that page`)
    const txnid = header.readBigUInt64LE(8)
    if (txnid > meta.txnid) throw bad(`(commit ${meta.txnid}) points the ${name} at a page written later, by commit ${txnid}`)
    if (!encrypted) {
      const type = header.readUInt16LE(18) & (P_BRANCH | P_LEAF)
      if (type !== (db.depth === 1 ? P_LEAF : P_BRANCH)) throw bad(`points the ${name} (depth ${db.depth}) at a page of the wrong type`)
    }
    written[i] = txnid
  }
  // Every commit changes the main database (or empties it, freeing pages), and a change
  // copies the root, so the root it leaves was written by that very commit.
  const [free, main] = written
  const newest = main ?? free
  if (newest !== undefined && newest !== meta.txnid) throw bad(`(commit ${meta.txnid}) points at a root written by an older commit (${newest})`)
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
