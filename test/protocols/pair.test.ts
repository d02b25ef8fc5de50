import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { open, type Database } from '../../engine/index.ts'
import { identityFromSeed } from '../../engine/crypto/identity.ts'
import { decodeFrame, encodeFrame, FrameDecoder } from '../../engine/codec/index.ts'
import { decode, encode } from '../../engine/codec/index.ts'
import {
  PairService, joinOver, parseCode, formatCode, newCode, FRAME,
  WrongPairingCodeError, PairingExpiredError, PairingCodeUsedError, PairingClosedError, NotPairingError,
  PairingRateLimitedError, PairingProtocolError, InvalidPairingCodeError
} from '../../protocols/pair/index.ts'
import { channelId, cpaceShare, generator, iskOf, lvCat } from '../../protocols/pair/cpace.ts'
import { ristretto255 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { fakeClock, seededRandom } from '../engine/helpers.ts'

type Tamper = (type: number, payload: Uint8Array, direction: 'toMember' | 'toJoiner') => Uint8Array

/**
 * Two stream pairs joined by a relay that sees (and may rewrite) every frame, as a machine in
 * the middle would; `log` collects every byte that crossed.
 */
async function relayed (tamper: Tamper = (_t, p) => p): Promise<{ joiner: Stream, member: Stream, log: Uint8Array[] }> {
  const [joiner, relayA] = await streamPair()
  const [relayB, member] = await streamPair()
  const log: Uint8Array[] = []
  const pipe = async (from: Stream, to: Stream, direction: 'toMember' | 'toJoiner'): Promise<void> => {
    const decoder = new FrameDecoder()
    try {
      for await (const chunk of from) {
        for (const frame of decoder.push(chunk.subarray())) {
          const bytes = encodeFrame(tamper(frame.type, frame.payload, direction), { type: frame.type, compress: 'never' })
          log.push(bytes)
          if (!to.send(bytes)) await to.onDrain()
        }
      }
      await to.close()
    } catch {
      to.abort(new Error('relay ended'))
    }
  }
  void pipe(relayA, relayB, 'toMember')
  void pipe(relayB, relayA, 'toJoiner')
  return { joiner, member, log }
}

describe('pairing protocol (CPace over ristretto255) over in-memory streams', function () {
  this.timeout(30_000)
  const dbs: Database[] = []
  const services: PairService[] = []
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop()
    for (const d of dbs.splice(0)) await d.close()
  })

  async function member (options: { now?: () => number, tryDelayMs?: number } = {}): Promise<{ db: Database, service: PairService }> {
    const db = await open()
    dbs.push(db)
    const service = new PairService({ db, addresses: () => ['/ip4/127.0.0.1/tcp/4001'], tryDelayMs: options.tryDelayMs ?? 0, ...(options.now === undefined ? {} : { now: options.now }) })
    services.push(service)
    return { db, service }
  }
  let seed = 1
  const device = (): string => identityFromSeed(seededRandom(seed++)(32)).peerId

  /** One exchange; resolves with both sides' outcomes. */
  async function exchange (service: PairService, memberPeer: string, code: string, options: { joiner?: string, claimedMember?: string, tamper?: Tamper } = {}) {
    const joiner = options.joiner ?? device()
    const { joiner: js, member: ms, log } = await relayed(options.tamper)
    const [joined, answered] = await Promise.allSettled([
      joinOver({ stream: js, code: parseCode(code), localPeer: joiner, remotePeer: options.claimedMember ?? memberPeer }),
      service.answer(ms, joiner)
    ])
    return { joiner, joined, answered, log }
  }

  function rejectedWith (r: PromiseSettledResult<unknown>, name: string): void {
    assert.equal(r.status, 'rejected', `expected ${name}, got success`)
    assert.equal((r as PromiseRejectedResult).reason.name, name, String((r as PromiseRejectedResult).reason))
  }

  it('the right code: both sides agree, the member grants the role and hands over the database id and its addresses', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    assert.match(offer.code, /^[0-9]{4}-[0-9]{4}$/)
    const { joiner, joined, answered } = await exchange(service, db.peerId, offer.code)
    assert.equal(joined.status, 'fulfilled', String((joined as PromiseRejectedResult).reason))
    assert.deepEqual((joined as PromiseFulfilledResult<unknown>).value, { dbId: db.id, role: 'writer', member: db.peerId, addresses: ['/ip4/127.0.0.1/tcp/4001'] })
    assert.equal((answered as PromiseFulfilledResult<string>).value, joiner)
    assert.deepEqual(await offer.joined, { peerId: joiner, role: 'writer' })
    assert.equal(db.members.roleOf(joiner), 'writer')
  })

  it('a wrong code fails on both sides with WrongPairingCodeError and grants nothing', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    const wrong = offer.code.replace(/^./, (d) => String((Number(d) + 1) % 10))
    const { joiner, joined, answered } = await exchange(service, db.peerId, wrong)
    rejectedWith(joined, 'WrongPairingCodeError')
    rejectedWith(answered, 'WrongPairingCodeError')
    assert.equal(db.members.roleOf(joiner), null)
    assert.equal(service.isOpen(), true, 'one wrong try leaves the window open')
  })

  it('an expired code fails with PairingExpiredError and the window rejects `joined`', async () => {
    const clock = fakeClock()
    const { db, service } = await member({ now: clock.now })
    const offer = service.open({ role: 'reader', ttlMs: 60_000 })
    clock.advance(60_001)
    const { joiner, joined } = await exchange(service, db.peerId, offer.code)
    rejectedWith(joined, 'PairingExpiredError')
    await assert.rejects(offer.joined, PairingExpiredError)
    assert.equal(db.members.roleOf(joiner), null)
  })

  it('a code works once: reusing it fails with PairingCodeUsedError', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    assert.equal((await exchange(service, db.peerId, offer.code)).joined.status, 'fulfilled')
    const again = await exchange(service, db.peerId, offer.code)
    rejectedWith(again.joined, 'PairingCodeUsedError')
    assert.equal(db.members.roleOf(again.joiner), null)
  })

  it('three wrong tries close the window: then even the right code fails with PairingClosedError', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'admin' })
    const wrong = offer.code === '0000-0000' ? '1111-1111' : '0000-0000'
    for (let i = 0; i < 3; i++) rejectedWith((await exchange(service, db.peerId, wrong)).joined, 'WrongPairingCodeError')
    await assert.rejects(offer.joined, PairingClosedError)
    const right = await exchange(service, db.peerId, offer.code)
    rejectedWith(right.joined, 'PairingClosedError')
    assert.deepEqual(db.members.list().map((m) => m.role), ['owner'])
  })

  it('tries are rate-limited: after a wrong try the next one must wait', async () => {
    const clock = fakeClock()
    const { db, service } = await member({ now: clock.now, tryDelayMs: 1_000 })
    const offer = service.open({ role: 'writer' })
    const wrong = offer.code === '0000-0000' ? '1111-1111' : '0000-0000'
    rejectedWith((await exchange(service, db.peerId, wrong)).joined, 'WrongPairingCodeError')
    const tooSoon = await exchange(service, db.peerId, offer.code)
    rejectedWith(tooSoon.joined, 'PairingRateLimitedError')
    clock.advance(1_000)
    assert.equal((await exchange(service, db.peerId, offer.code)).joined.status, 'fulfilled')
  })

  it('a node without an open window says so (NotPairingError)', async () => {
    const { db, service } = await member()
    rejectedWith((await exchange(service, db.peerId, '1234-5678')).joined, 'NotPairingError')
  })

  it('a machine in the middle that rewrites a key share makes both sides fail, and nothing is granted', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    const other = generator('99999999', new Uint8Array(1), new Uint8Array(16))
    const { joiner, joined, answered } = await exchange(service, db.peerId, offer.code, {
      tamper: (type, payload) => type === FRAME.reply ? encode({ y: other }) : payload
    })
    rejectedWith(joined, 'WrongPairingCodeError')
    rejectedWith(answered, 'WrongPairingCodeError')
    assert.equal(db.members.roleOf(joiner), null)
  })

  it('a tampered welcome is refused by the new device (PairingProtocolError)', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    const { joined } = await exchange(service, db.peerId, offer.code, {
      tamper: (type, payload) => {
        if (type !== FRAME.welcome) return payload
        const m = decode(payload) as { mac: Uint8Array, iv: Uint8Array, box: Uint8Array }
        const box = Uint8Array.from(m.box)
        box[0]! ^= 1
        return encode({ ...m, box })
      }
    })
    rejectedWith(joined, 'PairingProtocolError')
  })

  it('the result is bound to both authenticated peer ids: a relay with another identity fails', async () => {
    const { db, service } = await member()
    const offer = service.open({ role: 'writer' })
    // the new device is connected to someone else (the relay's Noise identity), who forwards to the member
    const { joiner, joined, answered } = await exchange(service, db.peerId, offer.code, { claimedMember: device() })
    rejectedWith(joined, 'WrongPairingCodeError')
    rejectedWith(answered, 'WrongPairingCodeError')
    assert.equal(db.members.roleOf(joiner), null)
  })

  it('the transcript carries neither the code nor anything derived from the code alone; two runs with one code share nothing', async () => {
    const { db, service } = await member()
    const fixed = { code: '', joiner: device() }
    const runs: Uint8Array[][] = []
    for (let i = 0; i < 2; i++) {
      const offer = service.open({ role: 'writer' })
      fixed.code = offer.code
      const run = await exchange(service, db.peerId, offer.code, { joiner: fixed.joiner })
      assert.equal(run.joined.status, 'fulfilled')
      runs.push(run.log)
    }
    for (const log of runs) {
      const all = Buffer.concat(log)
      const digits = parseCode(fixed.code)
      assert.equal(all.includes(Buffer.from(digits)), false)
      assert.equal(all.includes(createHash('sha256').update(digits).digest()), false)
      assert.equal(all.includes(createHash('sha512').update(digits).digest().subarray(0, 32)), false)
    }
    // with the same code, peers and even the same session id, the shares differ (fresh scalars)
    const shares = runs.map((log) => log.map((bytes) => decode(decodeFrame(bytes).payload) as Record<string, Uint8Array>))
    for (const field of ['y', 'mac', 'box'] as const) {
      const a = shares[0]!.map((m) => m[field]).filter((v) => v !== undefined)
      const b = shares[1]!.map((m) => m[field]).filter((v) => v !== undefined)
      assert.ok(a.length > 0)
      for (const x of a) for (const y of b) assert.notDeepEqual(Buffer.from(x), Buffer.from(y))
    }
    const g = generator(parseCode(fixed.code), channelId(fixed.joiner, db.peerId), new Uint8Array(16))
    for (const log of runs) assert.equal(Buffer.concat(log).includes(Buffer.from(g)), false)
  })

  it('malformed and oversized frames are refused with a typed error and use up no try; an abandoned exchange does', async () => {
    const db = await open()
    dbs.push(db)
    const service = new PairService({ db, addresses: () => [], tryDelayMs: 0, stepTimeoutMs: 300 })
    services.push(service)
    service.open({ role: 'writer' })
    const send = async (bytes: Uint8Array): Promise<PromiseSettledResult<string>> => {
      const [a, b] = await streamPair()
      const answered = service.answer(b, device())
      a.send(bytes)
      const [r] = await Promise.allSettled([answered])
      a.abort(new Error('done'))
      return r
    }
    for (let i = 0; i < 5; i++) {
      rejectedWith(await send(encodeFrame(encode({ v: 1, sid: new Uint8Array(3), y: new Uint8Array(32) }), { type: FRAME.start })), 'PairingProtocolError')
      rejectedWith(await send(encodeFrame(new Uint8Array(64 * 1024), { type: FRAME.start, compress: 'never' })), 'PairingProtocolError')
      rejectedWith(await send(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])), 'PairingProtocolError')
    }
    assert.equal(service.isOpen(), true, 'junk does not close the window')
    // a well-formed START and then silence: the step times out, and that counts as a try
    const start = encodeFrame(encode({ v: 1, sid: new Uint8Array(16), y: generator('00000000', new Uint8Array(1), new Uint8Array(16)) }), { type: FRAME.start, compress: 'never' })
    for (let i = 0; i < 3; i++) rejectedWith(await send(start), 'PairingProtocolError')
    assert.equal(service.isOpen(), false, 'three abandoned exchanges close the window')
  })

  it('codes: 8 digits shown grouped, typed with or without the dash; anything else is InvalidPairingCodeError', () => {
    const code = newCode(seededRandom(7))
    assert.match(code, /^[0-9]{8}$/)
    assert.equal(formatCode('12345678'), '1234-5678')
    assert.equal(parseCode('1234-5678'), '12345678')
    assert.equal(parseCode(' 12345678 '), '12345678')
    for (const bad of ['1234-567', 'abcd-efgh', '123456789', '']) assert.throws(() => parseCode(bad), InvalidPairingCodeError)
    // the distribution of digits is uniform enough (rejection sampling, no bias toward 0–5)
    const counts = new Array(10).fill(0) as number[]
    const random = seededRandom(3)
    for (let i = 0; i < 2_000; i++) for (const d of newCode(random)) counts[Number(d)]!++
    for (const c of counts) assert.ok(c > 1_400 && c < 1_800, String(counts))
  })

  it('errors carry stable names and codes', () => {
    for (const [E, code] of [[WrongPairingCodeError, 'ERR_WRONG_PAIRING_CODE'], [PairingExpiredError, 'ERR_PAIRING_EXPIRED'], [PairingCodeUsedError, 'ERR_PAIRING_CODE_USED'],
      [PairingClosedError, 'ERR_PAIRING_CLOSED'], [NotPairingError, 'ERR_NOT_PAIRING']] as const) {
      const e = new E()
      assert.equal(e.code, code)
      assert.match(e.message, /blaze pair/)
    }
    assert.equal(new PairingRateLimitedError('wait').code, 'ERR_PAIRING_RATE_LIMITED')
    assert.equal(new PairingProtocolError('bad').code, 'ERR_PAIRING_PROTOCOL')
  })
})

describe('CPace over ristretto255: the test vectors of draft-irtf-cfrg-cpace', () => {
  // draft-irtf-cfrg-cpace, "Test vector for CPace using group ristretto255 and hash SHA-512"
  const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
  const v = {
    prs: 'Password',
    ci: hex('0a41696e69746961746f720a42726573706f6e646572'),
    sid: hex('7e4b4791d6a8ef019b936c79fb7f2c57'),
    g: '5e25411ca1ad7c9debfd0b33ad987a95cefef2d3f15dcc8bd26415a5dfe2e15a',
    ya: 'da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08',
    Ya: '383a85dd236978f17f8c8545b50dabc52a39fcdab2cf8bc531ce040ff77ca82d',
    yb: 'd2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d',
    Yb: 'a6206309c0e8e5f579295e35997ac4300ab3fecec3c17f7b604f3e698fa1383c',
    K: 'fa1d0318864e2cacb26875f1b791c9ae83204fe8359addb53e95a2e98893853f',
    isk: 'e91ccb2c0f5e0d0993a33956e3be59754f3f2b07db57631f5394452ea2e7b4354674eb1f5686c078462bf83bec72e8743df440108e638f3526d9b90e85be096f'
  }
  it('generator, shares, shared point and ISK match the draft', () => {
    assert.equal(channelId('Ainitiator', 'Bresponder').toString(), Buffer.from(v.ci).toString())
    const g = generator(v.prs, v.ci, v.sid)
    assert.equal(Buffer.from(g).toString('hex'), v.g)
    // the scalar comes from random(64) reduced mod the group order: feed it ya, zero-padded
    const scalarSource = (y: string) => (n: number) => { const out = new Uint8Array(n); out.set(hex(y)); return out }
    const a = cpaceShare(v.prs, v.ci, v.sid, scalarSource(v.ya))
    const b = cpaceShare(v.prs, v.ci, v.sid, scalarSource(v.yb))
    assert.equal(Buffer.from(a.share).toString('hex'), v.Ya)
    assert.equal(Buffer.from(b.share).toString('hex'), v.Yb)
    const K = ristretto255.Point.fromBytes(b.share).multiply(bytesToNumberLE(hex(v.ya)))
    assert.equal(Buffer.from(K.toBytes()).toString('hex'), v.K)
    const transcript = Buffer.concat([lvCat(a.share, Buffer.from('ADa')), lvCat(b.share, Buffer.from('ADb'))])
    assert.equal(Buffer.from(iskOf(v.sid, K.toBytes(), transcript)).toString('hex'), v.isk)
  })
})
