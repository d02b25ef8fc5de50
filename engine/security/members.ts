/**
 * Members and roles: who may write what. One deterministic check (`authorize`) runs for a
 * local write before it becomes a change and for a received change before it is applied.
 *
 * - The genesis change (seq 1 of the creator) names the owner; the database id commits to
 *   it (`id = SHA-256(owner key ‖ nonce)[0..16]`), so any replica can check it knowing only
 *   the id.
 * - `grant`/`revoke` ops by an owner or admin set a member's role; each member's role is a
 *   last-writer-wins register ordered by (hlc, author, op index), like document fields.
 * - owner: everything; admin: documents and roles other than owner, not the owner's;
 *   writer: documents; reader: nothing (reads its replica only).
 *
 * A change is judged against the membership as this replica knows it when the change is
 * applied (runs are ordered so that grants arrive before the changes they allow).
 */
import { encode, decode, type Value } from '../codec/index.ts'
import { sha256 } from '../crypto/hash.ts'
import { peerIdFromPublicKey } from '../crypto/identity.ts'
import { compareStamps, compareBytes, type Stamp } from '../crdt/register.ts'
import type { Hlc } from '../clock/hlc.ts'
import type { Change, Role } from '../log/change.ts'
import { ForbiddenError, InvalidChangeError, NotAMemberError, type BlazeError } from '../errors.ts'

export interface Member {
  role: Role | null
  stamp: Stamp
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export class Members {
  private readonly byKey = new Map<string, Member & { key: Uint8Array }>()
  private readonly dbId: Uint8Array

  constructor (dbId: Uint8Array) { this.dbId = dbId }

  roleOf (key: Uint8Array): Role | null {
    return this.byKey.get(hex(key))?.role ?? null
  }

  list (): Array<{ key: Uint8Array, role: Role }> {
    const out: Array<{ key: Uint8Array, role: Role }> = []
    for (const m of this.byKey.values()) if (m.role !== null) out.push({ key: m.key, role: m.role })
    return out
  }

  /** Why `change` is not allowed, or undefined when it is. Does not modify anything. */
  authorize (change: Change): BlazeError | undefined {
    // the peer id (base58) is costly: only errors need it
    const who = (): string => peerIdFromPublicKey(change.author)
    let role = this.roleOf(change.author)
    for (const op of change.ops) {
      if (op.op === 'genesis') {
        if (change.seq !== 1 || compareBytes(sha256(change.author, op.nonce).subarray(0, 16), this.dbId) !== 0) {
          return new InvalidChangeError(`${who()} claims to have created this database, but the database id does not match its genesis; the change is forged`)
        }
        role = 'owner'
        continue
      }
      if (role === null) return new NotAMemberError(`${who()} is not a member of this database; an owner or admin must add it first (blaze members add ${who()} --role writer)`)
      if (role === 'reader') return new ForbiddenError(`${who()} is a reader and may not write; an owner or admin can grant it the writer role`)
      if (op.op === 'grant' || op.op === 'revoke') {
        if (role !== 'owner' && role !== 'admin') return new ForbiddenError(`${who()} is a ${role} and may not change roles; only owners and admins may`)
        if (role === 'admin' && (this.roleOf(op.peer) === 'owner' || (op.op === 'grant' && op.role === 'owner'))) {
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
      if (op.op === 'genesis') changed = this.set(change.author, 'owner', stamp) || changed
      else if (op.op === 'grant') changed = this.set(op.peer, op.role, stamp) || changed
      else if (op.op === 'revoke') changed = this.set(op.peer, null, stamp) || changed
    })
    return changed
  }

  private set (key: Uint8Array, role: Role | null, stamp: Stamp): boolean {
    const k = hex(key)
    const current = this.byKey.get(k)
    if (current !== undefined && compareStamps(current.stamp, stamp) >= 0) return false
    this.byKey.set(k, { key: key.slice(), role, stamp })
    return true
  }

  clone (): Members {
    const copy = new Members(this.dbId)
    for (const [k, m] of this.byKey) copy.byKey.set(k, m)
    return copy
  }

  /** Canonical encoding: what is stored, and what `stateHash` covers. */
  encode (): Uint8Array {
    const out: Record<string, Value> = {}
    for (const [k, m] of this.byKey) out[k] = [m.role, m.stamp.hlc, m.stamp.author, m.stamp.idx]
    return encode(out)
  }

  static decode (dbId: Uint8Array, bytes: Uint8Array | undefined): Members {
    const members = new Members(dbId)
    if (bytes === undefined) return members
    const value = decode(bytes) as Record<string, [Role | null, Hlc, Uint8Array, number]>
    for (const [k, [role, hlc, author, idx]] of Object.entries(value)) {
      members.byKey.set(k, { key: Uint8Array.from(Buffer.from(k, 'hex')), role, stamp: { hlc, author, idx } })
    }
    return members
  }
}

/** Whether a change carries membership ops (they must be applied before later changes are judged). */
export function changesMembership (change: Change): boolean {
  return change.ops.some((op) => op.op === 'genesis' || op.op === 'grant' || op.op === 'revoke')
}
