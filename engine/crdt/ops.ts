/**
 * From a change's document ops to registers.
 */
import type { Hlc } from '../clock/hlc.ts'
import type { Op } from '../log/change.ts'
import type { Register } from './register.ts'

export type DocOp = Extract<Op, { c: string }>

export function isDocOp (op: Op): op is DocOp {
  return op.op === 'set' || op.op === 'unset' || op.op === 'del' || op.op === 'inc'
}

export function registerOf (op: DocOp, hlc: Hlc, author: Uint8Array, idx: number): Register {
  const stamp = { hlc, author, idx }
  switch (op.op) {
    case 'set': return { kind: 'set', path: op.p, stamp, value: op.v }
    case 'unset': return { kind: 'unset', path: op.p, stamp }
    case 'del': return { kind: 'unset', path: [], stamp }
    case 'inc': return { kind: 'inc', path: op.p, stamp, by: op.by }
  }
}
