/**
 * Text → tokens, the same way for documents and queries, so whatever folding happens here
 * can never make a document unreachable by its own words.
 *
 * 1. NFKD, so compatibility forms fold (`ﬁ` → `fi`, `²` → `2`, half-width kana → kana) and
 *    accented letters split into base letter + combining mark.
 * 2. Lowercase (`toLowerCase`, locale-independent), and final sigma `ς` → `σ`.
 * 3. Drop nonspacing and enclosing marks (`\p{Mn}`, `\p{Me}`: accents, Arabic harakat,
 *    Hebrew niqqud, kana voicing marks) and format characters (`\p{Cf}`: soft hyphens,
 *    zero-width joiners), so `café` matches `cafe` and `co\u00ADop` matches `coop`.
 *    Spacing marks (`\p{Mc}`, the vowel signs of Indic scripts) stay, inside the word.
 * 4. NFC, so Hangul jamo recompose into syllables.
 * 5. Split on every run of characters that are not letters, digits or marks: punctuation,
 *    spaces, symbols and emoji separate words and are never tokens themselves. Scripts
 *    written without spaces (CJK) come out as one token per run of letters.
 * 6. Cap each token at `MAX_TOKEN_LENGTH` code points (a longer run is cut, not dropped, so
 *    a pasted long word in a query still finds itself).
 *
 * No stemming: it is language-specific (an English stemmer mangles every other language),
 * and its conflations (`university` ~ `universe`) surprise users; the search-as-you-type
 * prefix on the last query term covers most of what stemming buys, predictably.
 * No case folding beyond `toLowerCase` (`straße` does not match `strasse`).
 */

/** The longest token, in code points. */
export const MAX_TOKEN_LENGTH = 64

export interface TokenizeOptions {
  /**
   * Tokens to drop, in normalized form (lowercase, without accents). Default: none.
   * `ENGLISH_STOP_WORDS` is a small list for English text.
   */
  readonly stopWords?: ReadonlySet<string> | undefined
}

/** Frequent English function words, for `stopWords`. Deliberately short: no content words. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is',
  'it', 'no', 'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there',
  'these', 'they', 'this', 'to', 'was', 'will', 'with'
])

const DROPPED = /[\p{Mn}\p{Me}\p{Cf}]+/gu
const SEPARATORS = /[^\p{L}\p{N}\p{M}]+/u

/** The folded form of a text (steps 1–4), before it is split into tokens. */
export function normalizeText (text: string): string {
  return text.normalize('NFKD').toLowerCase().replace(DROPPED, '').replaceAll('ς', 'σ').normalize('NFC')
}

/** The tokens of a text, in order, repeats kept (their count is the term frequency). */
export function tokenize (text: string, options: TokenizeOptions = {}): string[] {
  const stop = options.stopWords
  const tokens: string[] = []
  for (const piece of normalizeText(text).split(SEPARATORS)) {
    if (piece.length === 0) continue
    const token = capLength(piece)
    if (stop === undefined || !stop.has(token)) tokens.push(token)
  }
  return tokens
}

function capLength (token: string): string {
  // a code point takes at most two code units, so a short string needs no counting
  if (token.length <= MAX_TOKEN_LENGTH) return token
  let units = 0
  let points = 0
  for (const ch of token) {
    if (points === MAX_TOKEN_LENGTH) return token.slice(0, units)
    units += ch.length
    points++
  }
  return token
}
