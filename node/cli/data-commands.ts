/**
 * Documents from the command line: put, get, find, update, delete, aggregate, search, and
 * index create. Through the running node's API when one runs (so writes replicate at once),
 * on the database directly otherwise. Results are JSON: one document per line for lists.
 */
import { Option, type Command } from 'commander'
import type { AggregateSpec, Filter } from '../../engine/index.ts'
import { CliError, collect, dataDir, positiveNumber, printJson, progressBar, readObject, withNodeOrDb } from './context.ts'

const enc = encodeURIComponent

/** `--sort votes --sort -created` → [{ path: 'votes' }, { path: 'created', dir: 'desc' }] */
function sortOf (fields: string[]): Array<{ path: string, dir: 'asc' | 'desc' }> {
  return fields.map((f) => f.startsWith('-') ? { path: f.slice(1), dir: 'desc' } : { path: f, dir: 'asc' })
}

export function addDataCommands (program: Command): void {
  program.command('put')
    .description('insert or replace a document; prints its id')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<json>', 'the document as JSON, - (stdin) or @file')
    .action(async (collection: string, json: string, opts: { data?: string }) => {
      const doc = readObject(json, 'the document')
      const id = await withNodeOrDb(dataDir(opts),
        async (api) => typeof doc.id === 'string'
          ? (await api('PUT', `/v1/collections/${enc(collection)}/documents/${enc(doc.id)}`, doc) as { id: string }).id
          : (await api('POST', `/v1/collections/${enc(collection)}/documents`, doc) as { id: string }).id,
        async (db) => await db.collection(collection).put(doc))
      process.stdout.write(id + '\n')
    })

  program.command('get')
    .description('print a document as JSON (exit 1 if absent)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<id>')
    .action(async (collection: string, id: string, opts: { data?: string }) => {
      const doc = await withNodeOrDb(dataDir(opts),
        async (api) => {
          try {
            return await api('GET', `/v1/collections/${enc(collection)}/documents/${enc(id)}`)
          } catch (error) {
            if (error instanceof CliError && error.message.includes('[ERR_NOT_FOUND]')) return undefined
            throw error
          }
        },
        (db) => db.collection(collection).get(id))
      if (doc === undefined) throw new CliError(`${collection}/${id} not found`)
      printJson(doc)
    })

  program.command('find')
    .description('print the documents matching a filter, one JSON document per line')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('[filter]', 'a filter as JSON (e.g. \'{"status":"open","votes":{"gte":3}}\'), - or @file', '{}')
    .option('--sort <field>', 'sort by a field; -field for descending (repeatable)', collect, [])
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveNumber('--limit')))
    .option('--select <fields>', 'only these fields, comma-separated')
    .action(async (collection: string, filterArg: string, opts: { data?: string, sort: string[], limit?: number, select?: string }) => {
      const filter = readObject(filterArg, 'the filter') as Filter
      const options = {
        ...(opts.sort.length === 0 ? {} : { sort: sortOf(opts.sort) }),
        ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        ...(opts.select === undefined ? {} : { select: opts.select.split(',').map((s) => s.trim()).filter((s) => s !== '') })
      }
      const docs = await withNodeOrDb(dataDir(opts),
        async (api) => {
          const out: unknown[] = []
          let after: string | undefined
          do {
            const page = await api('POST', `/v1/collections/${enc(collection)}/query`, { filter, ...options, ...(after === undefined ? {} : { after }) }) as { documents: unknown[], next?: string }
            out.push(...page.documents)
            after = page.next
          } while (after !== undefined && (opts.limit === undefined || out.length < opts.limit))
          return out
        },
        (db) => db.collection(collection).find(filter, options))
      for (const d of docs) printJson(d)
    })

  program.command('update')
    .description('change fields of a document (nested objects merge; null removes a field)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<id>')
    .argument('<patch>', 'the fields as JSON, - or @file')
    .action(async (collection: string, id: string, patchArg: string, opts: { data?: string }) => {
      const patch = readObject(patchArg, 'the patch')
      await withNodeOrDb(dataDir(opts),
        async (api) => { await api('PATCH', `/v1/collections/${enc(collection)}/documents/${enc(id)}`, patch) },
        async (db) => { await db.collection(collection).update(id, nullsRemove(patch) as Record<string, unknown>) })
      printJson({ id })
    })

  program.command('delete')
    .description('delete a document; prints whether it existed')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<id>')
    .action(async (collection: string, id: string, opts: { data?: string }) => {
      const deleted = await withNodeOrDb(dataDir(opts),
        async (api) => (await api('DELETE', `/v1/collections/${enc(collection)}/documents/${enc(id)}`) as { deleted: boolean }).deleted,
        async (db) => await db.collection(collection).delete(id))
      printJson({ id, deleted })
    })

  program.command('aggregate')
    .description('count/sum/avg/min/max, optionally per group; one JSON row per line')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<spec>', 'e.g. \'{"groupBy":"status","aggregates":{"n":{"count":true}}}\', - or @file')
    .action(async (collection: string, specArg: string, opts: { data?: string }) => {
      const spec = readObject(specArg, 'the aggregation') as unknown as AggregateSpec
      const rows = await withNodeOrDb(dataDir(opts),
        async (api) => (await api('POST', `/v1/collections/${enc(collection)}/aggregate`, spec) as { rows: unknown[] }).rows,
        (db) => db.collection(collection).aggregate(spec))
      for (const r of rows) printJson(r)
    })

  program.command('search')
    .description('full-text search, best first; one { document, score } per line')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<text>', 'the words to find')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(positiveNumber('--limit')))
    .option('--fields <fields>', 'search these fields by scanning (comma-separated), instead of the search index')
    .action(async (collection: string, text: string, opts: { data?: string, limit?: number, fields?: string }) => {
      const options = { ...(opts.limit === undefined ? {} : { limit: opts.limit }), ...(opts.fields === undefined ? {} : { fields: opts.fields.split(',').map((f) => f.trim()) }) }
      const hits = await withNodeOrDb(dataDir(opts),
        async (api) => (await api('POST', `/v1/collections/${enc(collection)}/search`, { query: text, ...options }) as { hits: unknown[] }).hits,
        (db) => db.collection(collection).search(text, options).map((h) => ({ document: h.doc, score: h.score })))
      for (const h of hits) printJson(h)
    })

  const index = program.command('index').description('this replica\'s indexes')
  index.command('create')
    .description('declare an index on one or more fields (built now, with progress)')
    .option('--data <dir>', 'data directory (default: $BLAZE_DATA)')
    .argument('<collection>')
    .argument('<fields...>', 'field paths, e.g. status owner.name')
    .option('--name <name>', 'the index name (default: the fields joined with +)')
    .action(async (collection: string, fields: string[], opts: { data?: string, name?: string }) => {
      const done = await withNodeOrDb(dataDir(opts),
        async (api) => await api('POST', '/v1/indexes', { collection, fields, ...(opts.name === undefined ? {} : { name: opts.name }) }),
        async (db) => {
          const bar = progressBar(`indexing ${collection}`)
          try {
            await db.collection(collection).createIndex(fields, { ...(opts.name === undefined ? {} : { name: opts.name }), onProgress: bar.update })
          } finally {
            bar.stop()
          }
          return { collection, name: opts.name ?? fields.join('+'), fields }
        })
      printJson(done)
    })
}

function nullsRemove (v: unknown): unknown {
  if (v === null) return undefined
  if (typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, nullsRemove(x)]))
  return v
}
