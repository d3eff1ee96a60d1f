// A code gutter (gutter.ts) in a short editor, where most line numbers share a box with their code.
import { describe, expect, it } from 'vitest'
import { layoutBlocks, type TextItem } from '../../electron/ocr/layout.js'

const HEIGHT = 20

/** An item whose box runs from `x` to `end`. */
function item(text: string, x: number, y: number, end: number): TextItem {
  return { box: { x, y, width: end - x, height: HEIGHT }, text, confidence: 0.95, region: 0 }
}

const texts = (items: TextItem[]): string[] => layoutBlocks(items).flatMap((block) => block.lines.map((line) => line.text))

describe('a short code gutter', () => {
  it('parts consecutive line numbers from their code though only one stands alone', () => {
    // Numbers end at x 26, code starts at x 70; the detector boxed three numbers with their code.
    const items = [
      item('41 const total = items.length', 10, 10, 278),
      item('42 if (total > limit) {', 10, 32, 238),
      item('43', 10, 54, 26),
      item('return trimmed(items)', 86, 54, 254),
      item('44 }', 10, 76, 78),
    ]
    const lines = texts(items)
    expect(lines).toEqual(
      expect.arrayContaining(['41', '42', '43', '44', 'const total = items.length', 'if (total > limit) {', 'return trimmed(items)', '}']),
    )
    expect(lines.some((line) => /^\d+ \S/.test(line))).toBe(false)
  })

  it('leaves rows that start with numbers out of order alone', () => {
    const items = [item('3 apples and pears', 10, 10, 160), item('12 boxes of tea', 10, 32, 140), item('7 jars of honey', 10, 54, 140)]
    expect(texts(items)).toEqual(['3 apples and pears', '12 boxes of tea', '7 jars of honey'])
  })
})
