/**
 * Applying other replicas' changes. Every change is checked before it can touch state:
 *
 * 1. it decodes as a canonical change of this database;
 * 2. per author, seqs continue the local head without gaps, and each `prev` is the hash of
 *    the change before it (the stored head for the first);
 * 3. a valid signature covers it: the last signed change of the run whose signature verifies
 *    vouches, through the hash chain, for every change up to it — one Ed25519 verify per run
 *    instead of per change; changes after the last valid signature are refused;
 * 4. a change already held (same author and seq) must have the same hash — a different one
 *    is a conflicting (forked or forged) history and the run is refused;
 * 5. a change whose HLC is beyond the allowed clock drift is held (stored, counted, retried
 *    by `retryHeld`), with every later change of its author, back to a signed boundary so
 *    the applied part always ends on a signature.
 *
 * A refused run applies nothing from the refused change on; runs of other authors in the
 * same batch are independent. Runs that pass are applied in one store transaction.
 */
import type { BlazeError } from '../errors.ts'
import { BadSignatureError, BrokenChainError, ConflictingChangeError, LimitExceededError, SequenceGapError, UnsignedChangeError, WrongDatabaseError } from '../errors.ts'
import { decodeChange, hashChange, type Change } from '../log/change.ts'
import { decodeStoredEntry, encodeStoredEntry, MAX_CHANGE_BYTES, type SignedChange } from '../log/entry.ts'
import { verifySignature, type PeerIdString } from '../crypto/identity.ts'
import { authorRange, heldKey, PREFIX } from '../keys.ts'
import { compareBytes } from '../crdt/register.ts'
import type { StoreTxn } from '../store/types.ts'
import type { VersionVector } from '../log/version-vector.ts'
import { applyChange, DocCache, writeStates, type Target } from '../commit/apply-change.ts'
import type { Committer } from '../commit/committer.ts'
import { changesMembership } from '../security/members.ts'
import type { ChangeEvent, Core } from './core.ts'

export interface Rejection {
  author: PeerIdString | undefined
  /** first refused seq of the run */
  seq: number | undefined
  /** how many changes of the run were refused */
  count: number
  error: BlazeError
}

export interface ApplyResult {
  applied: number
  duplicates: number
  held: number
  rejected: Rejection[]
  /** per author, the highest seq present in the batch (what the sender evidently has) */
  seen: VersionVector
}

interface Parsed extends SignedChange {
  change: Change
  hash: Uint8Array
}

interface Plan {
  author: Uint8Array
  apply: Parsed[]
  hold: Parsed[]
}

export class RemoteApplier {
  private readonly core: Core
  private readonly committer: Committer
  private readonly emit: (events: ChangeEvent[]) => void

  constructor (core: Core, committer: Committer, emit: (events: ChangeEvent[]) => void) {
    this.core = core
    this.committer = committer
    this.emit = emit
  }

  async applyEntries (entries: readonly SignedChange[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: 0, duplicates: 0, held: 0, rejected: [], seen: {} }
    const runs = new Map<string, Parsed[]>()
    for (const entry of entries) {
      let change: Change
      try {
        change = decodeChange(entry.bytes)
      } catch (error) {
        result.rejected.push({ author: undefined, seq: undefined, count: 1, error: error as BlazeError })
        continue
      }
      const key = Buffer.from(change.author).toString('hex')
      let run = runs.get(key)
      if (run === undefined) runs.set(key, run = [])
      run.push({ ...entry, change, hash: hashChange(entry.bytes) })
    }
    const plans: Plan[] = []
    for (const run of runs.values()) {
      run.sort((a, b) => a.change.seq - b.change.seq)
      result.seen[this.core.peerIdOf(run[0]!.change.author)] = run[run.length - 1]!.change.seq
      const plan = this.verifyRun(run, result)
      if (plan !== undefined) plans.push(plan)
    }
    if (plans.length === 0) return result
    await this.commit(plans, result)
    return result
  }

  private reject (result: ApplyResult, run: readonly Parsed[], from: number, error: BlazeError): void {
    const first = run[from]!
    result.rejected.push({ author: this.core.peerIdOf(first.change.author), seq: first.change.seq, count: run.length - from, error })
  }

  /** Checks 1–5 that need no transaction; returns what to apply and what to hold. */
  private verifyRun (run: Parsed[], result: ApplyResult): Plan | undefined {
    const core = this.core
    const author = run[0]!.change.author
    const head = core.log.head(author)
    let expectSeq = (head?.seq ?? 0) + 1
    let expectPrev: Uint8Array | null = head?.hash ?? null
    const candidates: Parsed[] = []
    for (let i = 0; i < run.length; i++) {
      const p = run[i]!
      const c = p.change
      if (compareBytes(c.db, core.dbId) !== 0) {
        this.reject(result, run, i, new WrongDatabaseError('change belongs to another database; the peer is syncing a different database'))
        break
      }
      if (p.bytes.length > MAX_CHANGE_BYTES) {
        this.reject(result, run, i, new LimitExceededError(`change ${c.seq} of ${core.peerIdOf(author)} is ${p.bytes.length} bytes, above the limit of ${MAX_CHANGE_BYTES} (MAX_CHANGE_BYTES); its author runs a faulty or hostile version`))
        break
      }
      if (c.seq < expectSeq) {
        // a duplicate: must match what we hold
        const stored = core.log.entry(core.store, author, c.seq)
        const prevInBatch = candidates.length > 0 ? candidates[candidates.length - 1] : undefined
        if ((stored !== undefined && compareBytes(stored.hash, p.hash) !== 0) ||
            (prevInBatch !== undefined && prevInBatch.change.seq === c.seq && compareBytes(prevInBatch.hash, p.hash) !== 0)) {
          this.reject(result, run, i, new ConflictingChangeError(`author ${core.peerIdOf(author)} has two different changes with seq ${c.seq}; its history is forked or forged — the run is refused`))
          break
        }
        if (prevInBatch === undefined || prevInBatch.change.seq !== c.seq) result.duplicates++
        continue
      }
      if (c.seq > expectSeq) {
        this.reject(result, run, i, new SequenceGapError(`expected seq ${expectSeq} of ${core.peerIdOf(author)}, got ${c.seq}; the missing changes must come first`))
        break
      }
      if (expectPrev === null ? c.prev !== null : (c.prev === null || compareBytes(c.prev, expectPrev) !== 0)) {
        this.reject(result, run, i, new BrokenChainError(`change ${c.seq} of ${core.peerIdOf(author)} does not link to its predecessor; it was altered or forged`))
        break
      }
      candidates.push(p)
      expectSeq = c.seq + 1
      expectPrev = p.hash
    }
    if (candidates.length === 0) return undefined

    // 3: the last valid signature covers everything before it
    let covered = -1
    let badFrom = -1
    for (let i = candidates.length - 1; i >= 0; i--) {
      const p = candidates[i]!
      if (p.signature === null) continue
      if (verifySignature(author, p.hash, p.signature)) { covered = i; break }
      badFrom = i
    }
    if (covered < candidates.length - 1) {
      const from = covered + 1
      const error = badFrom >= 0
        ? new BadSignatureError(`signature of change ${candidates[badFrom]!.change.seq} of ${core.peerIdOf(author)} does not verify; refusing it and the unsigned changes before it`)
        : new UnsignedChangeError(`changes from seq ${candidates[from]!.change.seq} of ${core.peerIdOf(author)} carry no signature that covers them; the sender must send runs ending in a signed change`)
      this.reject(result, candidates, from, error)
      candidates.length = from
    }
    if (candidates.length === 0) return undefined

    // 5: hold from the first change beyond the drift, back to a signed boundary
    const beyond = candidates.findIndex((p) => !core.clock.withinDrift(p.change.hlc))
    if (beyond < 0) return { author, apply: candidates, hold: [] }
    let cut = beyond - 1
    while (cut >= 0 && candidates[cut]!.signature === null) cut--
    return { author, apply: candidates.slice(0, cut + 1), hold: candidates.slice(cut + 1) }
  }

  private async commit (plans: Plan[], result: ApplyResult): Promise<void> {
    const core = this.core
    const { events, held } = await this.committer.run((txn, stage) => {
      const t: Target = { core, txn, stage, cache: new DocCache() }
      const events: ChangeEvent[] = []
      let held = 0
      // runs refused for membership get another chance once a later run changed membership
      let pending = plans
      for (;;) {
        const refused: Array<{ plan: Plan, error: BlazeError }> = []
        let membershipChanged = false
        for (const plan of pending) {
          const outcome = this.applyPlan(t, plan, events)
          held += outcome.held
          membershipChanged ||= outcome.membershipChanged
          if (outcome.refused !== undefined) refused.push({ plan: { author: plan.author, apply: plan.apply.slice(outcome.refused.at), hold: plan.hold }, error: outcome.refused.error })
        }
        if (refused.length === 0) break
        if (!membershipChanged) {
          for (const r of refused) this.reject(result, r.plan.apply, 0, r.error)
          break
        }
        pending = refused.map((r) => r.plan)
      }
      writeStates(t)
      return { events, held }
    })
    result.applied += events.length
    result.held += held
    if (events.length > 0) this.emit(events)
  }

  /**
   * Applies one verified run inside the transaction. Authorization is checked first for the
   * whole run (on a scratch copy of the membership, since the run may itself grant roles);
   * a refused change cuts the run back to the last signed change before it.
   */
  private applyPlan (t: Target, plan: Plan, events: ChangeEvent[]): { held: number, membershipChanged: boolean, refused?: { at: number, error: BlazeError } } {
    const core = this.core
    const { txn, stage } = t
    // another apply may have moved this author's head since verification
    const head = stage.log.head(plan.author)
    let from = 0
    while (from < plan.apply.length && plan.apply[from]!.change.seq <= (head?.seq ?? 0)) from++
    const first = plan.apply[from]
    if (first !== undefined && first.change.seq !== (head?.seq ?? 0) + 1) return { held: 0, membershipChanged: false }
    if (first !== undefined && head !== undefined && compareBytes(first.change.prev!, head.hash) !== 0) return { held: 0, membershipChanged: false }

    const scratch = stage.members.clone()
    let upTo = plan.apply.length
    let refused: { at: number, error: BlazeError } | undefined
    for (let i = from; i < plan.apply.length; i++) {
      const change = plan.apply[i]!.change
      const error = scratch.authorize(change)
      if (error !== undefined) {
        upTo = i
        while (upTo > from && plan.apply[upTo - 1]!.signature === null) upTo--
        refused = { at: upTo, error }
        break
      }
      scratch.apply(change)
    }
    for (let i = from; i < upTo; i++) {
      const p = plan.apply[i]!
      const error = applyChange(t, p.change, { bytes: p.bytes, hash: p.hash, signature: p.signature })
      // the scratch check above judged the same changes in the same order
      if (error !== undefined) throw error
      events.push({ origin: 'remote', author: core.peerIdOf(plan.author), seq: p.change.seq, hlc: p.change.hlc, ops: p.change.ops })
    }
    const membershipChanged = hasMembershipOps(plan.apply, from, upTo)
    let held = 0
    if (refused === undefined) {
      for (const p of plan.hold) {
        txn.put(heldKey(plan.author, p.change.seq), encodeStoredEntry({ bytes: p.bytes, hash: p.hash, signature: p.signature }))
        held++
      }
    }
    if (upTo > from) this.dropHeldUpTo(txn, plan.author, plan.apply[upTo - 1]!.change.seq)
    return refused === undefined ? { held, membershipChanged } : { held, membershipChanged, refused }
  }

  private dropHeldUpTo (txn: StoreTxn, author: Uint8Array, seq: number): void {
    for (const { key } of txn.range({ ...authorRange(PREFIX.held, author), lt: heldKey(author, seq + 1) })) txn.delete(key)
  }

  /** Re-tries held changes whose time has come. Returns how many were applied. */
  async retryHeld (): Promise<number> {
    const entries: SignedChange[] = []
    for (const { value } of this.core.store.range({ gte: Uint8Array.of(PREFIX.held), lt: Uint8Array.of(PREFIX.held + 1) })) {
      const e = decodeStoredEntry(value)
      entries.push({ bytes: e.bytes, signature: e.signature })
    }
    if (entries.length === 0) return 0
    const result = await this.applyEntries(entries)
    return result.applied
  }

  /** Number of changes currently held for clock drift. */
  heldCount (): number {
    let n = 0
    for (const _ of this.core.store.range({ gte: Uint8Array.of(PREFIX.held), lt: Uint8Array.of(PREFIX.held + 1) })) n++
    return n
  }
}

function hasMembershipOps (run: readonly Parsed[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (changesMembership(run[i]!.change)) return true
  return false
}
