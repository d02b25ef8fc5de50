/**
 * What one store transaction changes in memory, held back until it has committed: the
 * log's heads, the membership, and whatever else must follow the disk (full-text postings,
 * index definitions). The committer publishes a stage after the commit and drops it after a
 * failure, so memory never runs ahead of the disk.
 *
 * A write of a group gets a `child()` stage: it is `absorb`ed into its parent when the write
 * succeeds and simply dropped when it throws.
 */
import type { Members } from '../security/members.ts'
import type { LogStage } from '../log/change-log.ts'

export class Stage {
  readonly log: LogStage
  #members: Members
  #membersOwned: boolean
  /** run in order after the commit, to bring memory up to the disk */
  readonly #publish: Array<() => void> = []

  constructor (log: LogStage, members: Members, membersOwned = false) {
    this.log = log
    this.#members = members
    this.#membersOwned = membersOwned
  }

  /** The membership as this transaction sees it (do not mutate: see `membersForUpdate`). */
  get members (): Members { return this.#members }

  /** The membership, copied on the first change so the published one stays untouched. */
  membersForUpdate (): Members {
    if (!this.#membersOwned) {
      this.#members = this.#members.clone()
      this.#membersOwned = true
    }
    return this.#members
  }

  /** Whether this transaction changed the membership. */
  get membersChanged (): boolean { return this.#membersOwned }

  /** Something to do to memory once the transaction has committed. */
  onPublish (fn: () => void): void { this.#publish.push(fn) }

  child (): Stage { return new Stage(this.log.child(), this.#members) }

  absorb (child: Stage): void {
    this.log.absorb(child.log)
    if (child.#membersOwned) {
      this.#members = child.#members
      this.#membersOwned = true
    }
    this.#publish.push(...child.#publish)
  }

  /** @internal the committer runs these after the commit */
  publishHooks (): ReadonlyArray<() => void> { return this.#publish }
}
