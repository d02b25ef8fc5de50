/**
 * A change: one local write or transaction, signed by its author.
 *
 * Canonical BlazeBinary map (field names short because every change carries them):
 *
 * | field | type            | meaning                                                  |
 * |-------|-----------------|----------------------------------------------------------|
 * | db    | bytes(16)       | database id                                              |
 * | a     | bytes(32)       | author's Ed25519 public key                              |
 * | s     | int ≥ 1         | author's sequence number, from 1, no gaps                |
 * | p     | bytes(32) / nil | SHA-256 of the author's previous change (nil when s = 1) |
 * | t     | uint64          | HLC: ms << 16 | counter                                  |
 * | o     | array of ops    | see `Op`                                                 |
 *
 * The change's hash is SHA-256 of these bytes; an author's changes form a hash chain through
 * `p`, so one signature over a change's hash vouches for every change before it.
 */
import { encode, decodeCanonical, type Value } from '../codec/index.ts'
import { isHlc, type Hlc } from '../clock/hlc.ts'
import { InvalidChangeError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import type { Path } from '../crdt/register.ts'

export type Role = 'owner' | 'admin' | 'writer' | 'reader'
export const ROLES: readonly Role[] = ['owner', 'admin', 'writer', 'reader']

export type Op =
  | { op: 'set', c: string, id: string, p: Path, v: Value }
  | { op: 'unset', c: string, id: string, p: Path }
  | { op: 'del', c: string, id: string }
  | { op: 'inc', c: string, id: string, p: Path, by: number }
  | { op: 'genesis', nonce: Uint8Array }
  | { op: 'grant', peer: Uint8Array, role: Role }
  | { op: 'revoke', peer: Uint8Array }

export interface Change {
  db: Uint8Array
  author: Uint8Array
  seq: number
  prev: Uint8Array | null
  hlc: Hlc
  ops: Op[]
}

export const MAX_OPS_PER_CHANGE = 100_000
/**
 * Names are bounded in UTF-8 bytes so that every key built from them (document, count,
 * index keys) fits the store's key limit on every replica: a change is valid or not
 * everywhere, whatever a replica's configuration.
 */
export const MAX_COLLECTION_BYTES = 256
export const MAX_ID_BYTES = 512

/** Why a collection name or document id is not allowed, or undefined. */
export function nameProblem (v: unknown, maxBytes: number): string | undefined {
  if (typeof v !== 'string' || v.length === 0) return 'must be a non-empty string'
  if (v.includes('\u0000')) return 'must not contain NUL'
  if (Buffer.byteLength(v) > maxBytes) return `must be at most ${maxBytes} bytes in UTF-8 (got ${Buffer.byteLength(v)})`
  return undefined
}

export function encodeChange (change: Change): Uint8Array {
  return encode({ db: change.db, a: change.author, s: change.seq, p: change.prev, t: change.hlc, o: change.ops as unknown as Value[] })
}

export function hashChange (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}

function fail (why: string): never {
  throw new InvalidChangeError(`malformed change: ${why}; the sender is running an incompatible or faulty version`)
}

function isMap (v: unknown): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)
}

function bytesOf (v: Value | undefined, length: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) fail(`${what} must be ${length} bytes`)
  return v
}

function stringOf (v: Value | undefined, what: 'collection' | 'id'): string {
  const problem = nameProblem(v, what === 'id' ? MAX_ID_BYTES : MAX_COLLECTION_BYTES)
  if (problem !== undefined) fail(`${what} ${problem}`)
  return v as string
}

function pathOf (v: Value | undefined): Path {
  if (!Array.isArray(v) || v.length > 64) fail('path must be an array of at most 64 keys')
  for (const k of v) if (typeof k !== 'string' || k.length === 0) fail('path keys must be non-empty strings')
  return v as string[]
}

function onlyKeys (m: Record<string, Value>, keys: string[], what: string): void {
  for (const k of Object.keys(m)) if (!keys.includes(k)) fail(`unexpected field ${JSON.stringify(k)} in ${what}`)
  for (const k of keys) if (!(k in m)) fail(`missing field ${JSON.stringify(k)} in ${what}`)
}

export function validateOp (v: Value): Op {
  if (!isMap(v)) fail('op must be a map')
  switch (v.op) {
    case 'set':
      onlyKeys(v, ['op', 'c', 'id', 'p', 'v'], 'set op')
      return { op: 'set', c: stringOf(v.c, 'collection'), id: stringOf(v.id, 'id'), p: pathOf(v.p), v: v.v! }
    case 'unset':
      onlyKeys(v, ['op', 'c', 'id', 'p'], 'unset op')
      return { op: 'unset', c: stringOf(v.c, 'collection'), id: stringOf(v.id, 'id'), p: pathOf(v.p) }
    case 'del':
      onlyKeys(v, ['op', 'c', 'id'], 'del op')
      return { op: 'del', c: stringOf(v.c, 'collection'), id: stringOf(v.id, 'id') }
    case 'inc':
      onlyKeys(v, ['op', 'c', 'id', 'p', 'by'], 'inc op')
      if (typeof v.by !== 'number' || !Number.isFinite(v.by)) fail('inc amount must be a finite number')
      return { op: 'inc', c: stringOf(v.c, 'collection'), id: stringOf(v.id, 'id'), p: pathOf(v.p), by: v.by }
    case 'genesis':
      onlyKeys(v, ['op', 'nonce'], 'genesis op')
      return { op: 'genesis', nonce: bytesOf(v.nonce, 16, 'genesis nonce') }
    case 'grant':
      onlyKeys(v, ['op', 'peer', 'role'], 'grant op')
      if (!ROLES.includes(v.role as Role)) fail(`role must be one of ${ROLES.join(', ')}`)
      return { op: 'grant', peer: bytesOf(v.peer, 32, 'grant peer'), role: v.role as Role }
    case 'revoke':
      onlyKeys(v, ['op', 'peer'], 'revoke op')
      return { op: 'revoke', peer: bytesOf(v.peer, 32, 'revoke peer') }
    default:
      return fail(`unknown op ${JSON.stringify(v.op)}`)
  }
}

/** Decodes and validates change bytes; they must be canonical (one encoding per change). */
export function decodeChange (bytes: Uint8Array): Change {
  let v: Value
  try {
    v = decodeCanonical(bytes)
  } catch (cause) {
    throw new InvalidChangeError('change bytes are not canonical BlazeBinary; the sender is running an incompatible or faulty version', { cause })
  }
  if (!isMap(v)) fail('not a map')
  onlyKeys(v, ['db', 'a', 's', 'p', 't', 'o'], 'change')
  const seq = v.s
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) fail('seq must be a positive integer')
  if (!isHlc(v.t)) fail('hlc must be an unsigned 64-bit integer')
  if (!Array.isArray(v.o) || v.o.length === 0 || v.o.length > MAX_OPS_PER_CHANGE) fail(`ops must be a non-empty array of at most ${MAX_OPS_PER_CHANGE}`)
  const prev = v.p === null ? null : bytesOf(v.p, 32, 'prev')
  if ((seq === 1) !== (prev === null)) fail('prev must be nil exactly when seq is 1')
  return {
    db: bytesOf(v.db, 16, 'db'),
    author: bytesOf(v.a, 32, 'author'),
    seq,
    prev,
    hlc: v.t as Hlc,
    ops: v.o.map(validateOp)
  }
}
