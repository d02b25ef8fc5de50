/**
 * Model-based test for the Store compliance suite: random sequences of transactions
 * (some failing, some batched in one tick), reads, ranges and snapshots must give exactly
 * what a plain sorted map gives.
 *
 * Reproducible: the seed is fixed unless BLAZEDB_MODEL_SEED names another (an integer, or
 * `random` for a fresh one, printed); BLAZEDB_MODEL_RUNS overrides the number of runs. A
 * failure prints the seed and path, and `regressions` below replays earlier counterexamples
 * exactly, on every store.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { RangeOptions, StoreSnapshot, StoreTxn } from '../../../engine/store/types.ts'
import type { OpenStore } from './describe-store.ts'

type Key = number[]
interface Bounds { gte?: Key | undefined, lt?: Key | undefined, reverse: boolean, limit?: number | undefined }
type TxnOp = { t: 'put', k: Key, v: number[] } | { t: 'del', k: Key } | { t: 'get', k: Key } | ({ t: 'range' } & Bounds)
interface Txn { ops: TxnOp[], fail: boolean }
export type Step =
  | { t: 'txn', txn: Txn }
  | { t: 'batch', txns: Txn[] }
  | { t: 'get', k: Key }
  | ({ t: 'range' } & Bounds)
  | { t: 'snap' }
  | ({ t: 'snapRead', i: number } & Bounds)
  | { t: 'release', i: number }

/** few distinct bytes, so that keys collide, nest as prefixes and sit at 0x00/0xff */
const keyArb: fc.Arbitrary<Key> = fc.array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), { minLength: 1, maxLength: 3 })
const boundArb: fc.Arbitrary<Key | undefined> = fc.option(fc.array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), { minLength: 0, maxLength: 3 }), { nil: undefined })
const boundsArb: fc.Arbitrary<Bounds> = fc.record({
  gte: boundArb,
  lt: boundArb,
  reverse: fc.boolean(),
  limit: fc.option(fc.nat({ max: 5 }), { nil: undefined })
}, { requiredKeys: ['reverse'] })
const txnOpArb: fc.Arbitrary<TxnOp> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('put' as const), k: keyArb, v: fc.array(fc.nat({ max: 255 }), { maxLength: 4 }) }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('del' as const), k: keyArb }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('get' as const), k: keyArb }), weight: 1 },
  { arbitrary: boundsArb.map((bounds) => ({ t: 'range' as const, ...bounds })), weight: 1 }
)
const txnArb: fc.Arbitrary<Txn> = fc.record({ ops: fc.array(txnOpArb, { maxLength: 8 }), fail: fc.nat({ max: 3 }).map((n) => n === 0) })
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: txnArb.map((txn) => ({ t: 'txn' as const, txn })), weight: 5 },
  { arbitrary: fc.array(txnArb, { minLength: 2, maxLength: 4 }).map((txns) => ({ t: 'batch' as const, txns })), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('get' as const), k: keyArb }), weight: 1 },
  { arbitrary: boundsArb.map((bounds) => ({ t: 'range' as const, ...bounds })), weight: 1 },
  { arbitrary: fc.constant({ t: 'snap' as const }), weight: 1 },
  { arbitrary: fc.tuple(fc.nat(), boundsArb).map(([i, bounds]) => ({ t: 'snapRead' as const, i, ...bounds })), weight: 1 },
  { arbitrary: fc.nat().map((i) => ({ t: 'release' as const, i })), weight: 1 }
)

type Model = Map<string, string>
const hexOf = (k: number[]): string => Buffer.from(k).toString('hex')

function modelRange (model: Model, bounds: Bounds): string[] {
  const gte = bounds.gte === undefined ? undefined : hexOf(bounds.gte)
  const lt = bounds.lt === undefined ? undefined : hexOf(bounds.lt)
  let keys = [...model.keys()].filter((k) => (gte === undefined || k >= gte) && (lt === undefined || k < lt)).sort()
  if (bounds.reverse) keys.reverse()
  if (bounds.limit !== undefined) keys = keys.slice(0, bounds.limit)
  return keys.map((k) => `${k}=${model.get(k)!}`)
}

function storeRange (reader: { range: (o: RangeOptions) => Iterable<{ key: Uint8Array, value: Uint8Array }> }, bounds: Bounds): string[] {
  const options: RangeOptions = { reverse: bounds.reverse }
  if (bounds.gte !== undefined) options.gte = Uint8Array.from(bounds.gte)
  if (bounds.lt !== undefined) options.lt = Uint8Array.from(bounds.lt)
  if (bounds.limit !== undefined) options.limit = bounds.limit
  return [...reader.range(options)].map((e) => `${Buffer.from(e.key).toString('hex')}=${Buffer.from(e.value).toString('hex')}`)
}

/** Runs the ops against the store txn, returning what each read saw. */
function runOnStore (t: StoreTxn, txn: Txn): unknown[] {
  const seen: unknown[] = []
  for (const op of txn.ops) {
    if (op.t === 'put') t.put(Uint8Array.from(op.k), Uint8Array.from(op.v))
    else if (op.t === 'del') t.delete(Uint8Array.from(op.k))
    else if (op.t === 'get') {
      const v = t.get(Uint8Array.from(op.k))
      seen.push(v === undefined ? null : Buffer.from(v).toString('hex'))
    } else seen.push(storeRange(t, op))
  }
  if (txn.fail) throw new Error('planned failure')
  return seen
}

/** The same on the model; the model changes only if the transaction succeeds. */
function runOnModel (model: Model, txn: Txn): { next: Model, seen: unknown[] } {
  const next = new Map(model)
  const seen: unknown[] = []
  for (const op of txn.ops) {
    if (op.t === 'put') next.set(hexOf(op.k), hexOf(op.v))
    else if (op.t === 'del') next.delete(hexOf(op.k))
    else if (op.t === 'get') seen.push(next.get(hexOf(op.k)) ?? null)
    else seen.push(modelRange(next, op))
  }
  return { next: txn.fail ? model : next, seen }
}

export async function checkSteps (open: OpenStore, steps: Step[]): Promise<void> {
  const { store, cleanup } = await open()
  const snaps: Array<{ snap: StoreSnapshot, model: Model }> = []
  try {
    let model: Model = new Map()
    const outcome = async (promise: Promise<unknown[]>): Promise<unknown> => await promise.then((seen) => ({ ok: seen }), (e: Error) => ({ failed: e.message }))
    for (const step of steps) {
      if (step.t === 'txn' || step.t === 'batch') {
        const txns = step.t === 'txn' ? [step.txn] : step.txns
        const got = await Promise.all(txns.map((txn) => outcome(store.transact((t) => runOnStore(t, txn)))))
        const want = txns.map((txn) => {
          const r = runOnModel(model, txn)
          model = r.next
          return txn.fail ? { failed: 'planned failure' } : { ok: r.seen }
        })
        assert.deepEqual(got, want)
      } else if (step.t === 'get') {
        const v = store.get(Uint8Array.from(step.k))
        assert.equal(v === undefined ? undefined : Buffer.from(v).toString('hex'), model.get(hexOf(step.k)))
      } else if (step.t === 'range') {
        assert.deepEqual(storeRange(store, step), modelRange(model, step))
      } else if (step.t === 'snap') {
        snaps.push({ snap: store.snapshot(), model })
      } else if (snaps.length > 0) {
        const i = step.i % snaps.length
        if (step.t === 'snapRead') assert.deepEqual(storeRange(snaps[i]!.snap, step), modelRange(snaps[i]!.model, step))
        else snaps.splice(i, 1)[0]!.snap.release()
      }
    }
    assert.deepEqual(storeRange(store, { reverse: false }), modelRange(model, { reverse: false }))
  } finally {
    try {
      for (const { snap } of snaps) snap.release()
      await store.close()
    } finally {
      await cleanup()
    }
  }
}

/**
 * Counterexamples found by the property, shrunk; each runs as its own test on every store.
 */
export const regressions: Array<{ name: string, steps: Step[] }> = [
  {
    // LmdbStore with encryptionKey read (and its next write kept) the value a page had before
    // it was freed and reused: lmdb-js's cache of decrypted pages (see lmdb-reuse-pin.ts)
    name: 'a write after a snapshot was released and another taken is read back (seed -70217318)',
    steps: [
      { t: 'txn', txn: { ops: [{ t: 'put', k: [0], v: [] }], fail: false } },
      { t: 'snap' },
      { t: 'range', reverse: false },
      { t: 'batch', txns: [{ ops: [{ t: 'put', k: [0], v: [] }], fail: false }, { ops: [], fail: true }] },
      { t: 'txn', txn: { ops: [{ t: 'put', k: [0], v: [] }], fail: false } },
      { t: 'get', k: [0] },
      { t: 'release', i: 0 },
      { t: 'snap' },
      { t: 'txn', txn: { ops: [{ t: 'put', k: [0], v: [0] }], fail: false } }
    ]
  }
]

const DEFAULT_SEED = 20240613
const DEFAULT_RUNS = 200

/** The property's seed: fixed, or BLAZEDB_MODEL_SEED (an integer, or `random`). */
export function modelSeed (): number {
  const env = process.env.BLAZEDB_MODEL_SEED
  if (env === undefined || env === '') return DEFAULT_SEED
  if (env === 'random') return Math.floor(Math.random() * 0x1_0000_0000) | 0
  const seed = Number(env)
  if (!Number.isSafeInteger(seed)) throw new Error(`BLAZEDB_MODEL_SEED must be an integer or "random", got ${env}`)
  return seed | 0
}

function modelRuns (numRuns: number): number {
  const env = process.env.BLAZEDB_MODEL_RUNS
  if (env === undefined || env === '') return numRuns
  const runs = Number(env)
  if (!Number.isSafeInteger(runs) || runs <= 0) throw new Error(`BLAZEDB_MODEL_RUNS must be a positive integer, got ${env}`)
  return runs
}

export function describeStoreModel (open: OpenStore, numRuns = DEFAULT_RUNS): void {
  const runs = modelRuns(numRuns)
  const seed = modelSeed()
  it(`matches a sorted-map model over random operation sequences (${runs} runs, seed ${seed})`, async function () {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25, size: 'max' }), async (steps) => { await checkSteps(open, steps) }), { numRuns: runs, seed })
  })
  for (const { name, steps } of regressions) {
    it(`matches the model on a recorded counterexample: ${name}`, async function () {
      await checkSteps(open, steps)
    })
  }
}
