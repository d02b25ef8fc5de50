#!/usr/bin/env node
// The `blaze` command: the TypeScript source in a checkout of the project (run by its pinned
// Node), the JavaScript built into dist/ in an installed package.
import { existsSync } from 'node:fs'

const source = new URL('../node/cli/blaze.ts', import.meta.url)
await import(existsSync(source) ? source.href : new URL('../dist/node/cli/blaze.js', import.meta.url).href)
