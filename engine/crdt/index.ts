/**
 * Merging changes into document state: field-level last-writer-wins by (hlc, author),
 * delete tombstones, revive on a later set, counters. Pure functions, no storage.
 *
 * @example
 * const a = { hlc: makeHlc(1, 0), author: new Uint8Array(32), idx: 0 }
 * const s = mergeRegister([], { kind: 'set', path: [], stamp: a, value: { title: 'hi' } })!
 * materialize(s) // { title: 'hi' }
 */
export * from './register.ts'
export * from './state.ts'
export * from './ops.ts'
