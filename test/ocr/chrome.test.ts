// A menu bar's items (chrome.ts): each its own line, though the blanks between are narrow.
import { describe, expect, it } from 'vitest'
import { isMenu, isStatusBar } from '../../electron/ocr/chrome.js'
import { layoutBlocks, type TextItem } from '../../electron/ocr/layout.js'
import { splitCrumbs } from '../../electron/ocr/corrections.js'

const HEIGHT = 16

function item(text: string, x: number, width = text.length * 8, y = 30, height = HEIGHT): TextItem {
  return { box: { x, y, width, height }, text, confidence: 0.95, region: 0 }
}

/** Items left to right, each `gap` px after the one before. */
function row(words: string[], gap: number): TextItem[] {
  let x = 10
  return words.map((word) => {
    const made = item(word, x)
    x += made.box.width + gap
    return made
  })
}

const texts = (items: TextItem[]): string[] => layoutBlocks(items).flatMap((block) => block.lines.map((line) => line.text))

describe('menu bars', () => {
  it('reads each item of a menu bar as its own line, in order', () => {
    const items = row(['File', 'Edit', 'Selection', 'View', 'Go', 'Help'], 5)
    expect(isMenu(items)).toBe(true)
    expect(texts(items)).toEqual(['File', 'Edit', 'Selection', 'View', 'Go', 'Help'])
  })

  it('reads a menu bar whose last two items touch', () => {
    const items = row(['File', 'Edit', 'View', 'Insert', 'Extensions'], 6)
    items.push(item('Help', items[4]!.box.x + items[4]!.box.width - 4))
    expect(texts(items)).toEqual(['File', 'Edit', 'View', 'Insert', 'Extensions', 'Help'])
  })

  it('keeps words the detector boxed without a blank between as one line', () => {
    expect(texts(row(['File', 'Edit', 'Selection', 'View'], 1))).toEqual(['File Edit Selection View'])
  })

  it('keeps a row of fewer or longer items as before', () => {
    expect(isMenu(row(['File', 'Edit', 'View'], 5))).toBe(false)
    expect(isMenu(row(['File', 'Edit', 'View', 'Go', 'a long phrase'], 5))).toBe(false)
  })
})

describe('status bars and taskbars', () => {
  // An editor's status bar as the detector boxes it: a box per item, 10 px apart at 16 px.
  const bar = ['develop*', 'Ln 61, Col 65', 'Spaces: 2', 'UTF-8', 'LF', 'TypeScript']

  it("reads each item of a status bar as its own line, though they are short phrases and the blanks narrower than an item's gap elsewhere", () => {
    expect(texts(row(bar, 10))).toEqual(bar)
  })

  it('reads a taskbar clock and its date apart', () => {
    const items = [...row(['Activities', 'Files', 'Settings'], 30), item('16:21', 1777), item('Mon 4 Nov', 1777 + 40 + 10)]
    expect(texts(items)).toEqual(['Activities', 'Files', 'Settings', '16:21', 'Mon 4 Nov'])
  })

  it("reads a bar's items apart by their ink where the detector's padded boxes overlap", () => {
    // "UTF-8", "LF", "TypeScript" at 1080p: LF's box takes in the end of "UTF-8".
    const at = (text: string, x: number, width: number, ink: [number, number]): TextItem => ({
      ...item(text, x, width),
      ink: { start: ink[0], end: ink[1] },
    })
    const items = [
      at('Ln 81, Col 24', 1077, 85, [1081, 1158]),
      at('Spaces: 2', 1175, 64, [1178, 1234]),
      at('UTF-8', 1251, 43, [1254, 1288]),
      at('LF', 1287, 37, [1307, 1319]),
      at('TypeScript', 1335, 69, [1337, 1400]),
    ]
    expect(texts(items)).toEqual(['Ln 81, Col 24', 'Spaces: 2', 'UTF-8', 'LF', 'TypeScript'])
  })

  it('keeps phrases a word space apart, or too long for a bar, as before', () => {
    expect(isStatusBar(row(bar, 5))).toBe(false)
    expect(texts(row(bar, 5))).toEqual([bar.join(' ')])
    expect(isStatusBar(row(['Showing 1-26 of 550 entries', ...bar.slice(1)], 10))).toBe(false)
  })
})

describe('breadcrumbs', () => {
  it('cuts a breadcrumb bar into its crumbs, in order, the chevrons left out', () => {
    const crumbs = splitCrumbs({ text: 'src > ocr > layout.ts › groupLines', start: 100, end: 304 })
    expect(crumbs.map((crumb) => crumb.text)).toEqual(['src', 'ocr', 'layout.ts', 'groupLines'])
    for (const [index, crumb] of crumbs.entries()) {
      expect(crumb.end).toBeGreaterThan(crumb.start)
      if (index > 0) expect(crumb.start).toBeGreaterThan(crumbs[index - 1]!.end)
    }
    expect(crumbs[0]!.start).toBe(100)
    expect(crumbs[3]!.end).toBe(304)
  })

  it('keeps comparisons, short paths and prose with a ">" whole', () => {
    for (const text of ['if (a > b > c) {', 'Home > Docs', 'x > 1 and y > 2 and z > 3 when the long sentence goes on'])
      expect(splitCrumbs({ text, start: 0, end: 200 }).map((piece) => piece.text)).toEqual([text])
  })

  it('reads a tab strip over a breadcrumb bar item by item, though some of their gaps overlap', () => {
    // An editor's tabs and, under them, the file's breadcrumbs, as read from a 1080p screen.
    const at = (text: string, x: number, width: number, y: number): TextItem => item(text, x, width, y, 18)
    const items = [
      at('layout.ts', 275, 51, 66),
      at('reader.ts', 352, 55, 66),
      at('package.json', 624, 83, 66),
      at('src', 270, 18, 93),
      at('ocr', 305, 18, 93),
      at('layout.ts', 341, 53, 93),
      at('groupLines', 411, 59, 93),
    ]
    // Each item a line of its own (which of the two rows is read first where their gaps share a
    // blank band is columnsOf's business, not this test's).
    expect(texts(items).sort()).toEqual(['layout.ts', 'reader.ts', 'package.json', 'src', 'ocr', 'layout.ts', 'groupLines'].sort())
  })
})

describe('buttons under a banner', () => {
  it('reads each button apart, the sentence above being no table row', () => {
    const line = (text: string, x: number, y: number, width: number): TextItem => item(text, x, width, y)
    const items = [
      line('We use cookies to improve your experience and show relevant content.', 10, 10, 560),
      line('Accept all', 20, 40, 80),
      line('Reject all', 130, 40, 80),
      line('Manage preferences', 240, 40, 150),
    ]
    expect(texts(items)).toEqual([
      'We use cookies to improve your experience and show relevant content.',
      'Accept all',
      'Reject all',
      'Manage preferences',
    ])
  })
})
