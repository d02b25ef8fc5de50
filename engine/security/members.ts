/**
 * Members and roles: who may write what. One deterministic check (`authorize`) runs for a
 * local write before it becomes a change and for a received change before it is applied.
 *
 * - The genesis change (seq 1 of the creator) names the owner; the database id commits to
 *   it (`id = SHA-256(owner key ‖ nonce)[0..16]`), so any replica can check it knowing only
 *   the id.
 * - `grant`/`revoke` ops by an owner or admin set a member's role; each member's role is a
 *   history ordered by (hlc, author, op index), like document fields; the latest is current.
 * - owner: everything; admin: documents and roles other than owner, not the owner's;
 *   writer: documents; reader: nothing (reads its replica only).
 *
 * A change is judged by its author's role at the change's clock (see `Members`); runs are
 * sent in clock order so that grants arrive before the changes they allow.
 */
import { encode, decode, type Value } from '../codec/index.ts'
import { sha256 } from '../crypto/hash.ts'
import { peerIdFromPublicKey } from '../crypto/identity.ts'
import { compareStamps, compareBytes, type Stamp } from '../crdt/register.ts'
import { hexOf } from '../keys.ts'
import type { Hlc } from '../clock/hlc.ts'
import type { Change, Role } from '../log/change.ts'
import { ForbiddenError, InvalidChangeError, NotAMemberError, type BlazeError } from '../errors.ts'

interface Entry { role: Role | null, stamp: Stamp }

const hex = hexOf

/**
 * Each member's role history (grants and revokes in stamp order). A change is judged by its
 * author's role *at the change's clock*, so a write made before a revocation stays valid
 * wherever and whenever it arrives; a write stamped after a revocation is refused by every
 * replica that knows of the revocation.
 */
export class Members {
  private readonly byKey = new Map<string, { key: Uint8Array, history: Entry[] }>()
  private readonly dbId: Uint8Array

  constructor (dbId: Uint8Array) { this.dbId = dbId }

  /** the current role */
  roleOf (key: Uint8Array): Role | null {
    const h = this.byKey.get(hex(key))?.history
    return h === undefined || h.length === 0 ? null : h[h.length - 1]!.role
  }

  /** the role in force just before `stamp` */
  roleAt (key: Uint8Array, stamp: Stamp): Role | null {
    const h = this.byKey.get(hex(key))?.history
    if (h === undefined) return null
    let role: Role | null = null
    for (const e of h) {
      if (compareStamps(e.stamp, stamp) >= 0) break
      role = e.role
    }
    return role
  }

  list (): Array<{ key: Uint8Array, role: Role }> {
    const out: Array<{ key: Uint8Array, role: Role }> = []
    for (const m of this.byKey.values()) {
      const role = m.history[m.history.length - 1]?.role ?? null
      if (role !== null) out.push({ key: m.key, role })
    }
    return out
  }

  /** Why `change` is not allowed, or undefined when it is. Does not modify anything. */
  authorize (change: Change): BlazeError | undefined {
    // the peer id (base58) is costly: only errors need it
    const who = (): string => peerIdFromPublicKey(change.author)
    const at: Stamp = { hlc: change.hlc, author: change.author, idx: -1 }
    let role = this.roleAt(change.author, at)
    for (const op of change.ops) {
      if (op.op === 'genesis') {
        if (change.seq !== 1 || compareBytes(sha256(change.author, op.nonce).subarray(0, 16), this.dbId) !== 0) {
          return new InvalidChangeError(`${who()} claims to have created this database, but the database id does not match its genesis; the change is forged`)
        }
        role = 'owner'
        continue
      }
      if (role === null) return new NotAMemberError(`${who()} is not a member of this database (at the time of its change); an owner or admin must add it first (blaze members add ${who()} --role writer)`)
      if (role === 'reader') return new ForbiddenError(`${who()} is a reader and may not write; an owner or admin can grant it the writer role`)
      if (op.op === 'grant' || op.op === 'revoke') {
        if (role !== 'owner' && role !== 'admin') return new ForbiddenError(`${who()} is a ${role} and may not change roles; only owners and admins may`)
        if (role === 'admin' && (this.roleAt(op.peer, at) === 'owner' || (op.op === 'grant' && op.role === 'owner'))) {
          return new ForbiddenError(`${who()} is an admin and may not change the owner role; only an owner may`)
        }
      }
    }
    return undefined
  }

  /** Applies the membership ops of an authorized change; returns whether anything changed. */
  apply (change: Change): boolean {
    let changed = false
    change.ops.forEach((op, idx) => {
      const stamp: Stamp = { hlc: change.hlc, author: change.author, idx }
      if (op.op === 'genesis') changed = this.record(change.author, 'owner', stamp) || changed
      else if (op.op === 'grant') changed = this.record(op.peer, op.role, stamp) || changed
      else if (op.op === 'revoke') changed = this.record(op.peer, null, stamp) || changed
    })
    return changed
  }

  private record (key: Uint8Array, role: Role | null, stamp: Stamp): boolean {
    const k = hex(key)
    let m = this.byKey.get(k)
    if (m === undefined) this.byKey.set(k, m = { key: key.slice(), history: [] })
    let i = m.history.length
    while (i > 0 && compareStamps(m.history[i - 1]!.stamp, stamp) > 0) i--
    if (i > 0 && compareStamps(m.history[i - 1]!.stamp, stamp) === 0) return false
    m.history.splice(i, 0, { role, stamp })
    return true
  }

  clone (): Members {
    const copy = new Members(this.dbId)
    for (const [k, m] of this.byKey) copy.byKey.set(k, { key: m.key, history: [...m.history] })
    return copy
  }

  /** Canonical encoding: what is stored, and what `stateHash` covers. */
  encode (): Uint8Array {
    const out: Record<string, Value> = {}
    for (const [k, m] of this.byKey) out[k] = m.history.map((e) => [e.role, e.stamp.hlc, e.stamp.author, e.stamp.idx])
    return encode(out)
  }

  static decode (dbId: Uint8Array, bytes: Uint8Array | undefined): Members {
    const members = new Members(dbId)
    if (bytes === undefined) return members
    const value = decode(bytes) as Record<string, Array<[Role | null, Hlc, Uint8Array, number]>>
    for (const [k, history] of Object.entries(value)) {
      members.byKey.set(k, { key: Uint8Array.from(Buffer.from(k, 'hex')), history: history.map(([role, hlc, author, idx]) => ({ role, stamp: { hlc, author, idx } })) })
    }
    return members
  }
}

/** Whether a change carries membership ops (they must be applied before later changes are judged). */
export function changesMembership (change: Change): boolean {
  return change.ops.some((op) => op.op === 'genesis' || op.op === 'grant' || op.op === 'revoke')
}
