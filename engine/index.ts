/**
 * BlazeDB: an embedded, encrypted document database whose every write is a signed CRDT
 * change, ready to replicate peer-to-peer.
 *
 * @example
 * import { open } from 'blazedb'
 * const db = await open({ path: './data' })
 * const id = await db.collection('todos').insert({ title: 'buy milk', done: false })
 * console.log(db.collection('todos').get(id))
 * await db.close()
 */
export { open, Database } from './database.ts'
export type { OpenOptions, ChangeListener, Stats, DatabaseObserver, QueryKind } from './database.ts'
export type { Collection, Document, Filter, FindOptions, Join } from './db/collection.ts'
export type { SearchHit } from './fulltext/index.ts'
export type { AggregateRow, AggregateSpec, Explanation, Page, QueryBuilder, QuerySpec, SortInput } from './query/index.ts'
export type { ChangeEvent, Origin } from './db/core.ts'
export type { ApplyResult, Rejection } from './db/remote-apply.ts'
export type { VersionVector } from './log/version-vector.ts'
export type { Replica } from './replica.ts'
export type { Batch } from './log/change-log.ts'
export type { PeerIdString } from './crypto/identity.ts'
export type { Role } from './log/change.ts'
export { restoreBackup } from './backup.ts'
export * from './errors.ts'
