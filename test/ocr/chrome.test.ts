// A menu bar's items (chrome.ts): each its own line, though the blanks between are narrow.
import { describe, expect, it } from 'vitest'
import { isMenu } from '../../electron/ocr/chrome.js'
import { layoutBlocks, type TextItem } from '../../electron/ocr/layout.js'

const HEIGHT = 16

function item(text: string, x: number, width = text.length * 8): TextItem {
  return { box: { x, y: 30, width, height: HEIGHT }, text, confidence: 0.95, region: 0 }
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

describe('buttons under a banner', () => {
  it('reads each button apart, the sentence above being no table row', () => {
    const line = (text: string, x: number, y: number, width: number): TextItem => ({
      box: { x, y, width, height: HEIGHT },
      text,
      confidence: 0.95,
      region: 0,
    })
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
