import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runScript } from './engine/process.ts'

describe('examples', function () {
  this.timeout(60_000)
  it('the README API example runs and its replica converges', async () => {
    const run = await runScript(fileURLToPath(new URL('../examples/readme.ts', import.meta.url)), [])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /same state: true/)
  })
})
