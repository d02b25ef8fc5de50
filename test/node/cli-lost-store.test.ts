import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { tempDir } from '../engine/helpers.ts'
import { runScript } from '../engine/process.ts'

const blaze = fileURLToPath(new URL('../../node/cli/blaze.ts', import.meta.url))

describe('blaze CLI: a data directory that lost its store', function () {
  this.timeout(60_000)

  it('every command says the store is missing and what to do; none creates a new database', async () => {
    const dir = tempDir()
    try {
      const data = join(dir.path, 'laptop')
      const init = await runScript(blaze, ['init', '--data', data])
      assert.equal(init.code, 0, init.stderr)
      const { dbId } = JSON.parse(init.stdout) as { dbId: string }
      rmSync(join(data, 'db'), { recursive: true })
      for (const args of [['id', '--data', data], ['status', '--data', data], ['get', '--data', data, 'notes', 'x'], ['put', '--data', data, 'notes', '{"a":1}'], ['start', '--data', data, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']]) {
        const run = await runScript(blaze, args)
        assert.equal(run.code, 1, `${args[0]!}: ${run.stdout}`)
        assert.match(run.stderr, /ERR_STORE_MISSING/)
        assert.match(run.stderr, new RegExp(dbId))
        assert.match(run.stderr, /backup/)
      }
      assert.equal(existsSync(join(data, 'db')), false)
    } finally {
      dir.cleanup()
    }
  })
})
