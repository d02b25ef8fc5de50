#!/usr/bin/env node
// The `blaze` command: the TypeScript source in a checkout of the project, the JavaScript
// built into dist/ in an installed package. BlazeDB needs Node.js ≥ 22 (libp2p 3.x resets
// connections on Node 20): on an older Node, a checkout re-runs itself on the Node it pins
// (node_modules/.bin/node), so `npm exec --prefix CHECKOUT -- blaze …` works from any directory.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const pinned = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url))
  if (!existsSync(pinned)) {
    process.stderr.write(`blaze: BlazeDB needs Node.js 22 or later (libp2p 3.x resets connections on older ones); this is Node ${process.versions.node}: install a newer Node and run blaze again\n`)
    process.exit(1)
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  // the one who started us gone (npx killed): stop the real blaze too
  const parent = process.ppid
  const watch = setInterval(() => { if (process.ppid !== parent) child.kill('SIGTERM') }, 1000)
  watch.unref()
  child.on('exit', (code, signal) => { process.exit(code ?? (signal === null ? 1 : 128)) })
} else {
  const source = new URL('../node/cli/blaze.ts', import.meta.url)
  await import(existsSync(source) ? source.href : new URL('../dist/node/cli/blaze.js', import.meta.url).href)
}
