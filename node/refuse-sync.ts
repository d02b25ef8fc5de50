/**
 * Telling a non-member why it may not sync, in the sync protocol's own words: an ERROR frame
 * (NOT_A_MEMBER, or WRONG_DATABASE when its HELLO names another database), then the stream
 * closes. The opener of the stream sends a HELLO with an empty version vector first (so two
 * nodes that refuse each other both learn the other's database); nothing about the data is
 * revealed. One frame is read, capped at `MAX_HELLO_BYTES`, within `timeoutMs`.
 */
import type { Stream } from '@libp2p/interface'
import { FrameDecoder, type Frame } from '../engine/codec/index.ts'
import { ERROR_CODES, FRAME, VERSION } from '../protocols/sync/index.ts'
import { decodeError, decodeHello, encodeError, encodeHello } from '../protocols/sync/messages.ts'

const MAX_HELLO_BYTES = 64 * 1024

export const NOT_A_MEMBER_MESSAGE = 'not a member of this database: ask a member to run `blaze pair`, then `blaze join` with the code it prints'

export function wrongDatabaseMessage (ours: string, theirs: string): string {
  return `you are on another database (${theirs}); this node holds database ${ours}: to join it, ask one of its members to run \`blaze pair\` and use \`blaze join\` in an empty data directory`
}

export type RefusalOutcome =
  | { said: 'not-a-member' }
  | { said: 'wrong-database', theirDb: string }
  | { heard: string, code: string }
  | { said: 'nothing', why: string }

async function firstFrame (stream: Stream, timeoutMs: number): Promise<Frame | undefined> {
  const decoder = new FrameDecoder({ maxPayloadBytes: MAX_HELLO_BYTES })
  const signal = AbortSignal.timeout(timeoutMs)
  const iterator = stream[Symbol.asyncIterator]()
  const timeout = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }))
  for (;;) {
    const read = iterator.next()
    read.catch(() => {}) // may fail after the timeout won, when the stream is aborted
    const next = await Promise.race([read, timeout])
    if (next === undefined || next.done === true) return undefined
    const [frame] = decoder.push(next.value.subarray())
    if (frame !== undefined) return frame
  }
}

export async function refuseSync (stream: Stream, options: { dbId: string, opener: boolean, timeoutMs?: number }): Promise<RefusalOutcome> {
  let outcome: RefusalOutcome = { said: 'nothing', why: 'no HELLO' }
  try {
    if (options.opener) stream.send(encodeHello({ v: VERSION, db: Buffer.from(options.dbId, 'hex'), vv: {} }))
    const frame = await firstFrame(stream, options.timeoutMs ?? 5_000)
    if (frame?.type === FRAME.error) {
      const { code, message } = decodeError(frame.payload)
      outcome = { heard: message, code }
    } else {
      let theirDb: string | undefined
      if (frame?.type === FRAME.hello) {
        try { theirDb = Buffer.from(decodeHello(frame.payload).db).toString('hex') } catch {}
      }
      if (theirDb !== undefined && theirDb !== options.dbId) {
        stream.send(encodeError(ERROR_CODES.wrongDatabase, wrongDatabaseMessage(options.dbId, theirDb)))
        outcome = { said: 'wrong-database', theirDb }
      } else {
        stream.send(encodeError(ERROR_CODES.notAMember, NOT_A_MEMBER_MESSAGE))
        outcome = { said: 'not-a-member' }
      }
    }
    await stream.close({ signal: AbortSignal.timeout(1_000) })
  } catch (error) {
    stream.abort(error as Error)
    if ('said' in outcome && outcome.said === 'nothing') outcome = { said: 'nothing', why: (error as Error).message }
  }
  return outcome
}
