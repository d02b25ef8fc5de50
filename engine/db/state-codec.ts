/**
 * How a document's state is stored (value under D ‖ collection ‖ 0 ‖ id).
 *
 * | byte 0 | then                                                                 |
 * |--------|----------------------------------------------------------------------|
 * | 1      | the common case, one `set` of the whole document: hlc (u64 BE),      |
 * |        | author (32), idx (u32 BE), then the document (storage form)          |
 * | 0      | any other state: the register tuples (crdt/state.ts), storage form   |
 *
 * The first form lets `get` decode just the document — no stamp, no tuples.
 */
import type { StructureTable } from '../codec/index.ts'
import type { Hlc } from '../clock/hlc.ts'
import { stateFromValue, stateToValue, type Doc, type Register } from '../crdt/index.ts'
import { CorruptionError, type BlazeError } from '../errors.ts'

const WHOLE = 1
const GENERAL = 0
const HEADER = 1 + 8 + 32 + 4

function isPlainDoc (v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)
}

function damaged (cause?: unknown): BlazeError {
  return new CorruptionError('a stored document does not decode; the data file is damaged — restore from a replica or backup', cause === undefined ? undefined : { cause })
}

export function encodeState (table: StructureTable, state: readonly Register[]): Uint8Array {
  const only = state.length === 1 ? state[0]! : undefined
  if (only !== undefined && only.kind === 'set' && only.path.length === 0 && isPlainDoc(only.value)) {
    const body = table.encode(only.value)
    const out = new Uint8Array(HEADER + body.length)
    const view = new DataView(out.buffer)
    out[0] = WHOLE
    view.setBigUint64(1, only.stamp.hlc)
    out.set(only.stamp.author, 9)
    view.setUint32(41, only.stamp.idx)
    out.set(body, HEADER)
    return out
  }
  const body = table.encode(stateToValue(state))
  const out = new Uint8Array(1 + body.length)
  out[0] = GENERAL
  out.set(body, 1)
  return out
}

export function decodeState (table: StructureTable, raw: Uint8Array): Register[] {
  try {
    if (raw[0] === WHOLE) {
      if (raw.length < HEADER) throw damaged()
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
      const stamp = { hlc: view.getBigUint64(1) as Hlc, author: raw.slice(9, 41), idx: view.getUint32(41) }
      return [{ kind: 'set', path: [], stamp, value: table.decode(raw.subarray(HEADER)) }]
    }
    if (raw[0] === GENERAL) return stateFromValue(table.decode(raw.subarray(1)))
  } catch (cause) {
    throw cause instanceof CorruptionError ? cause : damaged(cause)
  }
  throw damaged()
}

/** The document alone, when the state is the common single-`set` form; else undefined. */
export function decodeWholeDoc (table: StructureTable, raw: Uint8Array): Doc | undefined {
  if (raw[0] !== WHOLE) return undefined
  try {
    const doc = table.decode(raw.subarray(HEADER))
    if (!isPlainDoc(doc)) throw damaged()
    return doc
  } catch (cause) {
    throw cause instanceof CorruptionError ? cause : damaged(cause)
  }
}
