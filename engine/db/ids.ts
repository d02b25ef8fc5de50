/**
 * Default document ids: time-ordered and random, 26 characters of Crockford base32
 * (10 for the millisecond time, 16 for 80 random bits), so ids sort roughly by creation.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

export function newId (now: number, random: (n: number) => Uint8Array): string {
  let out = ''
  let t = Math.floor(now)
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out
    t = Math.floor(t / 32)
  }
  const bytes = random(10)
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(acc >> bits) & 31]!
    }
    acc &= (1 << bits) - 1
  }
  return out
}
