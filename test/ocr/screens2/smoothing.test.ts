// The four text-smoothing modes of screen set 2 take effect in Chromium: fontconfig files set per
// browser (fontconfig.ts) must change how the same text is drawn, or set 2 would claim a variety
// of rendering it does not have.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { themeVars } from '../screens/apps.js'
import { SMOOTHINGS, type Smoothing } from './fontconfig.js'
import { renderPages, screensSkipReason } from './index.js'

const skip = screensSkipReason()
if (skip) console.warn(`test/ocr/screens2/smoothing.test.ts skipped: ${skip}`)

interface Pixels {
  greyLevels: number
  colouredPixels: number
  raw: Buffer
}

describe.skipIf(skip !== null)('screen set 2 text smoothing', () => {
  let dir = ''
  const pixels = new Map<Smoothing, Pixels>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lva-ocr-smoothing-'))
    const html = `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0;background:#fff;${themeVars('light')}">
      <div data-seg style="font:13px 'DejaVu Sans';padding:10px;color:#222">The quick brown fox jumps over 1234 lazy dogs</div></body></html>`
    const pages = SMOOTHINGS.map((smoothing) => ({ name: smoothing, html, width: 400, height: 40, theme: 'light' as const, smoothing }))
    for (const screen of await renderPages(pages, { out: dir, sizes: ['1080p'] })) {
      const { data, info } = await sharp(screen.file).raw().toBuffer({ resolveWithObject: true })
      const levels = new Set<number>()
      let coloured = 0
      for (let i = 0; i < data.length; i += info.channels) {
        const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!]
        levels.add(r)
        if (Math.max(r, g, b) - Math.min(r, g, b) > 20) coloured++
      }
      pixels.set(screen.smoothing, { greyLevels: levels.size, colouredPixels: coloured, raw: data })
    }
  }, 60_000)
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('draws without anti-aliasing in mono: a handful of grey levels', () => {
    expect(pixels.get('mono')!.greyLevels).toBeLessThan(8)
    expect(pixels.get('grayscale')!.greyLevels).toBeGreaterThan(50)
  })

  it('draws colour fringes only with subpixel rendering', () => {
    expect(pixels.get('subpixel')!.colouredPixels).toBeGreaterThan(100)
    for (const mode of ['mono', 'grayscale', 'unhinted'] as const) expect(pixels.get(mode)!.colouredPixels).toBe(0)
  })

  it('changes glyph shapes with hinting at 1080p', () => {
    expect(pixels.get('unhinted')!.raw.equals(pixels.get('grayscale')!.raw)).toBe(false)
  })
})
