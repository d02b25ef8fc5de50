import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { open } from '../../../engine/index.ts'
import { tempDir, seededRandom } from '../helpers.ts'
import { spawnScript, exited } from '../process.ts'

const writer = fileURLToPath(new URL('../fixtures/writer.ts', import.meta.url))

describe('durability: kill -9 at random points', function () {
  this.timeout(120_000)
  const rand = seededRandom(424242)

  it('every write whose promise resolved survives, transactions are all-or-nothing', async () => {
    const dir = tempDir()
    try {
      const acked = { docs: new Set<number>(), tx: new Set<number>() }
      let next = 0
      for (let round = 0; round < 5; round++) {
        const target = 20 + (rand(1)[0]! % 200)
        const { child, lines } = spawnScript(writer, [dir.path, String(next)])
        let seen = 0
        for await (const line of { [Symbol.asyncIterator]: () => lines }) {
          const [kind, n] = line.split(' ')
          if (kind === 'doc') acked.docs.add(Number(n))
          if (kind === 'tx') acked.tx.add(Number(n))
          if (kind !== 'ready' && ++seen >= target) break
        }
        child.kill('SIGKILL')
        await exited(child)
        next += 100_000

        const db = await open({ path: dir.path })
        try {
          const docs = db.collection('docs')
          for (const i of acked.docs) assert.deepEqual(docs.get(`d${i}`), { id: `d${i}`, i, body: 'x'.repeat(i % 300) }, `acknowledged d${i} lost`)
          const tx = db.collection('tx')
          for (const i of acked.tx) for (let k = 0; k < 5; k++) assert.ok(tx.get(`t${i}-${k}`), `acknowledged transaction ${i} lost`)
          // every transaction present is complete
          const byTx = new Map<number, number>()
          for (const d of tx.find()) byTx.set(d.i as number, (byTx.get(d.i as number) ?? 0) + 1)
          for (const [i, n] of byTx) assert.equal(n, 5, `transaction ${i} is partial`)
          assert.equal(docs.count(), docs.find().length)
          assert.equal(tx.count(), tx.find().length)
          // the log is intact: the database can still write, and its chain continues
          await docs.insert({ id: `after-${round}`, i: -1 })
          assert.match(db.stateHash(), /^[0-9a-f]{64}$/)
        } finally {
          await db.close()
        }
      }
      assert.ok(acked.docs.size > 0 && acked.tx.size > 0)
    } finally {
      dir.cleanup()
    }
  })
})
