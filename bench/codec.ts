/**
 * BlazeBinary against JSON, msgpackr (shared structures) and cbor-x on the bug record:
 * bytes per record, encodes and decodes per second. All codecs run interleaved in the
 * same rounds over the same 10,000 distinct records; each figure is the median round.
 *
 * `blazebinary` is the StructureTable form (storage); `blazebinary-canonical` is `encode`
 * with `decodeCanonical` (the strict decoder used for signed changes). Every ratio is
 * against msgpackr and > 1 means better (for bytes: smaller). JSON turns Dates into strings
 * and cbor-x runs without shared structures, so neither round-trips exactly; they are
 * there for scale.
 */
import { deepStrictEqual } from 'node:assert/strict'
import { decode as cborDecode, encode as cborEncode } from 'cbor-x'
import { Packr } from 'msgpackr'
import { decodeCanonical, encode, StructureTable, type Value } from '../engine/codec/index.ts'
import { bugRecord } from './fixtures.ts'
import { compare, median, perSecond, report, type Result } from './report.ts'

const RECORDS = 10_000
const WARMUP_ROUNDS = 3
const ROUNDS = 21

interface Codec {
  name: string
  encode: (value: Value) => Uint8Array
  decode: (bytes: Uint8Array) => unknown
}

function codecs (): Codec[] {
  const table = new StructureTable()
  const packr = new Packr({ structures: [] })
  const textEncoder = new TextEncoder()
  const textDecoder = new TextDecoder()
  return [
    { name: 'blazebinary', encode: (v) => table.encode(v), decode: (b) => table.decode(b) },
    { name: 'blazebinary-canonical', encode: (v) => encode(v), decode: (b) => decodeCanonical(b) },
    { name: 'json', encode: (v) => textEncoder.encode(JSON.stringify(v)), decode: (b) => JSON.parse(textDecoder.decode(b)) },
    { name: 'msgpackr', encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b) },
    { name: 'cbor', encode: (v) => cborEncode(v), decode: (b) => cborDecode(b) }
  ]
}

export async function run (): Promise<void> {
  const records = Array.from({ length: RECORDS }, (_, i) => bugRecord(i) as unknown as Value)
  const all = codecs()
  const encoded = new Map<string, Uint8Array[]>()
  const bytes = new Map<string, number>()
  for (const codec of all) {
    const out = records.map((r) => codec.encode(r))
    encoded.set(codec.name, out)
    bytes.set(codec.name, out.reduce((sum, b) => sum + b.length, 0) / RECORDS)
    if (codec.name.startsWith('blazebinary')) deepStrictEqual(codec.decode(out[RECORDS - 1]!), records[RECORDS - 1])
  }

  const encodeSamples = new Map<string, number[]>(all.map((c) => [c.name, []]))
  const decodeSamples = new Map<string, number[]>(all.map((c) => [c.name, []]))
  let sink = 0
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    process.stderr.write(`codec: round ${round + 1}/${WARMUP_ROUNDS + ROUNDS}\r`)
    // Rotate the order each round so no codec always runs first (or right after GC-heavy JSON).
    for (let k = 0; k < all.length; k++) {
      const codec = all[(round + k) % all.length]!
      const input = encoded.get(codec.name)!
      let t = performance.now()
      for (let i = 0; i < RECORDS; i++) sink += codec.encode(records[i]!).length
      const encodeMs = performance.now() - t
      t = performance.now()
      for (let i = 0; i < RECORDS; i++) if (codec.decode(input[i]!) === null) sink++
      const decodeMs = performance.now() - t
      if (round >= WARMUP_ROUNDS) {
        encodeSamples.get(codec.name)!.push(perSecond(RECORDS, encodeMs))
        decodeSamples.get(codec.name)!.push(perSecond(RECORDS, decodeMs))
      }
    }
  }
  process.stderr.write(`codec: ${ROUNDS} rounds of ${RECORDS} records (checksum ${sink})\n`)

  const medianOf = async (samples: number[]): Promise<number> => {
    let i = 0
    return await median(samples.length, () => samples[i++]!)
  }
  const results = new Map<string, { bytes: Result, encode: Result, decode: Result }>()
  for (const codec of all) {
    const name = codec.name
    results.set(name, {
      bytes: { bench: `codec.${name}.bytes`, value: Math.round(bytes.get(name)! * 10) / 10, unit: 'bytes' },
      encode: { bench: `codec.${name}.encode`, value: await medianOf(encodeSamples.get(name)!), unit: 'records/s' },
      decode: { bench: `codec.${name}.decode`, value: await medianOf(decodeSamples.get(name)!), unit: 'records/s' }
    })
  }
  const base = results.get('msgpackr')!
  for (const kind of ['bytes', 'encode', 'decode'] as const) {
    for (const codec of all) {
      const r = results.get(codec.name)![kind]
      if (codec.name === 'msgpackr') report(r)
      else compare(r, base[kind], kind !== 'bytes')
    }
  }
}
