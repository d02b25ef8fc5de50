/**
 * Bearer tokens for the HTTP API, kept hashed in `DIR/tokens.json` (mode 0600): a token is
 * shown once, when created (`blaze token create --data DIR --role reader|writer`), and can be
 * revoked by its id. A running node sees tokens created or revoked meanwhile (the file is
 * re-read when it changes).
 *
 * Token format: `blz_<id: 8 hex>_<secret: 32 bytes, base64url>`; stored: id, role, SHA-256 of
 * the secret, creation time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../engine/data-dir.ts'
import { CorruptionError, InvalidArgumentError, NotFoundError } from '../../engine/errors.ts'

export type TokenRole = 'reader' | 'writer' | 'admin'
export const TOKEN_ROLES: readonly TokenRole[] = ['reader', 'writer', 'admin']

export interface TokenRecord { id: string, role: TokenRole, hash: string, created: number, name?: string }

const FILE = 'tokens.json'

export class TokenStore {
  readonly #path: string
  #cache: { mtimeMs: number, size: number, tokens: TokenRecord[] } | undefined

  constructor (dataDir: string) { this.#path = join(dataDir, FILE) }

  /** Creates a token; the returned `token` is the only time its secret is seen. */
  create (role: TokenRole, options: { name?: string, random?: (n: number) => Uint8Array, now?: () => number } = {}): { id: string, role: TokenRole, token: string } {
    if (!TOKEN_ROLES.includes(role)) throw new InvalidArgumentError(`a token's role is one of ${TOKEN_ROLES.join(', ')}, got ${JSON.stringify(role)}`)
    const random = options.random ?? ((n: number) => randomBytes(n))
    const id = Buffer.from(random(4)).toString('hex')
    const secret = Buffer.from(random(32)).toString('base64url')
    const record: TokenRecord = { id, role, hash: hashOf(secret), created: (options.now ?? Date.now)(), ...(options.name === undefined ? {} : { name: options.name }) }
    this.#write([...this.list(), record])
    return { id, role, token: `blz_${id}_${secret}` }
  }

  /** Revokes a token by its id (or the token itself); throws NotFoundError when there is none. */
  revoke (idOrToken: string): void {
    const id = /^blz_([0-9a-f]{8})_/.exec(idOrToken)?.[1] ?? idOrToken
    const tokens = this.list()
    if (!tokens.some((t) => t.id === id)) throw new NotFoundError(`no token with id ${id}; \`blaze token list --data DIR\` shows the ids`)
    this.#write(tokens.filter((t) => t.id !== id))
  }

  /** Every token (without secrets). */
  list (): TokenRecord[] {
    if (!existsSync(this.#path)) return []
    const st = statSync(this.#path)
    if (this.#cache?.mtimeMs === st.mtimeMs && this.#cache.size === st.size) return this.#cache.tokens
    let tokens: TokenRecord[]
    try {
      tokens = (JSON.parse(readFileSync(this.#path, 'utf8')) as { version: number, tokens: TokenRecord[] }).tokens
      if (!Array.isArray(tokens)) throw new Error('no token list')
    } catch (cause) {
      throw new CorruptionError(`${this.#path} is damaged; delete it and create the tokens again with blaze token create`, { cause })
    }
    this.#cache = { mtimeMs: st.mtimeMs, size: st.size, tokens }
    return tokens
  }

  /** The record of a presented token, or undefined (unknown, revoked, malformed). */
  verify (token: string): TokenRecord | undefined {
    const m = /^blz_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/.exec(token)
    if (m === null) return undefined
    const record = this.list().find((t) => t.id === m[1])
    if (record === undefined) return undefined
    const want = Buffer.from(record.hash, 'hex')
    const got = Buffer.from(hashOf(m[2]!), 'hex')
    return want.length === got.length && timingSafeEqual(want, got) ? record : undefined
  }

  #write (tokens: TokenRecord[]): void {
    writeFileAtomic(this.#path, JSON.stringify({ version: 1, tokens }, null, 2) + '\n', 0o600)
    this.#cache = undefined
  }
}

function hashOf (secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
