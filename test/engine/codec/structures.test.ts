import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { decode, encode, StructureTable, type Value } from '../../../engine/codec/index.ts'
import { CodecError, InvalidArgumentError, InvalidTagError, UnknownStructureError } from '../../../engine/errors.ts'
import { recordsArb, reversedKeys, typedOrValue, valueArb } from './arbitraries.ts'

describe('codec: StructureTable', () => {
  it('round-trips any value, several times over (compiled readers included)', () => {
    const table = new StructureTable()
    fc.assert(fc.property(fc.oneof(valueArb, recordsArb), (v) => {
      const b = table.encode(v)
      for (let i = 0; i < 10; i++) assert.deepStrictEqual(table.decode(b), v)
    }), { numRuns: 400 })
  })

  it('writes a repeated key set as a shape reference, in any key order', () => {
    const table = new StructureTable()
    const first = table.encode({ title: 'a', votes: 1 })
    assert.deepStrictEqual(table.unpersisted(), [{ id: 0, keys: ['title', 'votes'] }])
    const again = table.encode({ votes: 1, title: 'a' })
    assert.deepStrictEqual([...again], [0xe0, 0x81, 0x61, 0x01])
    assert.deepStrictEqual([...first], [...again])
    assert.ok(again.length < encode({ title: 'a', votes: 1 }).length)
    assert.equal(table.size, 1)
  })

  it('uses 1, 2 and 3-byte references as ids grow', () => {
    const table = new StructureTable()
    const values = Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i }))
    const sizes = values.map((v) => table.encode(v).length - encode(v[Object.keys(v)[0]!]!).length)
    assert.deepStrictEqual([sizes[0], sizes[15], sizes[16], sizes[255], sizes[256]], [1, 1, 2, 2, 3])
    for (const v of values) assert.deepStrictEqual(table.decode(table.encode(v)), v)
  })

  it('survives a restart through unpersisted() / markPersisted() / the constructor', () => {
    const table = new StructureTable()
    const docs = [{ a: 1, b: 'x' }, { c: [{ d: true }] }]
    const stored = docs.map((d) => table.encode(d))
    const shapes = table.unpersisted()
    assert.equal(shapes.length, 3)
    table.markPersisted(shapes.map((s) => s.id))
    assert.deepStrictEqual(table.unpersisted(), [])
    table.encode({ a: 2, b: 'y' })
    assert.deepStrictEqual(table.unpersisted(), [])

    const reopened = new StructureTable(shapes)
    assert.deepStrictEqual(stored.map((b) => reopened.decode(b)), docs)
    reopened.encode({ e: 1 })
    assert.deepStrictEqual(reopened.unpersisted(), [{ id: 3, keys: ['e'] }])
    assert.deepStrictEqual(reopened.shapes().map((s) => s.id), [0, 1, 2, 3])
  })

  it('refuses references to shapes it does not know, and plain decode refuses all references', () => {
    const table = new StructureTable()
    const b = table.encode({ a: 1 })
    assert.throws(() => new StructureTable().decode(b), UnknownStructureError)
    assert.throws(() => decode(b), InvalidTagError)
  })

  it('stops registering at maxShapes and keeps inline keys after that', () => {
    const table = new StructureTable([], { maxShapes: 2 })
    const docs = [{ a: 1 }, { b: 1 }, { c: 1 }, { c: 2 }, { a: 3 }]
    const bytes = docs.map((d) => table.encode(d))
    assert.equal(table.size, 2)
    assert.deepStrictEqual(bytes.map((b) => table.decode(b)), docs)
    assert.deepStrictEqual([...bytes[2]!], [...encode({ c: 1 })])
    assert.equal(bytes[4]!.length, 2)
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]))
    const wideTable = new StructureTable()
    assert.deepStrictEqual(wideTable.decode(wideTable.encode(wide)), wide)
    assert.equal(wideTable.size, 0)
  })

  it('validates persisted shapes and marked ids', () => {
    const bad: unknown[] = [
      [{ id: -1, keys: ['a'] }], [{ id: 1.5, keys: ['a'] }], [{ id: 70000, keys: ['a'] }],
      [{ id: 0, keys: [] }], [{ id: 0, keys: ['a', 'a'] }], [{ id: 0, keys: [1] }],
      [{ id: 0, keys: ['a'] }, { id: 0, keys: ['b'] }], [null]
    ]
    for (const shapes of bad) {
      assert.throws(() => new StructureTable(shapes as Array<{ id: number, keys: string[] }>), CodecError, JSON.stringify(shapes))
    }
    assert.throws(() => new StructureTable().markPersisted([7]), InvalidArgumentError)
    assert.throws(() => new StructureTable([], { maxShapes: -1 }), InvalidArgumentError)
  })

  it('decodes values written with persisted shapes in any key order', () => {
    const table = new StructureTable([{ id: 5, keys: ['z', 'a', '__proto__'] }])
    const v = reversedKeys(JSON.parse('{"a": 1, "z": [2], "__proto__": 3}') as Value)
    const b = table.encode(v)
    assert.deepStrictEqual([...b.subarray(0, 4)], [0xe5, 0xa1, 0x02, 0x01])
    for (let i = 0; i < 20; i++) {
      const out = table.decode(b) as Record<string, Value>
      assert.equal(Object.getPrototypeOf(out), Object.prototype)
      assert.deepStrictEqual(out, v)
    }
  })

  it('mutated and truncated storage bytes give a value or a typed error', () => {
    const table = new StructureTable()
    fc.assert(fc.property(recordsArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
      const b = table.encode(v)
      typedOrValue(() => table.decode(b.subarray(0, at % b.length)))
      const mutated = b.slice()
      mutated[at % b.length] = byte
      typedOrValue(() => table.decode(mutated))
    }), { numRuns: 1500 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => { typedOrValue(() => table.decode(b)) }), { numRuns: 2000 })
  })
})
