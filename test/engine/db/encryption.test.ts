import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync, writeFileSync, openSync, writeSync, readSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open } from '../../../engine/index.ts'
import { tempDir, seededRandom } from '../helpers.ts'
import { runScript } from '../process.ts'

const readAll = fileURLToPath(new URL('../fixtures/read-all.ts', import.meta.url))

function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

describe('encryption at rest', function () {
  this.timeout(120_000)

  it('no field name or value, document id or collection name is readable in any file', async () => {
    const dir = tempDir()
    try {
      const db = await open({ path: dir.path, passphrase: 'correct horse battery staple' })
      const c = db.collection('SecretCollectionMarker')
      for (let i = 0; i < 200; i++) {
        await c.insert({ id: `SecretIdMarker${i}`, SecretFieldMarker: `SecretValueMarker ${i} ${'pad'.repeat(i % 40)}`, nested: { SecretNestedMarker: i } })
      }
      await db.close()
      const markers = ['SecretCollectionMarker', 'SecretIdMarker', 'SecretFieldMarker', 'SecretValueMarker', 'SecretNestedMarker']
      for (const file of filesUnder(dir.path)) {
        const bytes = readFileSync(file)
        for (const m of markers) {
          assert.equal(bytes.includes(Buffer.from(m)), false, `${m} readable in ${file}`)
          assert.equal(bytes.includes(Buffer.from(m, 'utf16le')), false, `${m} readable (utf16) in ${file}`)
        }
      }
      // and the data is all there with the right passphrase
      const again = await open({ path: dir.path, passphrase: 'correct horse battery staple' })
      assert.equal(again.collection('SecretCollectionMarker').count(), 200)
      assert.deepEqual(again.collection('SecretCollectionMarker').get('SecretIdMarker7')!.nested, { SecretNestedMarker: 7 })
      await again.close()
    } finally {
      dir.cleanup()
    }
  })

  it('a wrong or missing passphrase fails at open with a typed error, and the right one still works', async () => {
    const dir = tempDir()
    try {
      const db = await open({ path: dir.path, passphrase: 'right' })
      await db.collection('docs').insert({ id: 'a', v: 1 })
      await db.close()
      await assert.rejects(open({ path: dir.path, passphrase: 'wrong' }), { name: 'WrongPassphraseError', code: 'ERR_WRONG_PASSPHRASE' })
      await assert.rejects(open({ path: dir.path }), { name: 'PassphraseRequiredError' })
      const ok = await open({ path: dir.path, passphrase: 'right' })
      assert.deepEqual(ok.collection('docs').get('a'), { id: 'a', v: 1 })
      await ok.close()
    } finally {
      dir.cleanup()
    }
  })

  it('an unencrypted directory refuses a passphrase', async () => {
    const dir = tempDir()
    try {
      await (await open({ path: dir.path })).close()
      await assert.rejects(open({ path: dir.path, passphrase: 'x' }), { name: 'InvalidArgumentError' })
    } finally {
      dir.cleanup()
    }
  })

  for (const passphrase of [undefined, 'pw']) {
    it(`flipped bytes in the data files are detected, never read as wrong data, never crash the process (${passphrase === undefined ? 'plain' : 'encrypted'})`, async () => {
      const dir = tempDir()
      try {
        const db = await open(passphrase === undefined ? { path: dir.path } : { path: dir.path, passphrase })
        for (let i = 0; i < 300; i++) await db.collection('docs').insert({ id: `doc${i}`, v: i, text: 'lorem ipsum '.repeat(i % 20) })
        await db.close()
        const clean = await runScript(readAll, passphrase === undefined ? [dir.path] : [dir.path, passphrase])
        assert.equal(clean.code, 0, clean.stderr)
        const expected = JSON.parse(clean.stdout) as { count: number, hash: string }
        assert.equal(expected.count, 300)

        const dataFile = join(dir.path, 'db', 'data.mdb')
        const size = statSync(dataFile).size
        const rand = seededRandom(passphrase === undefined ? 11 : 12)
        const outcomes = { detected: 0, intact: 0 }
        for (let trial = 0; trial < 12; trial++) {
          // damage one 16-byte span in the used part of the file, run, then restore it
          const u = rand(4)
          const pos = ((u[0]! << 16) | (u[1]! << 8) | u[2]!) % Math.max(1, size - 16)
          const fd = openSync(dataFile, 'r+')
          const original = Buffer.alloc(16)
          readSync(fd, original, 0, 16, pos)
          const damaged = Buffer.from(original.map((b, i) => i % 4 === 0 ? b ^ 0xa5 : b))
          writeSync(fd, damaged, 0, 16, pos)
          closeSync(fd)
          const run = await runScript(readAll, passphrase === undefined ? [dir.path] : [dir.path, passphrase])
          const fd2 = openSync(dataFile, 'r+')
          writeSync(fd2, original, 0, 16, pos)
          closeSync(fd2)
          assert.equal(run.signal, null, `reader crashed with ${run.signal} after damage at ${pos}: ${run.stderr}`)
          if (run.code === 0) {
            const got = JSON.parse(run.stdout) as { count: number, hash: string }
            assert.equal(got.hash, expected.hash, `damage at ${pos} read back as different data`)
            outcomes.intact++
          } else {
            assert.equal(run.code, 3, `reader failed without a typed error after damage at ${pos}: ${run.stderr}`)
            const err = JSON.parse(run.stdout) as { error: string }
            assert.equal(err.error, 'CorruptionError', `damage at ${pos} gave ${run.stdout}`)
            outcomes.detected++
          }
        }
        assert.equal(outcomes.detected + outcomes.intact, 12)
      } finally {
        dir.cleanup()
      }
    })
  }

  it('a damaged identity or key file gives CorruptionError', async () => {
    const dir = tempDir()
    try {
      await (await open({ path: dir.path, passphrase: 'pw' })).close()
      const idFile = join(dir.path, 'identity.key')
      const bytes = readFileSync(idFile)
      bytes[bytes.length - 3]! ^= 0xff
      writeFileSync(idFile, bytes)
      await assert.rejects(open({ path: dir.path, passphrase: 'pw' }), { name: 'CorruptionError' })
      writeFileSync(join(dir.path, 'keys.json'), '{ not json')
      await assert.rejects(open({ path: dir.path, passphrase: 'pw' }), { name: 'CorruptionError' })
    } finally {
      dir.cleanup()
    }
  })

  it('keeps the device key with mode 0600', async () => {
    const dir = tempDir()
    try {
      await (await open({ path: dir.path })).close()
      assert.equal(statSync(join(dir.path, 'identity.key')).mode & 0o777, 0o600)
    } finally {
      dir.cleanup()
    }
  })
})
