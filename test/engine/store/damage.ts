/**
 * Damage for the LMDB file tests: where the structures of a data.mdb lie, and a fixed list
 * of single-byte flips over them (meta pages, B-tree page headers and node pointers,
 * values, overflow pages, seeded random positions).
 */

export interface Damage {
  /** what was hit, e.g. "meta1.txnid", "leaf.node-pointer", "random(leaf)" */
  kind: string
  /** B-tree structure (branch pages; leaf headers, node pointers and node headers), which LMDB follows unchecked */
  structural: boolean
  position: number
  xor: number
}

const P_BRANCH = 0x01
const P_LEAF = 0x02
const P_OVERFLOW = 0x04
const P_META = 0x08

/** byte offsets in a meta page: the 24-byte page header, then MDB_meta (see engine/store/lmdb-files.ts) */
const META_FIELDS = { magic: 24, version: 28, pageSize: 48, flags: 52, freeRoot: 88, mainDepth: 102, mainRoot: 136, txnid: 152 }

function pageType (file: Buffer, page: number, pageSize: number): string {
  const flags = file.readUInt16LE(page * pageSize + 18)
  if ((flags & P_META) !== 0) return 'meta'
  if ((flags & P_BRANCH) !== 0) return 'branch'
  if ((flags & P_LEAF) !== 0) return 'leaf'
  if ((flags & P_OVERFLOW) !== 0) return 'overflow'
  return 'free'
}

/**
 * Page layout (mdb.c): a 24-byte header (pgno, txnid, pad, flags, lower at 20, upper at 22),
 * then `lower / 2` node offsets; offsets, lower and upper count from the end of the header.
 * A node: lo, hi, flags, ksize (2 bytes each), key, data; a branch node's lo, hi and flags
 * hold its child's page number.
 */
const HEADER = 24

function nodeAt (file: Buffer, page: number, i: number, pageSize: number): number {
  const base = page * pageSize
  return base + HEADER + file.readUInt16LE(base + HEADER + 2 * i)
}

function nodeCount (file: Buffer, page: number, pageSize: number): number {
  return file.readUInt16LE(page * pageSize + 20) >> 1
}

function children (file: Buffer, page: number, pageSize: number): number[] {
  return Array.from({ length: nodeCount(file, page, pageSize) }, (_, i) => {
    const node = nodeAt(file, page, i, pageSize)
    return file.readUInt16LE(node) + file.readUInt16LE(node + 2) * 0x10000 + file.readUInt16LE(node + 4) * 0x100000000
  })
}

/** Header, node pointers and node headers of a B-tree page: what LMDB follows unchecked. */
function structuralAt (file: Buffer, page: number, offset: number, pageSize: number): boolean {
  if (offset < HEADER + file.readUInt16LE(page * pageSize + 20)) return true
  for (let i = 0; i < nodeCount(file, page, pageSize); i++) {
    const node = nodeAt(file, page, i, pageSize) - page * pageSize
    if (offset >= node && offset < node + 8) return true
  }
  return false
}

/**
 * Flips to apply, chosen from the layout of an unencrypted `plain` file (an encrypted one
 * written by the same operations has the same layout; only the bytes after each page's
 * first 16 are enciphered, with those 16 as the nonce).
 */
export function damageCases (plain: Buffer, encrypted: boolean, pageSize = 4096): Damage[] {
  const cases: Damage[] = []
  const add = (kind: string, structural: boolean, position: number, xor: number): void => { cases.push({ kind, structural, position, xor }) }
  const t0 = plain.readBigUInt64LE(META_FIELDS.txnid)
  const t1 = plain.readBigUInt64LE(pageSize + META_FIELDS.txnid)
  const current = t0 > t1 ? 0 : 1
  // The newest meta page is the one LMDB reads; the other must still agree with it.
  const metaFields: Record<string, Array<keyof typeof META_FIELDS>> = {
    'meta(newest)': ['magic', 'version', 'pageSize', 'flags', 'txnid', 'mainRoot', 'freeRoot', 'mainDepth'],
    'meta(previous)': ['version', 'flags', 'txnid', 'mainRoot']
  }
  for (const [name, fields] of Object.entries(metaFields)) {
    const page = name === 'meta(newest)' ? current : 1 - current
    // Encrypted, the root page's type cannot be read before LMDB opens the file, so a root
    // pointer moved to another page of the same commit goes unnoticed (see lmdb-files.ts).
    for (const field of fields) add(`${name}.${field}`, encrypted && field === 'mainRoot' && page === current, page * pageSize + META_FIELDS[field], 0x01)
    add(`${name}.txnid`, false, page * pageSize + META_FIELDS.txnid, 0x02)
  }
  const root = Number(plain.readBigUInt64LE(current * pageSize + META_FIELDS.mainRoot))
  if (pageType(plain, root, pageSize) !== 'branch') throw new Error('the test database should have a branch page at its root')
  const header = (kind: string, page: number, fields: string[]): void => {
    const at = page * pageSize
    const where: Record<string, [number, number]> = { pgno: [0, 0x01], txnid: [8, 0x01], flags: [18, 0x01], lower: [20, 0x40], 'node-pointer': [24, 0x01], 'node-pointer-2': [26, 0x40] }
    for (const field of fields) add(`${kind}.${field.replace('-2', '')}`, true, at + where[field]![0], where[field]![1])
  }
  header('branch', root, ['pgno', 'flags', 'lower', 'node-pointer'])
  add('branch.child-pgno', true, nodeAt(plain, root, 1, pageSize), 0x01)
  add('branch.separator-key', true, root * pageSize + pageSize - 2, 0x10)
  const leaves = children(plain, root, pageSize)
  const leaf = leaves[Math.floor(leaves.length / 2)]!
  header('leaf', leaf, ['pgno', 'txnid', 'flags', 'lower', 'node-pointer', 'node-pointer-2'])
  const firstNode = nodeAt(plain, leaf, 0, pageSize)
  add('leaf.node-key-size', true, firstNode + 6, 0x01)
  // a key is checked by its value's CRC when read, but also steers binary search, unchecked
  add('leaf.key', true, firstNode + 9, 0x04)
  const value = firstNode + 8 + plain.readUInt16LE(firstNode + 6)
  add('leaf.value', false, value + 3, 0x10)
  add('leaf.value', false, value + 40, 0x80)
  const pages = Math.floor(plain.length / pageSize)
  const overflow = Array.from({ length: pages }, (_, p) => p).find((p) => pageType(plain, p, pageSize) === 'overflow')
  if (overflow !== undefined) {
    add('overflow.txnid', false, overflow * pageSize + 8, 0x01)
    add('overflow.value', false, overflow * pageSize + 1000, 0x04)
  }
  let x = 0x2545f491
  for (let i = 0; i < 4; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    const position = 2 * pageSize + ((x >>> 0) % (plain.length - 2 * pageSize))
    const page = Math.floor(position / pageSize)
    const type = pageType(plain, page, pageSize)
    const offset = position % pageSize
    const structural = (type === 'leaf' || type === 'branch') && (structuralAt(plain, page, offset, pageSize) || (encrypted && offset < 16))
    add(`random(${type})`, structural, position, 0x20)
  }
  return cases
}

/** the child-process runner shared by all tests */
export { runScript as runNode } from '../process.ts'
export type RunResult = Awaited<ReturnType<typeof import('../process.ts').runScript>>

/** Runs `work` over `items`, at most `limit` at a time. */
export async function pool<T, R> (items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
