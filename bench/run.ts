/**
 * `npm run bench` runs every suite; `npm run bench -- NAME…` runs the named ones.
 * Each suite is `bench/<name>.ts` exporting `run(): Promise<void>`; results go to stdout
 * as JSON lines, progress to stderr.
 */
const suites = ['codec', 'engine', 'sync', 'query', 'hostile', 'floor']
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const unknown = wanted.filter((w) => !suites.includes(w))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark suite(s): ${unknown.join(', ')}; choose from: ${suites.join(', ')}\n`)
  process.exit(2)
}
for (const name of wanted.length > 0 ? wanted : suites) {
  process.stderr.write(`# bench ${name}\n`)
  const mod = await import(`./${name}.ts`) as { run: () => Promise<void> }
  await mod.run()
}
