/**
 * The commit path's owner: runs one store transaction at a time, each with a fresh stage
 * built on what has committed, and publishes the stage only once the transaction is durable.
 *
 * Invariants:
 * 1. A job sees, in memory, exactly what is on disk: jobs are serialised, and the previous
 *    job's stage was published (or dropped) before the next one starts.
 * 2. A job that throws, or a commit that fails (disk full), leaves disk and memory as they
 *    were: its writes never reach the store, its stage is dropped, and the next job runs
 *    normally.
 * 3. Every transaction also stores the new shared structures (shapes) its values use and
 *    the clock's high-water mark, so a restart never reissues an older timestamp.
 *
 * Group commit comes from the callers: a local writer hands over everything queued while
 * the previous commit was in flight as one job.
 */
import type { StoreTxn } from '../store/types.ts'
import { metaKey, shapeKey } from '../keys.ts'
import { encode } from '../codec/index.ts'
import type { Core } from '../db/core.ts'
import { Stage } from './stage.ts'

export const CLOCK_KEY = metaKey('clock')

export class Committer {
  readonly #core: Core
  #tail: Promise<unknown> = Promise.resolve()

  constructor (core: Core) {
    this.#core = core
  }

  /**
   * Runs `job` in its own store transaction after every job queued before it. `job` must be
   * synchronous. Resolves with its result once committed and published.
   */
  run<T> (job: (txn: StoreTxn, stage: Stage) => T): Promise<T> {
    const result = this.#tail.then(() => this.#once(job))
    this.#tail = result.then(noop, noop)
    return result
  }

  /** Resolves once every job queued so far has finished. */
  async idle (): Promise<void> { await this.#tail }

  async #once<T> (job: (txn: StoreTxn, stage: Stage) => T): Promise<T> {
    const core = this.#core
    const stage = new Stage(core.log.stage(), core.members)
    let shapeIds: number[] = []
    const result = await core.store.transact((txn) => {
      const out = job(txn, stage)
      stage.log.write(txn, core.log)
      shapeIds = []
      for (const shape of core.table.unpersisted()) {
        txn.put(shapeKey(shape.id), encode(shape.keys))
        shapeIds.push(shape.id)
      }
      txn.put(CLOCK_KEY, u64(core.clock.last()))
      return out
    })
    // durable: bring memory up to the disk, in one synchronous step
    core.table.markPersisted(shapeIds)
    core.log.publish(stage.log)
    if (stage.membersChanged) core.members = stage.members
    for (const hook of stage.publishHooks()) hook()
    return result
  }
}

function u64 (n: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

function noop (): void {}
