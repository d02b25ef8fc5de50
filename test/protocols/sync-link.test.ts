import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import { describeSyncLink } from './describe-sync-link.ts'
import { nodeLink, streamLink } from './sync-links.ts'

let memoryAddresses = 0

describeSyncLink('in-process stream pair', streamLink)
describeSyncLink('libp2p over @libp2p/memory (BlazeNodes)', nodeLink(() => [memory()], () => [`/memory/bm-${process.pid}-${memoryAddresses++}`]))
describeSyncLink('libp2p over TCP on 127.0.0.1 (BlazeNodes)', nodeLink(() => [tcp()], () => ['/ip4/127.0.0.1/tcp/0']))
