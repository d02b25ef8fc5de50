import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LmdbStore } from '../../../engine/store/lmdb.ts'
import { verifyLmdbFiles, verifyStore } from '../../../engine/store/lmdb-verify.ts'
import { damageCases, pool, runNode, type Damage, type RunResult } from './damage.ts'

const KEY = 'blazedb-test-key-0123456789abcde'
const OTHER_KEY = 'blazedb-test-key-0123456789abcdX'
const READER = fileURLToPath(new URL('./fixtures/read-store.ts', import.meta.url))
const s = (text: string): Buffer => Buffer.from(text)

describe('LmdbStore on disk', function () {
  let dir: string
  beforeEach(function () { dir = mkdtempSync(join(tmpdir(), 'blazedb-lmdb-')) })
  afterEach(function () { rmSync(dir, { recursive: true, force: true }) })

  for (const encryptionKey of [undefined, KEY]) {
    const label = encryptionKey === undefined ? 'plain' : 'encrypted'
    it(`keeps its data across close and reopen (${label})`, async function () {
      const options = { path: join(dir, 'db'), ...(encryptionKey === undefined ? {} : { encryptionKey }) }
      let store = LmdbStore.open(options)
      await store.transact((t) => { for (let i = 0; i < 500; i++) t.put(s(`k${i}`), s(`v${i}`)) })
      await store.transact((t) => { t.delete(s('k7')) })
      const pending = store.transact((t) => { t.put(s('last'), s('in flight at close')) })
      await store.close()
      await pending
      store = LmdbStore.open(options)
      assert.equal(store.get(s('k1'))?.toString(), 'v1')
      assert.equal(store.get(s('k7')), undefined)
      assert.equal(store.get(s('last'))?.toString(), 'in flight at close')
      assert.equal([...store.range({})].length, 500)
      assert.equal(store.entryCount(), 500)
      assert.deepEqual(await verifyStore(store), { entries: 500 })
      await store.close()
      assert.deepEqual(await verifyLmdbFiles(options), { entries: 500 })
    })
  }

  describe('reads after pages are freed and reused (encrypted LMDB cached decrypted pages across reuse)', function () {
    const storeAt = (encryptionKey: string | undefined): { options: { path: string, encryptionKey?: string }, store: LmdbStore } => {
      const options = { path: join(dir, 'db'), ...(encryptionKey === undefined ? {} : { encryptionKey }) }
      return { options, store: LmdbStore.open(options) }
    }
    const value = (store: { get: (k: Uint8Array) => Uint8Array | undefined }, key: Uint8Array): string | undefined => {
      const v = store.get(key)
      return v === undefined ? undefined : Buffer.from(v).toString('hex')
    }

    for (const encryptionKey of [undefined, KEY]) {
      const label = encryptionKey === undefined ? 'plain' : 'encrypted'

      it(`sees a committed write after a snapshot was released and another taken, and keeps it across reopen (${label})`, async function () {
        // the model test's counterexample (seed -70217318), written out
        const k = Uint8Array.of(0)
        let { options, store } = storeAt(encryptionKey)
        await store.transact((t) => { t.put(k, Uint8Array.of(1)) })
        const first = store.snapshot()
        assert.equal([...store.range({})].length, 1)
        const batch = await Promise.allSettled([store.transact((t) => { t.put(k, Uint8Array.of(2)) }), store.transact(() => { throw new Error('planned') })])
        assert.deepEqual(batch.map((r) => r.status), ['fulfilled', 'rejected'])
        await store.transact((t) => { t.put(k, Uint8Array.of(3)) })
        assert.equal(value(store, k), '03')
        assert.equal(value(first, k), '01')
        first.release()
        const second = store.snapshot()
        await store.transact((t) => { t.put(k, Uint8Array.of(4)) })
        assert.equal(value(store, k), '04', 'a read after transact resolved sees its write')
        assert.deepEqual(rowsOf(store.range({})), [['00', '04']])
        assert.equal(value(second, k), '03', 'the snapshot still sees the store as of when it was taken')
        // the next commit rewrites the page the stale copy was of: it must start from the new value
        await store.transact((t) => { t.put(Uint8Array.of(5), Uint8Array.of(5)) })
        assert.deepEqual(rowsOf(store.range({})), [['00', '04'], ['05', '05']])
        second.release()
        await store.close()
        store = LmdbStore.open(options)
        assert.deepEqual(rowsOf(store.range({})), [['00', '04'], ['05', '05']], 'the write survives reopening')
        await store.close()
      })

      it(`keeps read-modify-write counters exact with snapshots and range iterators held across commits (${label})`, async function () {
        const { options, store } = storeAt(encryptionKey)
        const rand = xorshift(7)
        const counters = 64
        const key = (i: number): Uint8Array => Uint8Array.of(1, i)
        const count = (v: Uint8Array | undefined): number => v === undefined ? 0 : v[0]! + (v[1]! << 8)
        const want = new Array<number>(counters).fill(0)
        const held: Array<{ until: number, release: () => void, check: () => void }> = []
        const problems: string[] = []
        for (let round = 0; round < 120; round++) {
          // a snapshot or an open range iterator, kept for 0 to 3 rounds
          if (rand() % 3 === 0) {
            const snap = store.snapshot()
            const seen = want.slice()
            held.push({
              until: round + (rand() % 4),
              release: () => { snap.release() },
              check: () => {
                const i = rand() % counters
                if (count(snap.get(key(i))) !== seen[i]) problems.push(`round ${round}: snapshot read ${count(snap.get(key(i)))} for ${i}, taken at ${seen[i]!}`)
              }
            })
          } else if (rand() % 3 === 0) {
            const iter = store.range({})
            iter.next()
            held.push({ until: round + (rand() % 4), release: () => { iter.return?.() }, check: () => { iter.next() } })
          }
          // a few concurrent transactions: counter bumps, and churn that frees and reuses pages
          const batch = []
          for (let n = 1 + (rand() % 3); n > 0; n--) {
            const bumps = Array.from({ length: 4 }, () => rand() % counters)
            const churn = Array.from({ length: 6 }, () => rand())
            batch.push(store.transact((t) => {
              for (const i of bumps) {
                const now = count(t.get(key(i)))
                if (now !== want[i]) problems.push(`round ${round}: transaction read ${now} for ${i}, committed ${want[i]!}`)
                want[i] = now + 1
                t.put(key(i), Uint8Array.of((now + 1) & 0xff, (now + 1) >> 8))
              }
              for (const c of churn) {
                if (c % 2 === 0) t.delete(Uint8Array.of(2, c % 200))
                else t.put(Uint8Array.of(2, c % 200), new Uint8Array(150).fill(c & 0xff))
              }
            }))
          }
          await Promise.all(batch)
          for (let i = 0; i < counters; i++) {
            if (count(store.get(key(i))) !== want[i]) problems.push(`round ${round}: store read ${count(store.get(key(i)))} for ${i}, committed ${want[i]!}`)
          }
          for (const h of [...held]) {
            h.check()
            if (h.until <= round) {
              h.release()
              held.splice(held.indexOf(h), 1)
            }
          }
          if (problems.length > 0) break
        }
        for (const h of held) h.release()
        await store.close()
        assert.deepEqual(problems.slice(0, 5), [])
        const again = LmdbStore.open(options)
        assert.deepEqual(Array.from({ length: counters }, (_, i) => count(again.get(key(i)))), want)
        await again.close()
      })
    }

    for (const encryptionKey of [undefined, KEY]) {
      it(`applies transactions in the order started when some wait for those in flight (${encryptionKey === undefined ? 'plain' : 'encrypted'})`, async function () {
        const { store } = storeAt(encryptionKey)
        const order = Uint8Array.of(9)
        const append = (letter: string) => (t: { get: (k: Uint8Array) => Uint8Array | undefined, put: (k: Uint8Array, v: Uint8Array) => void }): void => {
          t.put(order, Buffer.concat([t.get(order) ?? new Uint8Array(0), Buffer.from(letter)]))
        }
        const started: Array<Promise<void>> = []
        // A runs for longer than the encrypted store lets writes go on without a pause, and
        // starts B and C from inside itself, so they wait for A; D starts once A has resolved
        const a = store.transact((t) => {
          const until = performance.now() + 30
          while (performance.now() < until) { /* a slow transaction function */ }
          append('A')(t)
          started.push(store.transact(append('B')), store.transact(append('C')))
        })
        await a.then(async () => { started.push(store.transact(append('D'))) })
        await Promise.all(started)
        assert.equal(Buffer.from(store.get(order)!).toString(), 'ABCD')
        await store.close()
      })
    }

    it('bounds file growth under transactions that never pause (encrypted)', async function () {
      const sizes: number[] = []
      for (const encryptionKey of [undefined, KEY]) {
        const { options, store } = storeAt(encryptionKey)
        let next = 0
        // always four transactions in flight, so that the writer is never idle
        await Promise.all(Array.from({ length: 4 }, async () => {
          while (next < 2000) {
            const i = next++
            await store.transact((t) => { for (let j = 0; j < 5; j++) t.put(Uint8Array.of((i * 7 + j) % 251, j), new Uint8Array(200).fill(i & 0xff)) })
          }
        }))
        await store.close()
        sizes.push(statSync(join(options.path, 'data.mdb')).size)
        rmSync(options.path, { recursive: true, force: true })
      }
      const [plain, encrypted] = sizes as [number, number]
      // holding every freed page back until the writes stop made it about 50 times the plain size
      assert.ok(encrypted < plain * 8, `encrypted ${encrypted} bytes, plain ${plain}`)
    })
  })

  it('with an encryption key, no key or value bytes appear in any file', async function () {
    const marker = 'MARKER-7c1e-secret-document-id'
    for (const [name, encryptionKey] of [['plain', undefined], ['encrypted', KEY]] as const) {
      const path = join(dir, name)
      const store = LmdbStore.open({ path, ...(encryptionKey === undefined ? {} : { encryptionKey }) })
      await store.transact((t) => {
        t.put(s(marker), s(marker))
        for (let i = 0; i < 50; i++) t.put(s(`${marker}/${i}`), s(`${marker} value ${i} `.repeat(30)))
      })
      await store.close()
      const found = readdirSync(path).filter((f) => readFileSync(join(path, f)).includes(marker))
      if (encryptionKey === undefined) assert.deepEqual(found, ['data.mdb'], 'the search finds the marker in a plain store')
      else assert.deepEqual(found, [], 'no file of the encrypted store holds the marker')
    }
  })

  it('checks the key before LMDB sees it, and a wrong key does not spoil the right one', async function () {
    const path = join(dir, 'db')
    const store = LmdbStore.open({ path, encryptionKey: KEY })
    await store.transact((t) => { t.put(s('a'), s('1')) })
    await store.close()
    assert.throws(() => LmdbStore.open({ path, encryptionKey: OTHER_KEY }), { name: 'WrongPassphraseError' })
    assert.throws(() => LmdbStore.open({ path }), { name: 'PassphraseRequiredError' })
    const again = LmdbStore.open({ path, encryptionKey: KEY })
    assert.equal(again.get(s('a'))?.toString(), '1')
    await again.close()

    const plainPath = join(dir, 'plain')
    await LmdbStore.open({ path: plainPath }).close()
    assert.throws(() => LmdbStore.open({ path: plainPath, encryptionKey: KEY }), { name: 'InvalidArgumentError' })
  })

  it('refuses keys lmdb-js cannot take safely (a Buffer aborts the process)', function () {
    const path = join(dir, 'db')
    for (const bad of [Buffer.alloc(32, 97), 'short', `${KEY}x`, 'ü'.repeat(32), '\n'.repeat(32), 42]) {
      assert.throws(() => LmdbStore.open({ path, encryptionKey: bad as string }), { name: 'InvalidArgumentError' })
    }
  })

  it('refuses a second open of the same path in this process, and allows it after close', async function () {
    const path = join(dir, 'db')
    const store = LmdbStore.open({ path })
    assert.throws(() => LmdbStore.open({ path: join(dir, '.', 'db') }), { name: 'DatabaseLockedError' })
    await store.close()
    await LmdbStore.open({ path }).close()
  })

  it('reads a value damaged on disk as CorruptionError, in get and in range', async function () {
    const path = join(dir, 'db')
    const store = LmdbStore.open({ path })
    const value = s('VALUE-TO-DAMAGE-'.repeat(4))
    await store.transact((t) => { t.put(s('k'), value) })
    await store.close()
    const file = readFileSync(join(path, 'data.mdb'))
    const at = file.indexOf(value)
    file[at + 5] ^= 0x01
    writeFileSync(join(path, 'data.mdb'), file)
    const damaged = LmdbStore.open({ path })
    assert.throws(() => damaged.get(s('k')), { name: 'CorruptionError' })
    assert.throws(() => [...damaged.range({})], { name: 'CorruptionError' })
    await assert.rejects(verifyStore(damaged), { name: 'CorruptionError' })
    await damaged.close()
  })

  describe('damaged files, read in a child process', function () {
    // Built once: the same writes in a plain and an encrypted store, so that both have the
    // layout the damage cases are chosen from.
    let root: string
    let expectedFile: string
    before(async function () {
      root = mkdtempSync(join(tmpdir(), 'blazedb-damage-'))
      const expected = new Map<string, string>()
      for (const [name, encryptionKey] of [['plain', undefined], ['encrypted', KEY]] as const) {
        const store = LmdbStore.open({ path: join(root, name), ...(encryptionKey === undefined ? {} : { encryptionKey }) })
        for (let round = 0; round < 4; round++) {
          await store.transact((t) => {
            for (let i = 0; i < 150; i++) {
              const key = s(`doc/${String((i * 37 + round * 11) % 400).padStart(4, '0')}`)
              const value = s(`value ${round} ${i} `.repeat(10))
              t.put(key, value)
              expected.set(key.toString('hex'), value.toString('hex'))
            }
            if (round === 2) {
              for (let i = 0; i < 40; i++) {
                const key = s(`doc/${String(i * 7).padStart(4, '0')}`)
                t.delete(key)
                expected.delete(key.toString('hex'))
              }
            }
            if (round === 3) {
              for (let i = 0; i < 4; i++) {
                t.put(s(`big/${i}`), Buffer.alloc(9000 + i, 65 + i))
                expected.set(s(`big/${i}`).toString('hex'), Buffer.alloc(9000 + i, 65 + i).toString('hex'))
              }
            }
          })
        }
        await store.close()
      }
      expectedFile = join(root, 'expected')
      writeFileSync(expectedFile, [...expected].map(([k, v]) => `${k} ${v}`).join('\n'))
    })
    after(function () { rmSync(root, { recursive: true, force: true }) })

    for (const variant of ['plain', 'encrypted'] as const) {
      it(`damage reads back intact or as CorruptionError, except page-structure damage, which verifyLmdbFiles catches (${variant})`, async function () {
        const encryptionKey = variant === 'encrypted' ? KEY : undefined
        const clean = await runNode(READER, [join(root, variant), expectedFile, ...(encryptionKey === undefined ? [] : [encryptionKey])])
        assert.equal(clean.code, 0, clean.stderr)
        assert.equal(JSON.parse(clean.stdout).intact, true, clean.stdout)

        const data = readFileSync(join(root, variant, 'data.mdb'))
        const cases = damageCases(readFileSync(join(root, 'plain', 'data.mdb')), encryptionKey !== undefined)
        const outcomes = await pool(cases, 2, async (damage) => await runCase(variant, damage, data, encryptionKey))
        const problems: string[] = []
        const table = new Map<string, Map<string, number>>()
        outcomes.forEach((o, i) => {
          const damage = cases[i]!
          const row = table.get(damage.kind) ?? new Map<string, number>()
          row.set(o.read, (row.get(o.read) ?? 0) + 1)
          table.set(damage.kind, row)
          const where = `${damage.kind} at ${damage.position} (xor 0x${damage.xor.toString(16)})`
          if (o.read === 'wrong values' || o.read === 'extra entries' || o.read.startsWith('untyped')) problems.push(`${where}: read gave ${o.read} ${o.detail}`)
          if (!damage.structural && o.read !== 'intact' && o.read !== 'CorruptionError') problems.push(`${where}: read gave ${o.read} ${o.detail}`)
          if (o.verify !== 'not needed' && o.verify !== 'CorruptionError') problems.push(`${where}: the read gave ${o.read}, and verifyLmdbFiles ${o.verify === 'ok' ? 'passed' : `gave ${o.verify}`}`)
        })
        // Not hidden: what LMDB does with page-structure damage when read without verifying
        const unsafe = [...table].filter(([, row]) => [...row.keys()].some((r) => r.startsWith('crash') || r.startsWith('entries')))
        process.stdout.write(`      ${variant}, ${cases.length} damaged copies; a plain read crashed or lost entries silently after: ${unsafe.map(([kind, row]) => `${kind} (${[...row].map(([r, n]) => `${r}: ${n}`).join(', ')})`).join('; ') || 'none'}\n`)
        if (process.env.BLAZEDB_DAMAGE_REPORT !== undefined) {
          for (const [kind, row] of table) process.stdout.write(`        ${kind.padEnd(24)} ${[...row].map(([r, n]) => `${r}: ${n}`).join(', ')}\n`)
        }
        assert.deepEqual(problems, [])
      })
    }

    async function runCase (variant: string, damage: Damage, data: Buffer, encryptionKey: string | undefined): Promise<{ read: string, verify: string, detail: string }> {
      const path = mkdtempSync(join(root, `${variant}-case-`))
      try {
        const damaged = Buffer.from(data)
        damaged[damage.position] ^= damage.xor
        mkdirSync(path, { recursive: true })
        writeFileSync(join(path, 'data.mdb'), damaged)
        if (encryptionKey !== undefined) copyFileSync(join(root, variant, 'key.check'), join(path, 'key.check'))
        const read = classify(await runNode(READER, [path, expectedFile, ...(encryptionKey === undefined ? [] : [encryptionKey])]))
        // verifyLmdbFiles exists for the damage a plain read survives silently or dies of
        if (read.read === 'intact' || read.read === 'CorruptionError') return { ...read, verify: 'not needed' }
        const verify = await verifyLmdbFiles({ path, ...(encryptionKey === undefined ? {} : { encryptionKey }) })
          .then(() => 'ok', (e: Error) => e.name === 'CorruptionError' ? 'CorruptionError' : `${e.name}: ${e.message}`)
        return { ...read, verify }
      } finally {
        rmSync(path, { recursive: true, force: true })
      }
    }
  })
})

function classify (run: RunResult): { read: string, detail: string } {
  if (run.signal !== null) return { read: `crash (${run.signal})`, detail: '' }
  if (run.code === 3 && /^CorruptionError:/m.test(run.stderr)) return { read: 'CorruptionError', detail: '' }
  if (run.code !== 0) return { read: `untyped error (exit ${String(run.code)})`, detail: run.stderr.split('\n').slice(0, 3).join(' | ') }
  const got = JSON.parse(run.stdout) as { intact: boolean, wrongValues: number, missing: number, extra: number }
  if (got.intact) return { read: 'intact', detail: '' }
  if (got.wrongValues > 0) return { read: 'wrong values', detail: run.stdout.trim() }
  if (got.extra > 0) return { read: 'extra entries', detail: run.stdout.trim() }
  return { read: 'entries silently missing', detail: run.stdout.trim() }
}

function rowsOf (entries: Iterable<{ key: Uint8Array, value: Uint8Array }>): Array<[string, string]> {
  return [...entries].map((e) => [Buffer.from(e.key).toString('hex'), Buffer.from(e.value).toString('hex')])
}

/** deterministic small random numbers (xorshift32) */
function xorshift (seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}
