// The README's API example, runnable: node examples/readme.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from '../engine/index.ts' // in your project: import { open } from 'blazedb'

const dir = mkdtempSync(join(tmpdir(), 'blazedb-example-'))
try {
  const db = await open({ path: join(dir, 'data'), passphrase: 'correct horse battery staple' })

  const bugs = db.collection('bugs')
  const id = await bugs.insert({ title: 'crash on sync', status: 'open', stats: { views: 0 } })
  await bugs.update(id, { status: 'closed', stats: { views: 3 } })
  await bugs.increment(id, 'stats.views')
  console.log(bugs.get(id))
  console.log(bugs.find({ status: 'closed' }).length, 'closed of', bugs.count())

  await db.transaction(async (tx) => {
    const b = await tx.collection('bugs').insert({ title: 'second' })
    await tx.collection('log').insert({ bug: b, event: 'created' })
  })

  await bugs.createIndex('status')
  for (let i = 0; i < 5; i++) await bugs.insert({ title: `bug ${i}`, status: i % 2 === 0 ? 'open' : 'closed', votes: i })
  console.log('open, most votes first:', bugs.find({ status: 'open', votes: { gte: 1 } }, { sort: [{ path: 'votes', dir: 'desc' }] }).map((b) => b.title))
  console.log('per status:', bugs.aggregate({ groupBy: 'status', aggregates: { n: { count: true } } }))
  console.log('plan:', bugs.explain({ status: 'open' }).strategy)

  const unsubscribe = db.subscribe((event) => console.log('change', event.origin, event.seq, event.ops.length, 'ops'))
  await bugs.delete(id)
  unsubscribe()

  const other = await open({ dbId: db.id })
  const result = await other.applyChanges(db.changesSince(other.versionVector()))
  console.log('replica applied', result.applied, 'changes; same state:', other.stateHash() === db.stateHash())

  await other.close()
  await db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
