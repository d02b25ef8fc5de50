/**
 * The data directory:
 *
 * | file          | what                                                             |
 * |---------------|------------------------------------------------------------------|
 * | keys.json     | only when encrypted: scrypt parameters and the passphrase check  |
 * | identity.key  | the device's Ed25519 seed (mode 0600; sealed with AES-256-GCM    |
 * |               | under a passphrase-derived key when encrypted)                   |
 * | database.json | which database this directory holds ({ version, dbId }); written |
 * |               | once its store holds it, so a lost store is told from a new dir |
 * | db/           | the LMDB environment (page-encrypted when a passphrase is given) |
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { checkPassphrase, deriveKeys, newKdfParams, open as unseal, seal, type KdfParams } from './crypto/keys.ts'
import { identityFromSeed, type Identity } from './crypto/identity.ts'
import { CorruptionError, InvalidArgumentError, PassphraseRequiredError } from './errors.ts'

export interface PreparedDir {
  identity: Identity
  /** LMDB encryption key, when the directory is encrypted */
  storeKey?: string
  /** the key small files are sealed with, when the directory is encrypted */
  sealKey?: Uint8Array
  storePath: string
}

interface KeysFile extends KdfParams { version: 1, check: string }

const IDENTITY_MAGIC = 'BZID'

/** Writes a file atomically (temp file, fsync, rename) with the given mode. */
export function writeFileAtomic (path: string, data: Uint8Array | string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

function readKeys (path: string): KeysFile {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as KeysFile
    if (parsed.version !== 1 || parsed.kdf !== 'scrypt' || typeof parsed.salt !== 'string' || typeof parsed.check !== 'string') throw new Error('unexpected contents')
    return parsed
  } catch (cause) {
    throw new CorruptionError(`${path} is damaged; it holds the key parameters of this encrypted database — restore it from a backup`, { cause })
  }
}

export function prepareDataDir (dir: string, passphrase: string | undefined, random: (n: number) => Uint8Array = randomBytes): PreparedDir {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const keysPath = join(dir, 'keys.json')
  const identityPath = join(dir, 'identity.key')
  const storePath = join(dir, 'db')
  const encrypted = existsSync(keysPath)
  const exists = existsSync(identityPath)

  let sealKey: Uint8Array | undefined
  let storeKey: string | undefined
  if (encrypted) {
    if (passphrase === undefined) throw new PassphraseRequiredError(`${dir} is encrypted; open it with its passphrase`)
    const keysFile = readKeys(keysPath)
    const keys = deriveKeys(passphrase, keysFile)
    checkPassphrase(keys, Buffer.from(keysFile.check, 'base64'))
    sealKey = keys.sealKey
    storeKey = keys.storeKey
  } else if (passphrase !== undefined) {
    if (exists) throw new InvalidArgumentError(`${dir} holds an unencrypted database; open it without a passphrase`)
    const params = newKdfParams(random)
    const keys = deriveKeys(passphrase, params)
    const keysFile: KeysFile = { version: 1, ...params, check: Buffer.from(keys.check).toString('base64') }
    writeFileAtomic(keysPath, JSON.stringify(keysFile, null, 2) + '\n', 0o600)
    sealKey = keys.sealKey
    storeKey = keys.storeKey
  }

  let identity: Identity
  if (exists) {
    identity = identityFromSeed(readIdentity(identityPath, sealKey))
  } else {
    identity = identityFromSeed(random(32))
    const body = sealKey === undefined ? identity.seed : seal(sealKey, identity.seed, random)
    const out = Buffer.concat([Buffer.from(IDENTITY_MAGIC), Buffer.of(1, sealKey === undefined ? 0 : 1), body])
    writeFileAtomic(identityPath, out, 0o600)
  }
  return storeKey === undefined || sealKey === undefined ? { identity, storePath } : { identity, storeKey, sealKey, storePath }
}

function readIdentity (path: string, sealKey: Uint8Array | undefined): Uint8Array {
  const raw = readFileSync(path)
  const damaged = (why: string): never => { throw new CorruptionError(`${path} is damaged (${why}); it holds this device's identity — restore it from a backup`) }
  if (raw.length < 6 || raw.subarray(0, 4).toString() !== IDENTITY_MAGIC || raw[4] !== 1) damaged('bad header')
  const sealed = raw[5] === 1
  if (sealed !== (sealKey !== undefined)) damaged(sealed ? 'sealed, but the directory is not encrypted' : 'not sealed, but the directory is encrypted')
  const body = raw.subarray(6)
  const seed = sealKey === undefined ? body : unseal(sealKey, body, path)
  if (seed.length !== 32) damaged('wrong length')
  return new Uint8Array(seed)
}

const RECORD = 'database.json'

/** The database this directory was created for or joined, or undefined for a new directory. */
export function readDatabaseRecord (dir: string): { dbId: string } | undefined {
  const path = join(dir, RECORD)
  if (!existsSync(path)) return undefined
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown, dbId?: unknown }
    if (parsed.version !== 1 || typeof parsed.dbId !== 'string' || !/^[0-9a-f]{32}$/.test(parsed.dbId)) throw new Error('unexpected contents')
    return { dbId: parsed.dbId }
  } catch (cause) {
    throw new CorruptionError(`${path} is damaged; it records which database this directory holds — restore it from a backup, or write {"version":1,"dbId":"<the database id>"} into it`, { cause })
  }
}

export function writeDatabaseRecord (dir: string, dbId: string): void {
  writeFileAtomic(join(dir, RECORD), JSON.stringify({ version: 1, dbId }) + '\n', 0o600)
}

/** Whether the directory holds a store with data (a data.mdb that is not empty). */
export function storePresent (dir: string): boolean {
  const path = join(dir, 'db', 'data.mdb')
  return existsSync(path) && statSync(path).size > 0
}
