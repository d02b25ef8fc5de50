/**
 * Version vectors: for each author (peer id), the highest seq held contiguously from 1.
 */
import type { PeerIdString } from '../crypto/identity.ts'

export type VersionVector = Record<PeerIdString, number>

/** Whether `a` has everything `b` has. */
export function covers (a: VersionVector, b: VersionVector): boolean {
  for (const [author, seq] of Object.entries(b) as [PeerIdString, number][]) {
    if ((a[author] ?? 0) < seq) return false
  }
  return true
}

export function mergeVectors (a: VersionVector, b: VersionVector): VersionVector {
  const out: VersionVector = { ...a }
  for (const [author, seq] of Object.entries(b) as [PeerIdString, number][]) {
    if ((out[author] ?? 0) < seq) out[author] = seq
  }
  return out
}
