import assert from 'node:assert/strict'
import { open, type Database } from '../../../engine/index.ts'
import { tempDir } from '../helpers.ts'

describe('database: full-text search', () => {
  let db: Database
  beforeEach(async () => {
    db = await open()
    const bugs = db.collection('bugs')
    await bugs.insert({ id: 'a', title: 'Crash when syncing', description: 'the app crashes after reconnect', status: 'open' })
    await bugs.insert({ id: 'b', title: 'Slow query', description: 'query returns stale results after sync', status: 'open' })
    await bugs.insert({ id: 'c', title: 'Sync crash on Café network', description: 'crash crash', status: 'closed' })
    await bugs.insert({ id: 'd', title: 'Unrelated', description: 'nothing to see', status: 'open' })
  })
  afterEach(async () => { await db.close() })

  it('ranks with BM25, needs every word, treats the last as a prefix, and combines with filters', async () => {
    const bugs = db.collection('bugs')
    await bugs.createSearchIndex(['title', 'description'])
    const hits = bugs.search('crash sync')
    assert.deepEqual(hits.map((h) => h.doc.id).sort(), ['a', 'c']) // b lacks "crash", d both words
    assert.ok(hits[0]!.score >= hits[1]!.score)
    // a rarer word weighs more: "stale" (one document) outranks "after" (two) for b
    assert.deepEqual(bugs.search('after stale', { prefix: false }).map((h) => h.doc.id), ['b'])
    assert.deepEqual(bugs.search('cafe').map((h) => h.doc.id), ['c'])
    assert.deepEqual(bugs.search('recon').map((h) => h.doc.id), ['a'])
    assert.deepEqual(bugs.search('crash sync', { filter: { status: 'open' } }).map((h) => h.doc.id), ['a'])
    assert.deepEqual(bugs.search('crash sync', { fields: ['title', 'description'] }), hits)
    assert.throws(() => db.collection('users').search('x'), { name: 'QueryError' })
  })

  it('follows inserts, updates, deletes and replicated changes', async () => {
    const bugs = db.collection('bugs')
    await bugs.createSearchIndex(['title', 'description'])
    await bugs.update('d', { title: 'Crash in the sync engine' })
    assert.deepEqual(bugs.search('crash sync').map((h) => h.doc.id).sort(), ['a', 'c', 'd'])
    await bugs.delete('c')
    assert.deepEqual(bugs.search('crash sync').map((h) => h.doc.id).sort(), ['a', 'd'])
    assert.deepEqual(bugs.search('unrelated'), [])
    const other = await open({ dbId: db.id })
    try {
      await db.members.grant(other.peerId, 'writer')
      await other.applyChanges(db.changesSince({}))
      await other.collection('bugs').insert({ id: 'e', title: 'Remote crash report about sync' })
      await db.applyChanges(other.changesSince(db.versionVector()))
      assert.ok(bugs.search('remote crash').some((h) => h.doc.id === 'e'))
    } finally {
      await other.close()
    }
  })

  it('is rebuilt at open from its declaration', async () => {
    const dir = tempDir()
    try {
      const d = await open({ path: dir.path })
      await d.collection('notes').insert({ id: 'n1', text: 'peer to peer databases' })
      await d.collection('notes').createSearchIndex('text')
      await d.close()
      const again = await open({ path: dir.path })
      await again.collection('notes').insert({ id: 'n2', text: 'local first databases' })
      assert.deepEqual(again.collection('notes').search('databases').map((h) => h.doc.id).sort(), ['n1', 'n2'])
      await again.close()
    } finally {
      dir.cleanup()
    }
  })
})
