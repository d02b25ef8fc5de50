/**
 * Passphrase-derived keys. One scrypt run gives a master key; HKDF splits it into a key for
 * LMDB's page encryption, a key for sealing small files (the device identity), and a check
 * value stored beside the data so that a wrong passphrase is refused before LMDB ever sees a
 * key (LMDB opens with a wrong key without error and reads garbage).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { CorruptionError, WrongPassphraseError } from '../errors.ts'

export interface KdfParams {
  kdf: 'scrypt'
  /** CPU/memory cost; default 2^15 (about 32 MiB and ~100 ms here) */
  N: number
  r: number
  p: number
  salt: string // base64
}

export interface DerivedKeys {
  /** 32 ASCII characters, the form lmdb-js requires (a Buffer key aborts the process) */
  storeKey: string
  sealKey: Uint8Array
  check: Uint8Array
}

export function newKdfParams (random: (n: number) => Uint8Array = randomBytes): KdfParams {
  return { kdf: 'scrypt', N: 2 ** 15, r: 8, p: 1, salt: Buffer.from(random(16)).toString('base64') }
}

export function deriveKeys (passphrase: string, params: KdfParams): DerivedKeys {
  const master = scryptSync(passphrase.normalize('NFKC'), Buffer.from(params.salt, 'base64'), 32, {
    N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024
  })
  const part = (info: string, length: number): Uint8Array => new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), info, length))
  return {
    storeKey: Buffer.from(part('blazedb/store', 24)).toString('base64url'),
    sealKey: part('blazedb/seal', 32),
    check: part('blazedb/check', 32)
  }
}

export function checkPassphrase (keys: DerivedKeys, storedCheck: Uint8Array): void {
  if (storedCheck.length !== keys.check.length || !timingSafeEqual(storedCheck, keys.check)) {
    throw new WrongPassphraseError('wrong passphrase for this data directory; try again with the passphrase it was created with')
  }
}

/** AES-256-GCM: nonce(12) ‖ ciphertext ‖ tag(16). */
export function seal (key: Uint8Array, plaintext: Uint8Array, random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  const nonce = random(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([nonce, body, cipher.getAuthTag()])
}

export function open (key: Uint8Array, sealed: Uint8Array, what: string): Uint8Array {
  if (sealed.length < 28) throw new CorruptionError(`${what} is damaged (too short); restore it from a backup`)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12))
    decipher.setAuthTag(sealed.subarray(sealed.length - 16))
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]))
  } catch (cause) {
    throw new CorruptionError(`${what} is damaged or was sealed with another key; restore it from a backup`, { cause })
  }
}
