/**
 * Keeps an encrypted LMDB environment from reading a page it cached before the page was
 * freed and written again.
 *
 * With an encryption key, LMDB (as built into lmdb-js 3.5, mdb.c `mdb_rpage_get`) decrypts
 * pages into buffers it caches per 16-page chunk and shares between all transactions of
 * the process. A chunk's "already decrypted" bits are cleared only when no transaction at
 * all references the chunk; a commit does not clear the bits of the pages it writes. So if
 * a page was decrypted, then freed, reused and rewritten by a later commit while some
 * other transaction kept its chunk referenced the whole time (an open snapshot, a range
 * iterator held across a commit, the writer itself), every transaction that maps the chunk
 * later gets the page as it was before: reads return old values, and the writer copies the
 * old page into the next commit, so committed writes are lost for good.
 *
 * LMDB reuses a freed page only once no reader is older than the commit that freed it.
 * So a pin holds one read transaction (the anchor) taken at a quiescent point: a moment
 * with no snapshot, no open store range iterator and no write in flight, at which the shared
 * read transaction is reset too, so no transaction references any chunk and every cached
 * bit is cleared. Every transaction after that point reads pages as of the anchor or later,
 * and none of those pages can be reused while the anchor lives; pages freed before it can
 * be, but no cached copy of them is left. The anchor moves on at the next quiescent point
 * after a write. Writes that never pause would never give one, so once pages have been held
 * back for PAUSE_AFTER_MS, new transactions wait (`mustWait`) until those in flight are done,
 * the anchor moves on, and they go to LMDB together, as one batch. A snapshot or range
 * iterator open all the while still holds back every page freed meanwhile, as LMDB does for
 * its oldest reader, but so do overlapping ones that are each released in time.
 *
 * Plain (unencrypted) environments read pages straight from the map and need none of this.
 */
import type { LmdbDb, ReadTxn } from './lmdb-core.ts'

/** How long freed pages may be held back by writes that never pause before new ones wait for the anchor to move on. */
export const PAUSE_AFTER_MS = 20

export class ReusePin {
  readonly #db: LmdbDb
  /** true while anything but the pin may hold a read transaction: an open snapshot or range iterator, or the store closing */
  readonly #busy: () => boolean
  #anchor: ReadTxn | undefined
  /** the latest transaction promise handed to `wrote` (lmdb-js settles them in the order started) */
  #last: Promise<unknown> | undefined
  /** a write may be in flight: the promise being waited for has not settled */
  #writing = false
  /** writes were made since the anchor was taken, so moving it on would let LMDB reuse pages */
  #behind = false
  #behindSince = 0
  /** transactions waiting to go to LMDB, in the order started; handed over together once the writes in flight are done */
  #waiting: Array<() => void> = []

  /** Call when nothing holds a read transaction yet (right after the environment opens). */
  constructor (db: LmdbDb, busy: () => boolean) {
    this.#db = db
    this.#busy = busy
    this.#anchor = db.useReadTransaction()
  }

  /**
   * Whether a new transaction must wait (`wait`) instead of going to LMDB now: while others
   * wait, and once writes have held pages back for PAUSE_AFTER_MS without a pause.
   */
  mustWait (): boolean {
    if (this.#waiting.length > 0) return true
    return this.#writing && this.#behind && !this.#busy() && performance.now() - this.#behindSince >= PAUSE_AFTER_MS
  }

  /** `submit` runs once the writes in flight are done and the anchor has moved on, in the order of the calls. */
  wait (submit: () => void): void {
    this.#waiting.push(submit)
  }

  /** Call with each transaction's promise as LMDB returned it, in the order they were handed to LMDB. */
  wrote (committed: Promise<unknown>): void {
    this.#last = committed
    if (!this.#behind) {
      this.#behind = true
      this.#behindSince = performance.now()
    }
    if (!this.#writing) this.#await(committed)
  }

  /** Call when a snapshot or range iterator has let go of its read transaction: moves the anchor if now quiescent. */
  settle (): void {
    if (!this.#behind || this.#writing || this.#busy()) return
    this.#behind = false
    this.#anchor?.done()
    this.#anchor = undefined
    try {
      // ends the shared read transaction; nothing else holds one now
      this.#db.resetReadTxn()
      this.#anchor = this.#db.useReadTransaction()
    } catch {
      // reads will report the failure (closed, reader table full); try again at the next point
      this.#behind = true
    }
  }

  /** Ends the anchor; call before the environment closes. */
  close (): void {
    this.#anchor?.done()
    this.#anchor = undefined
    this.#behind = false
  }

  #await (committed: Promise<unknown>): void {
    this.#writing = true
    const settled = (): void => {
      if (this.#last !== committed) {
        this.#await(this.#last!)
        return
      }
      this.#writing = false
      this.settle()
      // synchronously and in order, so that no transaction started later can go first
      const waiting = this.#waiting
      this.#waiting = []
      for (const submit of waiting) submit()
    }
    committed.then(settled, settled)
  }
}
