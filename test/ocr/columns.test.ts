// Prose column gutters (columns.ts) on synthetic boxes: two columns of prose read apart, a table
// with the same blank bands kept whole.
import { describe, expect, it } from 'vitest'
import { findGutters } from '../../electron/ocr/columns.js'
import { layoutBlocks, rowsOf, type TextItem } from '../../electron/ocr/layout.js'

const HEIGHT = 20

function item(text: string, x: number, y: number, width = text.length * 8): TextItem {
  return { box: { x, y, width, height: HEIGHT }, text, confidence: 0.95, region: 0 }
}

const textsOf = (items: TextItem[]): string[] => layoutBlocks(items).flatMap((block) => block.lines.map((line) => line.text))

/** Two columns of prose, 30 px apart; the right column's baselines sit 8 px lower. */
function twoColumns(rows: number): TextItem[] {
  const items: TextItem[] = [item('A title across both columns of the page here', 40, 10, 700)]
  for (let row = 0; row < rows; row++) {
    // A short last line of a paragraph in the left column: no wide cell there.
    const width = row === 2 ? 120 : 400
    items.push(item(`left ${row} runs on`, 40, 50 + row * 22, width))
    items.push(item(`right ${row} runs on`, 470, 58 + row * 22, 400))
  }
  return items
}

describe('prose column gutters', () => {
  it('finds the gutter between two columns of prose and reads each column apart', () => {
    const items = twoColumns(6)
    const gutters = findGutters(rowsOf(items))
    expect(gutters).toHaveLength(1)
    expect(gutters[0]!.start).toBeGreaterThanOrEqual(440)
    expect(gutters[0]!.end).toBeLessThanOrEqual(470)
    const texts = textsOf(items)
    expect(texts[0]).toBe('A title across both columns of the page here')
    expect(texts.slice(1)).toEqual([
      ...Array.from({ length: 6 }, (_, row) => `left ${row} runs on`),
      ...Array.from({ length: 6 }, (_, row) => `right ${row} runs on`),
    ])
  })

  it('needs three rows with text on both sides', () => {
    expect(findGutters(rowsOf(twoColumns(2)))).toEqual([])
  })

  it('finds no gutter between the short cells of a table', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 5; row++) {
      items.push(item(`name${row}`, 20, 100 + row * 28))
      items.push(item(`city${row}`, 220, 100 + row * 28))
    }
    expect(findGutters(rowsOf(items))).toEqual([])
    expect(textsOf(items)).toEqual(Array.from({ length: 5 }, (_, row) => `name${row} city${row}`))
  })

  it("finds no gutter beside a log line's short timestamp", () => {
    const items: TextItem[] = []
    for (let row = 0; row < 5; row++) {
      items.push(item('12:00:0' + row, 20, 100 + row * 22, 80))
      items.push(item(`a long log message number ${row}`, 130, 100 + row * 22, 500))
    }
    expect(findGutters(rowsOf(items))).toEqual([])
  })
})

describe('panels side by side at their own heights', () => {
  it('reads a file list beside code apart, though the names are short', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 6; row++) {
      // The list's rows are 24 px apart, the code's 20 px: they drift apart and never sit level.
      items.push(item(`file${row}.ts`, 20, 100 + row * 24, 70))
      items.push(item(`const value${row} = ${row}`, 260, 110 + row * 20, 160))
    }
    expect(findGutters(rowsOf(items))).toHaveLength(1)
    expect(textsOf(items)).not.toContain('file0.ts const value0 = 0')
    expect(textsOf(items)).toContain('file0.ts')
  })
})

describe('a gutter found lower down', () => {
  it('reaches up over a headline beside a sidebar heading', () => {
    // Headline and byline beside the sidebar's heading and first story: two rows of two cells
    // whose gaps line up, which read as a table unless the gutter reaches up to them.
    const items: TextItem[] = [
      item('A headline over the article', 40, 4, 300),
      item('Most read', 700, 6, 90),
      item('By a reporter', 40, 26, 150),
      item('1. the first story', 700, 30, 200),
    ]
    for (let row = 0; row < 5; row++) {
      // The article's two columns cross the wide blank under the headline, so the sidebar's
      // gutter is only narrow, from the first row of the columns down.
      items.push(item(`article left ${row} runs on`, 40, 50 + row * 22, 300))
      items.push(item(`article right ${row} runs on`, 360, 50 + row * 22, 300))
      items.push(item(`${row + 2}. a story in the list`, 700, 58 + row * 22, 200))
    }
    const texts = textsOf(items)
    expect(texts).toContain('A headline over the article')
    expect(texts).toContain('Most read')
    expect(texts).toContain('By a reporter')
  })
})
