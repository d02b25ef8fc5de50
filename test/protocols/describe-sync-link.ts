/**
 * One suite for every way two replicas can be linked for sync: an in-process stream pair,
 * libp2p over @libp2p/memory, TCP on loopback, a relayed connection… Each link factory gets
 * two databases of the same mesh (b is a member, and knows it) and returns a `SyncLink`.
 *
 * @example
 * describeSyncLink('TCP on loopback', async (a, b) => await nodeLink(a, b, { … }))
 */
import assert from 'node:assert/strict'
import { open, type Database } from '../../engine/index.ts'
import type { SyncSession } from '../../protocols/sync/index.ts'
import { converged, until } from '../wait.ts'

export interface SyncLink {
  /** the live session at each end (a's, b's), once both are up */
  ready (): Promise<[SyncSession, SyncSession]>
  /** brings the link back after its sessions ended (a node's peer manager does this by itself) */
  restore (): Promise<void>
  close (): Promise<void>
}

export type MakeLink = (a: Database, b: Database) => Promise<SyncLink>

export function describeSyncLink (name: string, makeLink: MakeLink): void {
  describe(`sync link: ${name}`, function () {
    this.timeout(60_000)
    const dbs: Database[] = []
    const links: SyncLink[] = []
    afterEach(async () => {
      for (const l of links.splice(0)) await l.close()
      for (const d of dbs.splice(0)) await d.close()
    })

    async function pair (): Promise<[Database, Database]> {
      const a = await open({})
      const b = await open({ dbId: a.id })
      dbs.push(a, b)
      await a.members.grant(b.peerId, 'writer')
      await b.applyChanges(a.changesSince(b.versionVector()))
      return [a, b]
    }
    async function link (a: Database, b: Database): Promise<SyncLink> {
      const l = await makeLink(a, b)
      links.push(l)
      return l
    }

    it('converges two databases both ways', async () => {
      const [a, b] = await pair()
      for (let i = 0; i < 40; i++) await a.collection('x').insert({ id: `a${i}`, n: i })
      for (let i = 0; i < 40; i++) await b.collection('x').insert({ id: `b${i}`, n: i })
      await b.collection('x').insert({ id: 'both', from: 'b' })
      await a.collection('x').put({ id: 'both', from: 'a' })
      await link(a, b)
      await converged([a, b])
      assert.equal(a.collection('x').count(), 81)
      assert.deepEqual(a.versionVector(), b.versionVector())
    })

    it('pushes new writes live, each way', async () => {
      const [a, b] = await pair()
      const l = await link(a, b)
      await l.ready()
      await a.collection('x').insert({ id: 'live-a' })
      await until(b, () => b.collection('x').get('live-a') !== undefined, 20_000, 'a → b')
      await b.transaction(async (tx) => { await tx.collection('x').update('live-a', { seen: true }); await tx.collection('y').insert({ id: 'tx' }) })
      await until(a, () => a.collection('y').get('tx') !== undefined && a.collection('x').get('live-a')?.seen === true, 20_000, 'b → a')
      await converged([a, b])
    })

    it('survives a half-close: both ends finish cleanly, and the restored link catches up what was written meanwhile', async () => {
      const [a, b] = await pair()
      const l = await link(a, b)
      await a.collection('x').insert({ id: 'before' })
      await until(b, () => b.collection('x').get('before') !== undefined)
      const [sa, sb] = await l.ready()
      await sa.close() // a ends its write side; b's reads end, then b closes its side
      await Promise.all([sa.done, sb.done])
      assert.equal(sa.error, undefined)
      assert.equal(sb.error, undefined)
      await a.collection('x').insert({ id: 'meanwhile-a' })
      await b.collection('x').insert({ id: 'meanwhile-b' })
      await l.restore()
      await converged([a, b])
      assert.ok(a.collection('x').get('meanwhile-b'))
      assert.ok(b.collection('x').get('meanwhile-a'))
    })
  })
}
