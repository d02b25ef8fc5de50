import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './engine/helpers.ts'
import { runCommand } from './engine/process.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

const run = (cmd: string, args: string[], cwd: string): ReturnType<typeof runCommand> => runCommand(cmd, args, { cwd })

const program = `
import { open } from 'blazedb'
import { createNode } from 'blazedb/node'
const db = await open({ path: process.argv[2] })
const id = await db.collection('notes').insert({ text: 'from the package' })
const node = await createNode({ db, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
console.log(JSON.stringify({ text: db.collection('notes').get(id).text, peerId: node.peerId, listening: node.multiaddrs().length > 0 }))
await node.stop()
await db.close()
`

const typed = `
import { open, type Database, type Document } from 'blazedb'
import { createNode, type BlazeNode } from 'blazedb/node'
const db: Database = await open()
const doc: Document | undefined = db.collection('notes').get('x')
const node: BlazeNode = await createNode({ db })
export { doc, node }
`

describe('the package, installed as a user would', function () {
  this.timeout(300_000)

  it('npm pack, installed into a fresh project: imports with types, runs a program and the blaze bin', async () => {
    const dir = tempDir()
    try {
      const packed = await run('npm', ['pack', '--pack-destination', dir.path], root)
      assert.equal(packed.code, 0, packed.stderr)
      const tarball = join(dir.path, packed.stdout.trim().split('\n').pop()!)
      assert.ok(existsSync(tarball), tarball)
      const app = join(dir.path, 'app')
      mkdirSync(app)
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
      const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app)
      assert.equal(installed.code, 0, installed.stderr)
      // the sources are not shipped: what runs is the built JavaScript
      assert.equal(existsSync(join(app, 'node_modules', 'blazedb', 'engine')), false)

      writeFileSync(join(app, 'main.js'), program)
      const ran = await run(process.execPath, ['main.js', join(app, 'data')], app)
      assert.equal(ran.code, 0, ran.stderr)
      const out = JSON.parse(ran.stdout) as { text: string, peerId: string, listening: boolean }
      assert.equal(out.text, 'from the package')
      assert.ok(out.listening)

      const init = await run(process.execPath, [join(app, 'node_modules', '.bin', 'blaze'), 'init', '--data', join(app, 'cli')], app)
      assert.equal(init.code, 0, init.stderr)
      const ids = JSON.parse(init.stdout) as { dbId: string }
      const version = await run(process.execPath, [join(app, 'node_modules', '.bin', 'blaze'), '--version'], app)
      assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version)
      const id = await run(process.execPath, [join(app, 'node_modules', '.bin', 'blaze'), 'id', '--data', join(app, 'cli')], app)
      assert.equal((JSON.parse(id.stdout) as { dbId: string }).dbId, ids.dbId)

      // installed globally (into a prefix of its own), the bin runs from PATH on a Node ≥ 22
      const global = join(dir.path, 'global')
      const globalInstall = await run('npm', ['install', '--global', '--prefix', global, '--no-audit', '--no-fund', '--prefer-offline', tarball], dir.path)
      assert.equal(globalInstall.code, 0, globalInstall.stderr)
      const onPath = await runCommand('blaze', ['init', '--data', join(dir.path, 'global-data')], { cwd: dir.path, env: { ...process.env, PATH: [join(global, 'bin'), dirname(process.execPath), process.env.PATH].join(':') } })
      assert.equal(onPath.code, 0, onPath.stderr)
      assert.match((JSON.parse(onPath.stdout) as { dbId: string }).dbId, /^[0-9a-f]{32}$/)

      writeFileSync(join(app, 'typed.ts'), typed)
      const checked = await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2024', '--skipLibCheck', 'typed.ts'], app)
      assert.equal(checked.code, 0, checked.stdout + checked.stderr)
    } finally {
      dir.cleanup()
    }
  })
})
