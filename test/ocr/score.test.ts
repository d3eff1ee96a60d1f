import { describe, expect, it } from 'vitest'
import { normalise, scoreText, substringDistance, summarise } from './score.js'

describe('OCR scoring', () => {
  it('normalises whitespace', () => {
    expect(normalise('  a \t b\n\nc  ')).toBe('a b c')
  })

  it('reads a line recognised exactly or within 10% edits, not beyond', () => {
    const truth = ['0123456789012345678901234567890123456789'] // 40 chars: 4 edits allowed
    expect(scoreText(truth, 'x\n0123456789012345678901234567890123456789\ny').read).toBe(1)
    expect(scoreText(truth, '0123456789O12345678901234567890I2345678X').read).toBe(1) // 3 edits
    expect(scoreText(truth, 'O123456789O12345678901234567890I234567XX').read).toBe(0) // 5 edits
  })

  it('ignores whitespace differences on both sides', () => {
    const s = scoreText(['Total:   1,234.50 EUR'], '  Total: 1,234.50\tEUR ')
    expect(s.linesRead).toBe(1)
    expect(s.charErrorRate).toBe(0)
  })

  it('does not read a line glued to its neighbour, but finds it', () => {
    const truth = ['File Edit View', 'Ln 42, Col 17']
    const s = scoreText(truth, 'File Edit View Ln 42, Col 17')
    expect(s.read).toBe(0)
    expect(s.found).toBe(2)
    expect(s.linesFound).toBe(1)
  })

  it('finds a line split across two recognised lines', () => {
    const s = scoreText(['the quick brown fox jumps over the lazy dog'], 'the quick brown\nfox jumps over the lazy dog')
    expect(s.read).toBe(0)
    expect(s.found).toBe(1)
  })

  it('finds an approximate substring, not a distant one', () => {
    expect(substringDistance('kitten', 'the sitting cat')).toBe(2) // "sittin" -> "kitten"
    expect(substringDistance('abc', 'xxabcxx')).toBe(0)
    expect(substringDistance('', 'anything')).toBe(0)
    expect(substringDistance('abcdef', '')).toBe(6)
    const s = scoreText(['request completed in 859 ms'], 'INFO [sched-9] request completed in 858 ms and more')
    expect(s.found).toBe(1)
    expect(scoreText(['request completed in 859 ms'], 'nothing like it at all here').found).toBe(0)
  })

  it('counts character errors against the best line, capped at the line length', () => {
    // "abcdefghij" (10) read with 1 error; "zzzz" (4) not recognised at all: capped at 4.
    const s = scoreText(['abcdefghij', 'zzzz'], 'abcdefghiX\nsomething much longer than four')
    expect(s.errorChars).toBe(1 + 4)
    expect(s.truthChars).toBe(14)
    expect(s.charErrorRate).toBeCloseTo(5 / 14)
  })

  it('scores an empty output and an empty truth', () => {
    expect(scoreText(['a line'], '').linesRead).toBe(0)
    expect(scoreText(['a line'], '').charErrorRate).toBe(1)
    const none = scoreText([], 'text with no truth')
    expect(none.linesRead).toBe(1)
    expect(none.charErrorRate).toBe(0)
  })

  it('summarises line scores across screens', () => {
    const a = scoreText(['one line', 'two line'], 'one line')
    const b = scoreText(['three'], 'three')
    const all = summarise([...a.lines, ...b.lines])
    expect(all.total).toBe(3)
    expect(all.read).toBe(2)
  })
})
