/** The OpenAPI 3.1 document of the HTTP API (api.ts), served at /v1/openapi.json. */
export function openApiDocument (): Record<string, unknown> {
  const error = { $ref: '#/components/responses/Error' }
  const collection = { name: 'c', in: 'path', required: true, schema: { type: 'string' }, description: 'collection name' }
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'document id' }
  const json = (schema: Record<string, unknown>, description = 'OK'): Record<string, unknown> => ({ description, content: { 'application/json': { schema } } })
  const body = (schema: Record<string, unknown>): Record<string, unknown> => ({ required: true, content: { 'application/json': { schema } } })
  const errors = { 400: error, 401: error, 403: error, 404: error, 413: error }
  const doc = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' } } }
  return {
    openapi: '3.1.0',
    info: { title: 'BlazeDB node', version: '1', description: 'A BlazeDB replica over HTTP. Every route except this document needs `Authorization: Bearer TOKEN` (`blaze token create --data DIR --role reader|writer`); reader tokens may not write.' },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: { type: 'object', required: ['error', 'code'], properties: { error: { type: 'string', description: 'what went wrong and what to do' }, code: { type: 'string', description: 'stable code, e.g. ERR_QUERY, ERR_UNAUTHORIZED' } } } },
      responses: { Error: json({ $ref: '#/components/schemas/Error' }, 'An error') }
    },
    paths: {
      '/v1/status': { get: { summary: 'Replica status', responses: { 200: json({ type: 'object' }), 401: error } } },
      '/v1/collections/{c}/documents': { post: { summary: 'Insert a document; returns its id', parameters: [collection], requestBody: body(doc), responses: { 201: json({ type: 'object', properties: { id: { type: 'string' } } }), 409: error, ...errors } } },
      '/v1/collections/{c}/documents/{id}': {
        get: { summary: 'Read a document', parameters: [collection, id], responses: { 200: json(doc), ...errors } },
        put: { summary: 'Insert or replace the whole document', parameters: [collection, id], requestBody: body(doc), responses: { 200: json({ type: 'object', properties: { id: { type: 'string' } } }), ...errors } },
        patch: { summary: 'Change fields (nested objects merge; null removes a field)', parameters: [collection, id], requestBody: body({ type: 'object' }), responses: { 200: json({ type: 'object' }), ...errors } },
        delete: { summary: 'Delete a document', parameters: [collection, id], responses: { 200: json({ type: 'object', properties: { deleted: { type: 'boolean' } } }), ...errors } }
      },
      '/v1/collections/{c}/query': { post: { summary: 'Find documents: filter, sort, limit, cursor (after), projection (select)', parameters: [collection], requestBody: body({ type: 'object', properties: { filter: { type: 'object' }, sort: { type: 'array' }, limit: { type: 'integer' }, after: { type: 'string' }, select: { type: 'array', items: { type: 'string' } } } }), responses: { 200: json({ type: 'object', properties: { documents: { type: 'array', items: doc }, next: { type: 'string' } } }), ...errors } } },
      '/v1/collections/{c}/aggregate': { post: { summary: 'count/sum/avg/min/max, optionally per group', parameters: [collection], requestBody: body({ type: 'object', properties: { groupBy: {}, aggregates: { type: 'object' }, filter: { type: 'object' } } }), responses: { 200: json({ type: 'object', properties: { rows: { type: 'array' } } }), ...errors } } },
      '/v1/collections/{c}/search': { post: { summary: 'Full-text search (BM25)', parameters: [collection], requestBody: body({ type: 'object', required: ['query'], properties: { query: { type: 'string' }, limit: { type: 'integer' }, filter: { type: 'object' }, fields: { type: 'array', items: { type: 'string' } } } }), responses: { 200: json({ type: 'object', properties: { hits: { type: 'array' } } }), ...errors } } },
      '/v1/collections/{c}/live': { get: { summary: 'A live query as Server-Sent Events: `event: result` with { documents } now and on every change of the results', parameters: [collection, { name: 'filter', in: 'query', schema: { type: 'string' }, description: 'JSON filter' }, { name: 'sort', in: 'query', schema: { type: 'string' } }, { name: 'limit', in: 'query', schema: { type: 'string' } }], responses: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors } } },
      '/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: json({ type: 'object' }) } } }
    }
  }
}
