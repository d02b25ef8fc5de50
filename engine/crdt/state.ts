/**
 * Document state ⇄ BlazeBinary value. A register is a tuple
 * `[kind, path, hlc, author, idx, value | by]` with kind 's' (set), 'u' (unset), 'i' (inc).
 * The same tuples, encoded canonically, are what `stateHash` hashes.
 */
import type { Value } from '../codec/index.ts'
import type { Hlc } from '../clock/hlc.ts'
import { CorruptionError } from '../errors.ts'
import type { Register } from './register.ts'

export function stateToValue (state: readonly Register[]): Value {
  return state.map((r): Value => {
    const s = r.stamp
    switch (r.kind) {
      case 'set': return ['s', r.path as string[], s.hlc, s.author, s.idx, r.value]
      case 'unset': return ['u', r.path as string[], s.hlc, s.author, s.idx]
      case 'inc': return ['i', r.path as string[], s.hlc, s.author, s.idx, r.by]
    }
  })
}

export function stateFromValue (value: Value): Register[] {
  if (!Array.isArray(value)) throw new CorruptionError('document state is not a register list; the data file is damaged — restore from a replica or backup')
  return value.map((t): Register => {
    if (!Array.isArray(t) || t.length < 5) throw new CorruptionError('document register is malformed; the data file is damaged — restore from a replica or backup')
    const stamp = { hlc: t[2] as Hlc, author: t[3] as Uint8Array, idx: t[4] as number }
    const path = t[1] as string[]
    switch (t[0]) {
      case 's': return { kind: 'set', path, stamp, value: t[5]! }
      case 'u': return { kind: 'unset', path, stamp }
      case 'i': return { kind: 'inc', path, stamp, by: t[5] as number }
      default: throw new CorruptionError(`unknown register kind ${String(t[0])}; the data file is damaged — restore from a replica or backup`)
    }
  })
}
