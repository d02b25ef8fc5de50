/**
 * The index catalog: this replica's secondary and full-text indexes — declared, built,
 * dropped, and loaded at open. Definitions live in the store (X and M fts keys); the
 * in-memory catalog on `Core` changes only once the transaction that built or dropped an
 * index has committed, so a failed build leaves no half-declared index behind.
 */
import { decode, encode } from '../codec/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { collectionRange, docKeyParts, indexDefKey, metaKey, PREFIX, prefixRange, readU64, u64Bytes } from '../keys.ts'
import { decodeDef, encodeDef, indexKey, indexRange, MAX_INDEX_FIELDS, type IndexDef } from '../index/indexes.ts'
import { FullTextIndex } from '../fulltext/index.ts'
import type { StoreReader } from '../store/types.ts'
import type { Committer } from '../commit/committer.ts'
import { checkName } from './patch.ts'
import type { Core } from './core.ts'

const SEARCH_DEF = 'fts\u0000'
function searchDefKey (collection: string, name: string): Uint8Array { return metaKey(`${SEARCH_DEF}${collection}\u0000${name}`) }
function searchDefRange (): { gte: Uint8Array, lt: Uint8Array } { return { gte: searchDefKey('', ''), lt: metaKey('fts\u0001') } }

export interface IndexOptions { name?: string, onProgress?: (done: number, total: number) => void }

export class Catalog {
  readonly #core: Core
  readonly #committer: Committer

  constructor (core: Core, committer: Committer) {
    this.#core = core
    this.#committer = committer
  }

  /** Loads the definitions at open; full-text indexes live in memory and are rebuilt here. */
  load (): void {
    const core = this.#core
    for (const { value } of core.store.range(prefixRange(PREFIX.indexDef))) addIndex(core, decodeDef(value))
    for (const { key, value } of core.store.range(searchDefRange())) {
      const [collection, name] = Buffer.from(key.subarray(5)).toString('utf8').split('\u0000')
      const fields = decode(value) as string[]
      addSearchIndex(core, collection!, name!, buildFullText(core, core.store, collection!, fields))
    }
  }

  async createIndex (collection: string, fields: string[], options: IndexOptions = {}): Promise<void> {
    checkName(collection, 'a collection name')
    if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== 'string' || f === '' || f.split('.').some((p) => p === ''))) {
      throw new InvalidArgumentError(`an index needs one or more field paths, such as "status" or ["status", "owner.name"], got ${JSON.stringify(fields)}`)
    }
    if (fields.length > MAX_INDEX_FIELDS) throw new InvalidArgumentError(`an index may have at most ${MAX_INDEX_FIELDS} fields (so that its keys fit the store's key limit), got ${fields.length}; index fewer fields and let the filter do the rest`)
    const name = options.name ?? fields.join('+')
    checkName(name, 'an index name')
    const core = this.#core
    await this.#committer.run((txn, stage) => {
      // judged inside the job: every job before it has committed and published
      const existing = core.indexes.get(collection)?.find((d) => d.name === name)
      if (existing !== undefined) {
        if (existing.fields.join('\u0000') === fields.join('\u0000')) return
        throw new InvalidArgumentError(`${collection} already has an index named ${name} on other fields; drop it first or choose another name`)
      }
      const seq = txn.get(metaKey('indexseq'))
      const id = (seq === undefined ? 0 : readU64(seq)) + 1
      const def: IndexDef = { id, collection, name, fields: [...fields] }
      txn.put(metaKey('indexseq'), u64Bytes(id))
      txn.put(indexDefKey(collection, name), encodeDef(def))
      const total = core.count(collection)
      const utf8 = new TextEncoder()
      let done = 0
      for (const { key, value } of txn.range(collectionRange(collection))) {
        const doc = core.docOf(value)
        if (doc !== undefined) {
          const docId = docKeyParts(key).id
          txn.put(indexKey(def, docId, doc), utf8.encode(docId))
        }
        if (++done % 1000 === 0) options.onProgress?.(done, total)
      }
      options.onProgress?.(total, total)
      stage.onPublish(() => { addIndex(core, def) })
    })
  }

  async dropIndex (collection: string, name: string): Promise<void> {
    const core = this.#core
    await this.#committer.run((txn, stage) => {
      const def = core.indexes.get(collection)?.find((d) => d.name === name)
      if (def === undefined) return
      for (const { key } of txn.range(indexRange(def.id))) txn.delete(key)
      txn.delete(indexDefKey(collection, name))
      stage.onPublish(() => { core.indexes.set(collection, (core.indexes.get(collection) ?? []).filter((d) => d.name !== name)) })
    })
  }

  async createSearchIndex (collection: string, fields: string[], options: { name?: string } = {}): Promise<void> {
    checkName(collection, 'a collection name')
    const name = options.name ?? fields.join('+')
    checkName(name, 'a search index name')
    new FullTextIndex({ fields }) // validates the fields before queueing
    const core = this.#core
    await this.#committer.run((txn, stage) => {
      const existing = core.fulltext.get(collection)?.get(name)
      if (existing !== undefined) {
        if (existing.fields.join('\u0000') === fields.join('\u0000')) return
        throw new InvalidArgumentError(`${collection} already has a search index named ${name} on other fields; choose another name`)
      }
      txn.put(searchDefKey(collection, name), encode(fields))
      const index = buildFullText(core, txn, collection, fields)
      stage.onPublish(() => { addSearchIndex(core, collection, name, index) })
    })
  }

  searchIndex (collection: string, name?: string): FullTextIndex | undefined {
    const all = this.#core.fulltext.get(collection)
    if (all === undefined) return undefined
    return name === undefined ? all.values().next().value : all.get(name)
  }

  list (): Array<{ collection: string, name: string, fields: string[] }> {
    return [...this.#core.indexes.values()].flat().map((d) => ({ collection: d.collection, name: d.name, fields: [...d.fields] }))
  }

  indexedOn (collection: string, field: string): boolean {
    return (this.#core.indexes.get(collection) ?? []).some((d) => d.fields[0] === field)
  }
}

function addIndex (core: Core, def: IndexDef): void {
  const list = core.indexes.get(def.collection) ?? []
  core.indexes.set(def.collection, [...list.filter((d) => d.name !== def.name), def])
}

function addSearchIndex (core: Core, collection: string, name: string, index: FullTextIndex): void {
  let all = core.fulltext.get(collection)
  if (all === undefined) core.fulltext.set(collection, all = new Map())
  all.set(name, index)
}

function buildFullText (core: Core, reader: StoreReader, collection: string, fields: string[]): FullTextIndex {
  const index = new FullTextIndex({ fields })
  for (const { key, value } of reader.range(collectionRange(collection))) {
    const doc = core.docOf(value)
    if (doc !== undefined) index.add(docKeyParts(key).id, doc)
  }
  return index
}
