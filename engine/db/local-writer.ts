/**
 * Local writes with group commit. Every write call becomes one change of its own; the
 * writes queued while a commit is pending run together in one store transaction (one
 * fsync), and only the last change of each group is signed — its hash chain vouches for
 * the others, so signing costs one Ed25519 signature per commit rather than per write.
 *
 * A write is a `build` function that runs inside the transaction, reads current state,
 * validates, and returns the change's ops; if it throws, that write fails alone and the
 * rest of the group still commits.
 */
import { encodeChange, hashChange, type Change, type Op } from '../log/change.ts'
import type { StoreTxn } from '../store/types.ts'
import { DatabaseClosedError } from '../errors.ts'
import { DocCache, hexOf, type ChangeEvent, type Core } from './core.ts'
import type { Hlc } from '../clock/hlc.ts'

export interface WriteContext {
  txn: StoreTxn
  cache: DocCache
}

export type BuildOps<T> = (ctx: WriteContext) => { ops: Op[], result: T }

interface Pending {
  build: BuildOps<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export class LocalWriter {
  private readonly core: Core
  private readonly emit: (events: ChangeEvent[]) => void
  private queue: Pending[] = []
  private scheduled = false
  private closed = false
  private inFlight = new Set<Promise<void>>()

  constructor (core: Core, emit: (events: ChangeEvent[]) => void) {
    this.core = core
    this.emit = emit
  }

  write<T> (build: BuildOps<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DatabaseClosedError('the database is closed; open it again to write'))
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ build, resolve: resolve as (v: unknown) => void, reject })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  private flush (): void {
    this.scheduled = false
    const group = this.queue
    this.queue = []
    if (group.length === 0) return
    const core = this.core
    const outcomes: Array<{ ok: true, result: unknown, event: ChangeEvent | undefined } | { ok: false, error: unknown }> = []
    let shapeIds: number[] = []
    const done = core.store.transact((txn) => {
      const moved = new Set<string>()
      let last: { change: Change, bytes: Uint8Array, hash: Uint8Array } | undefined
      for (const pending of group) {
        const cache = new DocCache()
        try {
          const { ops, result } = pending.build({ txn, cache })
          if (ops.length === 0) {
            outcomes.push({ ok: true, result, event: undefined })
            continue
          }
          const me = core.identity.publicKey
          const head = core.heads.get(hexOf(me))
          const change: Change = {
            db: core.dbId,
            author: me,
            seq: (head?.seq ?? 0) + 1,
            prev: head?.hash ?? null,
            hlc: core.clock.now(),
            ops
          }
          const refused = core.members.authorize(change)
          if (refused !== undefined) throw refused
          const bytes = encodeChange(change)
          const hash = hashChange(bytes)
          core.applyMembership(txn, change)
          core.mergeOps(txn, cache, change)
          core.writeStates(txn, cache)
          core.appendLog(txn, change, { bytes, hash, signature: null }, moved)
          last = { change, bytes, hash }
          outcomes.push({ ok: true, result, event: { origin: 'local', author: core.identity.peerId, seq: change.seq, hlc: change.hlc as Hlc, ops } })
        } catch (error) {
          outcomes.push({ ok: false, error })
        }
      }
      if (last !== undefined) {
        // the group's last change carries the signature that covers the whole group
        core.appendLog(txn, last.change, { bytes: last.bytes, hash: last.hash, signature: core.identity.sign(last.hash) }, moved)
      }
      core.writeHeads(txn, moved)
      shapeIds = core.writeShapes(txn)
    })
    const settled = done.then(() => {
      core.table.markPersisted(shapeIds)
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
    }, (error: unknown) => {
      for (const p of group) p.reject(error)
    })
    this.inFlight.add(settled)
    void settled.finally(() => this.inFlight.delete(settled))
  }

  /** Stops accepting writes and waits for those already queued to commit. */
  async close (): Promise<void> {
    this.closed = true
    if (this.scheduled || this.queue.length > 0) this.flush()
    await Promise.allSettled([...this.inFlight])
  }
}
