// The screen generator's truth is sane on the small screens: lines present and inside the
// image, covered text left out, table rows one line each, wrapped text one line per row.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COVERED_MARKER, renderSmallScreens, screensSkipReason, type ScreenCase } from './screens/index.js'

const skip = screensSkipReason()
if (skip) console.warn(`test/ocr/screens.test.ts skipped: ${skip}`)

describe.skipIf(skip !== null)('generated OCR screens', () => {
  let dir = ''
  let cases: ScreenCase[] = []
  const byName = (name: string): ScreenCase => cases.find((c) => c.id.startsWith(`${name}@`))!

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lva-ocr-screens-'))
    cases = await renderSmallScreens({ out: dir })
  }, 60_000)
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('renders each small screen with non-empty lines inside the image', async () => {
    expect(cases.map((c) => c.id.split('@')[0])).toEqual(['small-dialog', 'small-side-by-side', 'small-table', 'small-overlap'])
    for (const c of cases) {
      const meta = await sharp(c.file).metadata()
      expect([meta.width, meta.height]).toEqual([c.width, c.height])
      expect(c.lines.length).toBeGreaterThan(8)
      for (const line of c.lines) {
        expect(line.text.trim()).toBe(line.text)
        expect(line.text).not.toMatch(/\s{2}/)
        expect(line.text.length).toBeGreaterThan(0)
        const { x, y, width, height } = line.box
        expect(x).toBeGreaterThanOrEqual(0)
        expect(y).toBeGreaterThanOrEqual(0)
        expect(width).toBeGreaterThan(0)
        // Text is 9-16 CSS px: a line box is one row high, not a paragraph.
        expect(height).toBeGreaterThanOrEqual(9)
        expect(height).toBeLessThan(30)
        expect(x + width).toBeLessThanOrEqual(c.width)
        expect(y + height).toBeLessThanOrEqual(c.height)
      }
    }
  })

  it('leaves covered words out and keeps the visible start of the covered lines', () => {
    const texts = byName('small-overlap').lines.map((l) => l.text)
    expect(texts.join('\n')).not.toContain(COVERED_MARKER)
    expect(texts.join('\n')).not.toContain(' end')
    for (let i = 1; i <= 8; i++) expect(texts).toContain(`visible line ${i} then`)
    expect(texts).toContain('The front window reads plainly.')
  })

  it('leaves out what a dialog covers and reads the dialog itself', () => {
    const c = byName('small-dialog')
    const texts = c.lines.map((l) => l.text)
    expect(texts).toContain('Do not ask me again')
    expect(texts).toContain('Cancel')
    // The dialog sits over the middle of the form: no truth line other than its own lies under it.
    const dialogTitle = c.lines.find((l) => l.text.endsWith('?'))!
    const dialogLines = c.lines.filter(
      (l) => l.box.y >= dialogTitle.box.y - 2 && l.box.y <= dialogTitle.box.y + 140 && l.box.x >= dialogTitle.box.x - 2,
    )
    expect(dialogLines.map((l) => l.text)).toEqual(expect.arrayContaining(['Do not ask me again', 'Cancel']))
    for (const l of c.lines) {
      const under =
        l.box.x > dialogTitle.box.x + 20 &&
        l.box.x + l.box.width < dialogTitle.box.x + 400 &&
        l.box.y > dialogTitle.box.y + 5 &&
        l.box.y < dialogTitle.box.y + 120
      if (under) expect(dialogLines).toContain(l)
    }
  })

  it('takes a table row as one line with its cells joined by single spaces', () => {
    const header = byName('small-table').lines.find((l) => l.text.startsWith('#'))
    expect(header?.text).toBe('# Item Region Owner Qty Unit price Total Status')
    const rows = byName('small-table').lines.filter((l) => /^\d+ \S/.test(l.text))
    expect(rows.length).toBeGreaterThan(5)
    for (const row of rows) expect(row.text).toMatch(/ (Shipped|Pending|Paid|Overdue|Draft)$/)
  })

  it('cuts wrapped text into one line per visual row and keeps side-by-side windows apart', () => {
    const c = byName('small-side-by-side')
    // Every line lies within one window: none spans the gap between them (x 440-455).
    for (const l of c.lines) expect(l.box.x >= 445 || l.box.x + l.box.width <= 450).toBe(true)
    // Chat messages wrap: some lines of one segment follow on the next row, each its own line.
    const chat = c.lines.filter((l) => l.box.x > 455 && l.box.y > 60 && l.box.y < 520)
    expect(chat.some((l, i) => i > 0 && l.box.x === chat[i - 1]!.box.x && l.box.y - chat[i - 1]!.box.y < 20)).toBe(true)
  })
})
