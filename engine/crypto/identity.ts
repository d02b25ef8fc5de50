/**
 * Device identity: an Ed25519 key pair. The same key is the node's libp2p peer key, so the
 * peer id string here (base58btc of the identity multihash of the protobuf public key) equals
 * libp2p's `peerId.toString()` for it.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import { toString } from 'uint8arrays/to-string'
import { fromString } from 'uint8arrays/from-string'
import { InvalidArgumentError } from '../errors.ts'

export type PeerIdString = string & { readonly __brand: 'PeerId' }

const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
// identity multihash (0x00, length 36) of the libp2p protobuf PublicKey { Type: Ed25519, Data: 32 bytes }
const PEER_ID_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])

export interface Identity {
  /** raw 32-byte Ed25519 public key */
  readonly publicKey: Uint8Array
  readonly peerId: PeerIdString
  /** raw 32-byte Ed25519 seed (the libp2p raw private key is seed ‖ publicKey) */
  readonly seed: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

export function identityFromSeed (seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new InvalidArgumentError(`an Ed25519 seed has 32 bytes, got ${seed.length}`)
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
  return {
    publicKey,
    peerId: peerIdFromPublicKey(publicKey),
    seed: Uint8Array.from(seed),
    sign: (message) => new Uint8Array(sign(null, message, privateKey))
  }
}

export function generateIdentity (random: (n: number) => Uint8Array = randomBytes): Identity {
  return identityFromSeed(random(32))
}

export function peerIdFromPublicKey (publicKey: Uint8Array): PeerIdString {
  const bytes = new Uint8Array(PEER_ID_PREFIX.length + 32)
  bytes.set(PEER_ID_PREFIX)
  bytes.set(publicKey, PEER_ID_PREFIX.length)
  return toString(bytes, 'base58btc') as PeerIdString
}

export function publicKeyFromPeerId (peerId: string): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = fromString(peerId, 'base58btc')
  } catch {
    throw new InvalidArgumentError(`not a peer id: ${JSON.stringify(peerId)}; expected an Ed25519 peer id such as the one \`blaze id\` prints`)
  }
  if (bytes.length !== 38 || !PEER_ID_PREFIX.every((b, i) => bytes[i] === b)) {
    throw new InvalidArgumentError(`not an Ed25519 peer id: ${JSON.stringify(peerId)}; expected one starting with 12D3KooW`)
  }
  return bytes.subarray(PEER_ID_PREFIX.length)
}

const verifyKeys = new Map<string, KeyObject>()

/** Verifies an Ed25519 signature; key objects are cached per public key. */
export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  const id = toString(publicKey, 'base64')
  let key = verifyKeys.get(id)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    if (verifyKeys.size > 10_000) verifyKeys.clear()
    verifyKeys.set(id, key)
  }
  try {
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}
