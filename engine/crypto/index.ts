/**
 * Identities (Ed25519), signatures, passphrase key derivation, sealing, hashing — all on
 * node:crypto; nothing hand-rolled.
 *
 * @example
 * const me = generateIdentity()
 * const sig = me.sign(sha256(new TextEncoder().encode('hello')))
 * verifySignature(me.publicKey, sha256(new TextEncoder().encode('hello')), sig) // true
 */
export * from './identity.ts'
export * from './keys.ts'
export * from './hash.ts'
