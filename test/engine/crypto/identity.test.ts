import assert from 'node:assert/strict'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateIdentity, identityFromSeed, peerIdFromPublicKey, publicKeyFromPeerId, verifySignature } from '../../../engine/crypto/identity.ts'
import { checkPassphrase, deriveKeys, newKdfParams, open, seal } from '../../../engine/crypto/keys.ts'
import { sha256 } from '../../../engine/crypto/hash.ts'

describe('identity and keys', () => {
  it('the device key is a libp2p peer key: same peer id', () => {
    const me = generateIdentity()
    const raw = new Uint8Array(64)
    raw.set(me.seed)
    raw.set(me.publicKey, 32)
    assert.equal(peerIdFromPrivateKey(privateKeyFromRaw(raw)).toString(), me.peerId)
    assert.deepEqual(publicKeyFromPeerId(me.peerId), me.publicKey)
    assert.equal(peerIdFromPublicKey(me.publicKey), me.peerId)
  })

  it('signs and verifies; a flipped bit fails', () => {
    const me = identityFromSeed(new Uint8Array(32).fill(1))
    const msg = sha256(new TextEncoder().encode('hello'))
    const sig = me.sign(msg)
    assert.equal(verifySignature(me.publicKey, msg, sig), true)
    sig[0]! ^= 1
    assert.equal(verifySignature(me.publicKey, msg, sig), false)
    assert.equal(verifySignature(me.publicKey, msg, new Uint8Array(3)), false)
  })

  it('refuses strings that are not Ed25519 peer ids', () => {
    assert.throws(() => publicKeyFromPeerId('hello'), { name: 'InvalidArgumentError' })
    assert.throws(() => publicKeyFromPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), { name: 'InvalidArgumentError' })
  })

  it('derives keys from a passphrase, checks them, seals and detects tampering', () => {
    const params = { ...newKdfParams(), N: 2 ** 12 }
    const keys = deriveKeys('pw', params)
    assert.equal(keys.storeKey.length, 32)
    checkPassphrase(keys, keys.check)
    assert.throws(() => checkPassphrase(deriveKeys('other', params), keys.check), { name: 'WrongPassphraseError' })
    const sealed = seal(keys.sealKey, new Uint8Array([1, 2, 3]))
    assert.deepEqual(open(keys.sealKey, sealed, 'x'), new Uint8Array([1, 2, 3]))
    sealed[sealed.length - 1]! ^= 1
    assert.throws(() => open(keys.sealKey, sealed, 'x'), { name: 'CorruptionError' })
  })
})
