// Layout on synthetic boxes: what a line is and in which order blocks come, without the models.
import { describe, expect, it } from 'vitest'
import { layoutBlocks, type TextItem } from '../../electron/ocr/layout.js'
import { fixLetterDigits } from '../../electron/ocr/corrections.js'

const HEIGHT = 20

function item(text: string, x: number, y: number, region = 0, width = text.length * 8): TextItem {
  return { box: { x, y, width, height: HEIGHT }, text, confidence: 0.95, region }
}

const textsOf = (items: TextItem[]): string[][] => layoutBlocks(items).map((block) => block.lines.map((line) => line.text))

describe('layoutBlocks', () => {
  it('returns no blocks for no text', () => {
    expect(layoutBlocks([])).toEqual([])
    expect(layoutBlocks([item('   ', 0, 0)])).toEqual([])
  })

  it('keeps two windows side by side apart, each read top to bottom', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 5; row++) {
      items.push(item(`left ${row}`, 10, 40 + row * 26, 1))
      // The right window's lines start right after the left window's border: close sideways.
      items.push(item(`right ${row}`, 90, 40 + row * 26, 2))
    }
    const blocks = textsOf(items)
    expect(blocks).toEqual([
      ['left 0', 'left 1', 'left 2', 'left 3', 'left 4'],
      ['right 0', 'right 1', 'right 2', 'right 3', 'right 4'],
    ])
  })

  it('joins the cells of a table row across wide gaps, one line per row', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 4; row++) {
      const y = 100 + row * 28
      items.push(item(`name${row}`, 20, y))
      items.push(item(`city${row}`, 220, y))
      // Right-aligned numbers: different widths, same right edge.
      const amount = String(10 ** (row + 1))
      items.push(item(amount, 520 - amount.length * 8, y))
    }
    const lines = layoutBlocks(items).flatMap((block) => block.lines.map((line) => line.text))
    expect(lines).toEqual(['name0 city0 10', 'name1 city1 100', 'name2 city2 1000', 'name3 city3 10000'])
  })

  it('keeps tabs and menu items far apart as separate lines, left to right', () => {
    const names = ['File', 'Edit', 'View', 'Selection', 'Help']
    const items = names.map((name, index) => item(name, 20 + index * 140, 10))
    expect(textsOf(items).flat()).toEqual(names)
  })

  it("keeps pieces the recogniser cut softly (two spaces of a log line) on one line, but a menu's items apart", () => {
    const log = [item('2026-05-25 13:24:15.538 INFO', 20, 10), { ...item('[http-3] connection reset', 20 + 28 * 8 + 18, 10), joined: true }]
    expect(textsOf(log)).toEqual([['2026-05-25 13:24:15.538 INFO [http-3] connection reset']])
    const menu = ['File', 'Edit', 'View', 'Help'].map((name, index) => ({ ...item(name, 20 + index * 52, 40), joined: index > 0 }))
    expect(textsOf(menu).flat()).toEqual(['File', 'Edit', 'View', 'Help'])
  })

  it('joins boxes of one row that sit a word space apart', () => {
    const items = [item('Hello', 20, 10), item('world', 20 + 5 * 8 + 10, 12)]
    expect(textsOf(items)).toEqual([['Hello world']])
  })

  it('reads two columns of prose one after the other', () => {
    const items: TextItem[] = []
    const prose = 'the quick brown fox jumps over the lazy dog again'
    for (let row = 0; row < 6; row++) {
      items.push(item(`${prose} L${row}`, 20, 200 + row * 24))
      items.push(item(`${prose} R${row}`, 520, 200 + row * 24))
    }
    // A heading across both columns comes first.
    items.push(item('A heading over both columns', 300, 150))
    const blocks = textsOf(items)
    expect(blocks[0]).toEqual(['A heading over both columns'])
    expect(blocks.slice(1)).toEqual([
      Array.from({ length: 6 }, (_, row) => `${prose} L${row}`),
      Array.from({ length: 6 }, (_, row) => `${prose} R${row}`),
    ])
  })

  it('keeps a code gutter of line numbers apart from the code', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 5; row++) {
      items.push(item(String(38 + row), 10, 50 + row * 22, 0, 16))
      items.push(item(`const value${row} = compute(${row})`, 70, 50 + row * 22))
    }
    const lines = textsOf(items).flat()
    expect(lines.some((line) => /^\d+ const/.test(line))).toBe(false)
    expect(lines).toContain('const value0 = compute(0)')
  })

  it('parts a line number from code that starts right at the gutter, whether read as one box or two', () => {
    const items: TextItem[] = []
    for (let row = 0; row < 4; row++) {
      items.push(item(String(38 + row), 10, 50 + row * 22, 0, 24))
      items.push(item(`    return value${row}`, 70, 50 + row * 22))
    }
    // Unindented code 8 px after the gutter: one box holding both, or two boxes a short gap apart.
    items.push({ ...item('42 // Process the rest', 10, 138, 0), box: { x: 10, y: 138, width: 240, height: HEIGHT } })
    items.push(item('43', 10, 160, 0, 24), item('await this.flush()', 42, 160, 0))
    const lines = textsOf(items).flat()
    expect(lines).toEqual(expect.arrayContaining(['42', '// Process the rest', '43', 'await this.flush()']))
    expect(lines.some((line) => /^\d+ \S/.test(line))).toBe(false)
  })

  it("reads a list item's label and the number pushed to its right edge as one row", () => {
    // A mail list item (its own region, 30 heights wide): sender left, time right, subject below.
    const listItem = [item('Irene Evans', 12, 0, 1), item('13:01', 560, 0, 1, 40), item('Budget review for the third quarter', 12, 24, 1)]
    expect(textsOf(listItem).flat()).toEqual(['Irene Evans 13:01', 'Budget review for the third quarter'])
    // A sidebar's folder and its count.
    expect(textsOf([item('Sent', 12, 0, 2, 32), item('97', 150, 0, 2, 16), item('Archive', 12, 24, 2)]).flat()).toEqual([
      'Sent 97',
      'Archive',
    ])
  })

  it('keeps items at the edges of a wide bar, or words at either end of a list item, apart', () => {
    // A status bar 100 heights wide.
    expect(textsOf([item('develop*', 10, 0, 1), item('61', 1900, 0, 1, 16)]).flat()).toEqual(['develop*', '61'])
    // Not a number on the right: a tab strip's two tabs, a label and a button.
    const lines = textsOf([item('Name', 12, 0, 1, 32), item('Rename', 500, 0, 1, 48), item('Other text here', 12, 24, 1)]).flat()
    expect(lines).toEqual(['Name', 'Rename', 'Other text here'])
  })

  it('orders regions top to bottom, then left to right', () => {
    const items = [item('bottom', 10, 500, 3), item('top right', 600, 12, 2), item('top left', 10, 10, 1)]
    expect(textsOf(items).flat()).toEqual(['top left', 'top right', 'bottom'])
  })
})

describe('fixLetterDigits', () => {
  it('gives capitals and words their O back, and leaves numbers, versions and hex ids alone', () => {
    expect(fixLetterDigits('INF0 ERR0R state0ffset')).toBe('INFO ERROR stateOffset')
    expect(fixLetterDigits('v0 2026-05-03 a8f0b6b5 A10 100 ms')).toBe('v0 2026-05-03 a8f0b6b5 A10 100 ms')
  })
})
