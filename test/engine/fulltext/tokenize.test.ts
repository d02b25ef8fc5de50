import assert from 'node:assert/strict'
import { ENGLISH_STOP_WORDS, MAX_TOKEN_LENGTH, tokenize } from '../../../engine/fulltext/index.ts'

describe('fulltext: tokenize', () => {
  it('lowercases and folds accents, so café matches cafe', () => {
    assert.deepEqual(tokenize('Café CAFÉ cafe Crème Brûlée'), ['cafe', 'cafe', 'cafe', 'creme', 'brulee'])
    assert.deepEqual(tokenize('İstanbul Ångström naïve'), ['istanbul', 'angstrom', 'naive'])
    assert.deepEqual(tokenize('ΟΔΟΣ οδος'), ['οδοσ', 'οδοσ']) // final sigma folds
  })

  it('folds compatibility forms: ligatures, superscripts, full-width letters', () => {
    assert.deepEqual(tokenize('ﬁne x² ＡＢＣ'), ['fine', 'x2', 'abc'])
  })

  it('splits on punctuation, spaces and symbols, and drops empty tokens', () => {
    assert.deepEqual(tokenize("Hello, world! It's 2024-05-01... (really?)"), ['hello', 'world', 'it', 's', '2024', '05', '01', 'really'])
    assert.deepEqual(tokenize(''), [])
    assert.deepEqual(tokenize('  ...!!! --- \n\t'), [])
    assert.deepEqual(tokenize('a_b a+b a/b'), ['a', 'b', 'a', 'b', 'a', 'b'])
  })

  it('keeps numbers and mixed letters and digits as tokens', () => {
    assert.deepEqual(tokenize('v2 3.14 1,000 mp3 ٤٢'), ['v2', '3', '14', '1', '000', 'mp3', '٤٢'])
  })

  it('keeps runs of CJK letters as tokens, and Hangul as syllables', () => {
    assert.deepEqual(tokenize('東京タワー is tall'), ['東京タワー', 'is', 'tall'])
    assert.deepEqual(tokenize('我爱北京，天安门。'), ['我爱北京', '天安门'])
    assert.deepEqual(tokenize('한국어 텍스트'), ['한국어', '텍스트'])
  })

  it('keeps Indic words whole (spacing vowel signs are part of the word)', () => {
    assert.equal(tokenize('हिन्दी भाषा').length, 2)
  })

  it('drops emoji, skin tones, joiners and variation selectors', () => {
    assert.deepEqual(tokenize('I ❤️ 🍕 👍🏽 👨‍👩‍👧 pizza🍕party'), ['i', 'pizza', 'party'])
  })

  it('drops soft hyphens and zero-width characters inside words', () => {
    assert.deepEqual(tokenize('co\u00ADop zero\u200Bwidth'), ['coop', 'zerowidth'])
  })

  it('keeps repeats, in order', () => {
    assert.deepEqual(tokenize('to be or not to be'), ['to', 'be', 'or', 'not', 'to', 'be'])
  })

  it('caps tokens at MAX_TOKEN_LENGTH code points without splitting a surrogate pair', () => {
    assert.deepEqual(tokenize('a'.repeat(100)), ['a'.repeat(MAX_TOKEN_LENGTH)])
    const astral = '𠀀'.repeat(70) // U+20000, two code units each
    const [token] = tokenize(astral)
    assert.equal([...token!].length, MAX_TOKEN_LENGTH)
    assert.equal(token, '𠀀'.repeat(MAX_TOKEN_LENGTH))
    assert.deepEqual(tokenize('b'.repeat(MAX_TOKEN_LENGTH)), ['b'.repeat(MAX_TOKEN_LENGTH)])
  })

  it('drops stop words only when asked', () => {
    assert.deepEqual(tokenize('The cat and THE hat'), ['the', 'cat', 'and', 'the', 'hat'])
    assert.deepEqual(tokenize('The cat and THE hat', { stopWords: ENGLISH_STOP_WORDS }), ['cat', 'hat'])
    assert.deepEqual(tokenize('Thé cat', { stopWords: new Set(['the']) }), ['cat']) // matched after folding
  })
})
