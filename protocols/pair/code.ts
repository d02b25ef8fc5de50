/** Pairing codes: 8 random digits, shown as `1234-5678`, accepted with or without the dash or spaces. */
import { CODE_DIGITS } from './constants.ts'
import { InvalidPairingCodeError } from './errors.ts'

/** A uniformly random code (rejection sampling, so no digit is more likely than another). */
export function newCode (random: (n: number) => Uint8Array): string {
  let out = ''
  while (out.length < CODE_DIGITS) {
    for (const b of random(CODE_DIGITS)) {
      if (b < 250 && out.length < CODE_DIGITS) out += String(b % 10)
    }
  }
  return out
}

/** `12345678` → `1234-5678` */
export function formatCode (code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** The digits of a code as typed; InvalidPairingCodeError when it is not 8 digits. */
export function parseCode (typed: string): string {
  const digits = typed.replace(/[\s-]/g, '')
  if (!new RegExp(`^[0-9]{${CODE_DIGITS}}$`).test(digits)) {
    throw new InvalidPairingCodeError(`a pairing code is ${CODE_DIGITS} digits, like 1234-5678, got ${JSON.stringify(typed)}; copy it from the output of \`blaze pair\``)
  }
  return digits
}
