/**
 * Local writes with group commit. Every write call becomes one change of its own; the
 * writes queued while the previous commit is in flight run together as one job of the
 * committer — one store transaction, one fsync — and a group is signed once: its last
 * change's signature vouches, through the hash chain, for the others (a run is also signed
 * every SIGN_INTERVAL_BYTES, so that a peer can always be sent it in bounded frames).
 *
 * A write is a `build` function that runs inside the transaction, reads current state,
 * validates, and returns the change's ops. Each write of a group runs in its own savepoint
 * and child stage: if it throws (or is refused, or is over the size limit) it fails alone,
 * leaving nothing behind, and the rest of the group still commits. A group of one write
 * needs no savepoint: if it fails, the whole job fails, and the committer drops the
 * transaction and its stage, which leaves exactly as little behind.
 */
import { encodeChange, hashChange, type Change, type Op } from '../log/change.ts'
import { MAX_CHANGE_BYTES, SIGN_INTERVAL_BYTES } from '../log/entry.ts'
import type { StoreTxn } from '../store/types.ts'
import { Savepoint } from '../store/savepoint.ts'
import { DatabaseClosedError, LimitExceededError } from '../errors.ts'
import { applyChange, DocCache, writeStates, type Target } from '../commit/apply-change.ts'
import type { Committer } from '../commit/committer.ts'
import type { Stage } from '../commit/stage.ts'
import type { ChangeEvent, Core } from './core.ts'
import type { Hlc } from '../clock/hlc.ts'

export interface WriteContext {
  txn: StoreTxn
  cache: DocCache
  core: Core
}

export type BuildOps<T> = (ctx: WriteContext) => { ops: Op[], result: T }

interface Pending {
  build: BuildOps<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

type Outcome = { ok: true, result: unknown, event: ChangeEvent | undefined } | { ok: false, error: unknown }

export class LocalWriter {
  private readonly core: Core
  private readonly committer: Committer
  private readonly emit: (events: ChangeEvent[]) => void
  private queue: Pending[] = []
  private scheduled: Promise<void> | undefined
  private closed = false

  private readonly timed: (seconds: number, ok: boolean) => void

  /** `timed` hears how long each write took, from the call until durable (or failed). */
  constructor (core: Core, committer: Committer, emit: (events: ChangeEvent[]) => void, timed: (seconds: number, ok: boolean) => void = () => {}) {
    this.core = core
    this.committer = committer
    this.emit = emit
    this.timed = timed
  }

  write<T> (build: BuildOps<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DatabaseClosedError('the database is closed; open it again to write'))
    const start = performance.now()
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        build,
        resolve: (v) => { this.timed((performance.now() - start) / 1000, true); resolve(v as T) },
        reject: (e) => { this.timed((performance.now() - start) / 1000, false); reject(e) }
      })
      this.scheduled ??= this.schedule()
    })
  }

  private async schedule (): Promise<void> {
    let group: Pending[] = []
    try {
      const outcomes = await this.committer.run((txn, stage) => {
        // everything queued until now, including what came while the last commit was in flight
        group = this.queue
        this.queue = []
        this.scheduled = undefined
        return this.runGroup(txn, stage, group)
      })
      const events: ChangeEvent[] = []
      outcomes.forEach((o, i) => {
        if (o.ok) {
          if (o.event !== undefined) events.push(o.event)
          group[i]!.resolve(o.result)
        } else {
          group[i]!.reject(o.error)
        }
      })
      if (events.length > 0) this.emit(events)
    } catch (error) {
      // the commit failed: nothing of the group is on disk or in memory
      if (group.length === 0) { group = this.queue; this.queue = []; this.scheduled = undefined }
      for (const p of group) p.reject(error)
    }
  }

  private runGroup (txn: StoreTxn, stage: Stage, group: Pending[]): Outcome[] {
    const core = this.core
    const me = core.identity.publicKey
    const outcomes: Outcome[] = []
    let last: { change: Change, bytes: Uint8Array, hash: Uint8Array } | undefined
    let unsigned = 0
    const alone = group.length === 1
    for (const pending of group) {
      const savepoint = alone ? undefined : new Savepoint(txn)
      const child = alone ? stage : stage.child()
      const t: Target = { core, txn: savepoint ?? txn, stage: child, cache: new DocCache() }
      try {
        const { ops, result } = pending.build({ txn: t.txn, cache: t.cache, core })
        if (ops.length === 0) {
          outcomes.push({ ok: true, result, event: undefined })
          continue
        }
        const head = child.log.head(me)
        const change: Change = { db: core.dbId, author: me, seq: (head?.seq ?? 0) + 1, prev: head?.hash ?? null, hlc: core.clock.now(), ops }
        const bytes = encodeChange(change)
        if (bytes.length > MAX_CHANGE_BYTES) {
          throw new LimitExceededError(`this write encodes to ${bytes.length} bytes, above the limit of ${MAX_CHANGE_BYTES} bytes per change (MAX_CHANGE_BYTES) that every peer accepts; split it into smaller writes or keep large blobs outside the database`)
        }
        const hash = hashChange(bytes)
        unsigned += bytes.length
        // sign now and then within a long group, so no unsigned run outgrows a sync frame
        const signature = unsigned >= SIGN_INTERVAL_BYTES ? core.identity.sign(hash) : null
        if (signature !== null) unsigned = 0
        const refused = applyChange(t, change, { bytes, hash, signature })
        if (refused !== undefined) throw refused
        writeStates(t)
        if (savepoint !== undefined) {
          savepoint.release()
          stage.absorb(child)
        }
        last = signature === null ? { change, bytes, hash } : undefined
        outcomes.push({ ok: true, result, event: { origin: 'local', author: core.identity.peerId, seq: change.seq, hlc: change.hlc as Hlc, ops } })
      } catch (error) {
        // alone: the job fails, and with it the transaction (schedule rejects the write)
        if (savepoint === undefined) throw error
        savepoint.rollback()
        outcomes.push({ ok: false, error })
      }
    }
    if (last !== undefined) {
      // the group's last change carries the signature that covers the run before it
      stage.log.append(txn, last.change, { bytes: last.bytes, hash: last.hash, signature: core.identity.sign(last.hash) })
    }
    return outcomes
  }

  /** Stops accepting writes and waits for those already queued to commit. */
  async close (): Promise<void> {
    this.closed = true
    await this.scheduled?.catch(() => {})
    await this.committer.idle()
  }
}
