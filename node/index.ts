/**
 * The mesh node, for apps and for tests that simulate clusters: everything `blaze start`
 * does, from code.
 *
 * @example
 * import { open } from 'blazedb'
 * import { createNode } from 'blazedb/node'
 * const db = await open({ path: './laptop' })
 * const node = await createNode({ db, listen: ['/ip4/127.0.0.1/tcp/0'] })
 * console.log(node.peerId, node.multiaddrs())
 * const { code, joined } = node.pair({ role: 'writer' })  // show `code` on this device;
 * // on the new one: await joinDatabase({ code, dataDir: './phone' }), then open and createNode
 * await node.stop()
 * await db.close()
 */
import { BlazeNode, type BlazeNodeOptions } from './blaze-node.ts'

export { BlazeNode }
export type { BlazeNodeOptions, NodeStats } from './blaze-node.ts'
export { NoRouteError } from './errors.ts'
export { joinDatabase } from './join.ts'
export type { JoinOptions, Joined } from './join.ts'
export type { PairOptions } from './pairing.ts'
export type { PairingOffer } from '../protocols/pair/index.ts'
export { PairingNotAllowedError, AlreadyJoinedError, NoPairingPeerError, InvalidNodeArgumentError } from './errors.ts'
export {
  PairingError, WrongPairingCodeError, PairingExpiredError, PairingCodeUsedError, PairingClosedError,
  NotPairingError, PairingRateLimitedError, PairingProtocolError, InvalidPairingCodeError
} from '../protocols/pair/index.ts'

/** Starts a mesh node on an open database (see BlazeNodeOptions for listen, bootstrap, mDNS…). */
export async function createNode (options: BlazeNodeOptions): Promise<BlazeNode> {
  return await BlazeNode.start(options)
}
