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

const scratch = new Uint8Array(8)
const scratchView = new DataView(scratch.buffer)

/** `n` as 8 bytes big-endian at `at` (through one shared DataView: no BigInt arithmetic). */
function writeU64 (out: Uint8Array, at: number, n: bigint): void {
  scratchView.setBigUint64(0, n)
  out.set(scratch, at)
}

export function encodeState (table: StructureTable, state: readonly Register[]): Uint8Array {
  const only = state.length === 1 ? state[0]! : undefined
  if (only !== undefined && only.kind === 'set' && only.path.length === 0 && isPlainDoc(only.value)) {
    // header and document in one buffer (a view into the encoder's slab, as `encode` gives)
    const out = table.encodeAfter(HEADER, only.value)
    out[0] = WHOLE
    writeU64(out, 1, only.stamp.hlc)
    out.set(only.stamp.author, 9)
    const idx = only.stamp.idx
    out[41] = idx >>> 24
    out[42] = (idx >>> 16) & 0xff
    out[43] = (idx >>> 8) & 0xff
    out[44] = idx & 0xff
    return out
  }
  const out = table.encodeAfter(1, stateToValue(state))
  out[0] = GENERAL
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
