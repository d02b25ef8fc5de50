/**
 * CPace over ristretto255 with SHA-512, after draft-irtf-cfrg-cpace (the group and hashing
 * come from `@noble/curves`; nothing here does curve arithmetic by hand):
 *
 *   G   = element_derivation(SHA-512(lv_cat(DSI, PRS, zpad, CI, sid)))   (draft §7.2, RFC 9496 §4.3.4)
 *   Y   = y·G, y a random scalar;  K = y·Y' (both Y' and K must not be the identity)
 *   ISK = SHA-512(lv_cat(DSI ‖ "_ISK", sid, K) ‖ lv_cat(Ya, ADa) ‖ lv_cat(Yb, ADb))
 *
 * PRS is the pairing code, CI binds both Noise-authenticated peer ids (joiner first), sid is
 * fresh per run. From ISK, HKDF-SHA-512 derives the two confirmation keys and the AES-256-GCM
 * key of the welcome message. A recorded run shows only Ya, Yb, MACs and ciphertext: checking a
 * guess of the code against them needs y (the CDH problem), so guessing is online only.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { WrongPairingCodeError } from './errors.ts'

const Point = ristretto255.Point
type RistrettoPoint = InstanceType<typeof Point>
const DSI = Buffer.from('CPaceRistretto255')
/** SHA-512's input block size (the draft's s_in_bytes) */
const S_IN_BYTES = 128
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8')

function leb128 (n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Uint8Array.from(out)
}

function prependLen (data: Uint8Array): Uint8Array { return Buffer.concat([leb128(data.length), data]) }

export function lvCat (...parts: Uint8Array[]): Uint8Array { return Buffer.concat(parts.map(prependLen)) }

/** The channel identifier: both authenticated peer ids, the joining device's first. */
export function channelId (joinerPeerId: string, memberPeerId: string): Uint8Array {
  return lvCat(utf8(joinerPeerId), utf8(memberPeerId))
}

/** The encoded generator (for tests against the draft's vectors). */
export function generator (code: string, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  return generatorPoint(code, ci, sid).toBytes()
}

function generatorPoint (code: string, ci: Uint8Array, sid: Uint8Array): RistrettoPoint {
  const prs = utf8(code)
  const zpad = Math.max(0, S_IN_BYTES - prependLen(prs).length - prependLen(DSI).length - 1)
  const genStr = lvCat(DSI, prs, new Uint8Array(zpad), ci, sid)
  return ristretto255_hasher.deriveToCurve!(createHash('sha512').update(genStr).digest())
}

/** ISK = SHA-512(lv_cat(DSI ‖ "_ISK", sid, K) ‖ MSGa ‖ MSGb), MSGx = lv_cat(Yx, ADx) (initiator-responder order) */
export function iskOf (sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  return createHash('sha512').update(lvCat(Buffer.concat([DSI, utf8('_ISK')]), sid, k)).update(transcript).digest()
}

export interface CpaceShare {
  /** our public share Y = y·G (32 bytes) */
  readonly share: Uint8Array
  /** finishes with the peer's share: the derived keys, or WrongPairingCodeError for an invalid share */
  finish: (peerShare: Uint8Array, transcript: { joinerShare: Uint8Array, memberShare: Uint8Array }) => PairKeys
}

export interface PairKeys {
  /** MAC the joining device sends to prove it derived the same key */
  joinerMac: Uint8Array
  /** MAC the member sends back */
  memberMac: Uint8Array
  /** AES-256-GCM key of the welcome */
  welcomeKey: Uint8Array
  /** bytes both sides bind the welcome to (AAD) */
  transcriptHash: Uint8Array
}

/** One side's ephemeral state. `random(64)` gives the scalar (reduced mod the group order). */
export function cpaceShare (code: string, ci: Uint8Array, sid: Uint8Array, random: (n: number) => Uint8Array): CpaceShare {
  const g = generatorPoint(code, ci, sid)
  let y = 0n
  while (y === 0n) y = Point.Fn.create(bytesToNumberLE(random(64)))
  const share = g.multiply(y).toBytes()
  return {
    share,
    finish: (peerShare, { joinerShare, memberShare }) => {
      let peer: RistrettoPoint
      try {
        peer = Point.fromBytes(peerShare)
      } catch {
        throw new WrongPairingCodeError('the other device sent an invalid key share; pairing failed — ask for a new code with `blaze pair`')
      }
      if (peer.is0()) throw new WrongPairingCodeError('the other device sent the identity as its key share; pairing failed — ask for a new code with `blaze pair`')
      const k = peer.multiply(y)
      if (k.is0()) throw new WrongPairingCodeError('pairing produced no shared key; ask for a new code with `blaze pair`')
      const transcript = Buffer.concat([lvCat(joinerShare, new Uint8Array(0)), lvCat(memberShare, new Uint8Array(0))])
      const isk = iskOf(sid, k.toBytes(), transcript)
      const derive = (label: string): Uint8Array => new Uint8Array(hkdfSync('sha512', isk, sid, `blazedb pair ${label}`, 32))
      const transcriptHash = createHash('sha256').update(ci).update(sid).update(transcript).digest()
      const mac = (key: Uint8Array, label: string): Uint8Array => createHmac('sha256', key).update(label).update(transcriptHash).digest()
      return {
        joinerMac: mac(derive('confirm joiner'), 'joiner'),
        memberMac: mac(derive('confirm member'), 'member'),
        welcomeKey: derive('welcome'),
        transcriptHash
      }
    }
  }
}

export function macEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
