/**
 * What a replication protocol needs of a database — the narrow seam between protocols/ and
 * the engine. `Database` implements it; a protocol test can implement it with a stub.
 */
import type { ChangeEvent } from './db/core.ts'
import type { ApplyResult } from './db/remote-apply.ts'
import type { Batch } from './log/change-log.ts'
import type { Role } from './log/change.ts'
import type { VersionVector } from './log/version-vector.ts'

export interface Replica {
  /** database id (hex) */
  readonly id: string
  /** what this replica holds, durably */
  versionVector (): VersionVector
  /**
   * The changes beyond `vv`, in frames of about `maxBytes`, each ending on a signed change.
   * @throws BehindHorizonError when `vv` lacks changes the log no longer holds
   */
  changeBatches (vv: VersionVector, options?: { maxBytes?: number }): Iterable<Batch>
  /** verifies and applies a received batch (the payload of a FRAME_CHANGES frame) */
  applyChangeBatch (payload: Uint8Array): Promise<ApplyResult>
  /** every applied change, local or received; returns an unsubscribe */
  subscribe (listener: (event: ChangeEvent) => void): () => void
  /** membership, to admit or refuse a peer */
  readonly members: {
    roleOf: (peerId: string) => Role | null
    list: () => ReadonlyArray<{ peerId: string, role: Role }>
  }
}
