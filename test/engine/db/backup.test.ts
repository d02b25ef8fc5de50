import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync, existsSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { open, restoreBackup, type Database } from '../../../engine/index.ts'
import { tempDir } from '../helpers.ts'

const MARKER = 'zebra-quartz-marker'

describe('backups', () => {
  let dir: { path: string, cleanup: () => void }
  const opened: Database[] = []
  beforeEach(() => { dir = tempDir() })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(async (d) => { await d.close() }))
    dir.cleanup()
  })

  async function source (passphrase?: string): Promise<Database> {
    const db = await open({ path: join(dir.path, 'src'), ...(passphrase === undefined ? {} : { passphrase }) })
    opened.push(db)
    await db.collection('notes').createIndex('tag')
    for (let i = 0; i < 300; i++) await db.collection('notes').insert({ id: `n${i}`, text: `${MARKER} ${i}`, tag: i % 3 })
    await db.collection('notes').delete('n7')
    return db
  }

  async function same (restored: string, from: Database, passphrase?: string): Promise<void> {
    const db = await open({ path: restored, ...(passphrase === undefined ? {} : { passphrase }) })
    opened.push(db)
    assert.equal(db.id, from.id)
    assert.equal(db.peerId, from.peerId)
    assert.deepEqual(db.versionVector(), from.versionVector())
    assert.equal(db.stateHash(), from.stateHash())
    assert.deepEqual(db.indexes(), from.indexes())
    assert.equal(db.collection('notes').explain({ tag: 1 }).strategy, 'index')
    assert.equal(db.collection('notes').find({ tag: 1 }).length, 99) // n7 was deleted
    await db.collection('notes').insert({ id: 'after', text: 'writes go on' })
  }

  it('an unencrypted directory: restored elsewhere, it is the same replica', async () => {
    const db = await source()
    const file = join(dir.path, 'backup.bzb')
    const progress: number[] = []
    const written = await db.backup(file, { onProgress: (done) => progress.push(done) })
    assert.ok(written.entries > 300)
    assert.equal(progress[progress.length - 1], written.entries)
    const restored = await restoreBackup({ file, dir: join(dir.path, 'restored') })
    assert.equal(restored.dbId, db.id)
    await same(join(dir.path, 'restored'), db)
  })

  it('an encrypted directory gives an encrypted backup: no value readable, wrong or missing passphrase refused and nothing left behind', async () => {
    const db = await source('correct horse')
    const file = join(dir.path, 'backup.bzb')
    await db.backup(file)
    assert.equal(readFileSync(file).includes(MARKER), false)
    const target = join(dir.path, 'restored')
    await assert.rejects(restoreBackup({ file, dir: target, passphrase: 'wrong horse' }), { name: 'WrongPassphraseError' })
    await assert.rejects(restoreBackup({ file, dir: target }), { name: 'PassphraseRequiredError' })
    assert.equal(existsSync(target) && readdirSync(target).length > 0, false)
    await restoreBackup({ file, dir: target, passphrase: 'correct horse' })
    await same(target, db, 'correct horse')
  })

  it('a damaged or truncated backup is a CorruptionError, and the target stays empty', async () => {
    for (const passphrase of [undefined, 'pw']) {
      const db = await source(passphrase)
      const file = join(dir.path, 'backup.bzb')
      await db.backup(file)
      await db.close()
      opened.splice(opened.indexOf(db), 1)
      const good = readFileSync(file)
      const flipped = Buffer.from(good)
      flipped[Math.floor(flipped.length * 0.6)]! ^= 0x40
      writeFileSync(join(dir.path, 'flipped.bzb'), flipped)
      writeFileSync(join(dir.path, 'cut.bzb'), good)
      truncateSync(join(dir.path, 'cut.bzb'), Math.floor(statSync(file).size * 0.8))
      for (const bad of ['flipped.bzb', 'cut.bzb']) {
        const target = join(dir.path, `from-${bad}`)
        await assert.rejects(restoreBackup({ file: join(dir.path, bad), dir: target, ...(passphrase === undefined ? {} : { passphrase }) }), { name: 'CorruptionError' }, bad)
        assert.deepEqual(readdirSync(target), [], bad)
      }
      dir.cleanup()
      dir = tempDir()
    }
  })

  it('refuses to restore over a database, and an in-memory database has nothing to back up', async () => {
    const db = await source()
    const file = join(dir.path, 'backup.bzb')
    await db.backup(file)
    await assert.rejects(restoreBackup({ file, dir: join(dir.path, 'src') }), { name: 'InvalidArgumentError' })
    const memory = await open()
    opened.push(memory)
    await assert.rejects(memory.backup(file), { name: 'InvalidArgumentError' })
  })
})
