// The screen reader end to end on small generated images: structure of the result, and each
// kind of bad input (no text, huge, not an image, aborted, unreadable script).
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ScreenReader } from '../../electron/ocr/reader.js'
import { ocrText } from '../../electron/ocr/types.js'

const LINES = ['Error: connection refused at port 8080', 'Retry in 5 seconds or press Cancel']

/** Dark text on white, two windows side by side (left light, right dark), as an SVG rendered by sharp. */
function screenSvg(width: number, height: number): string {
  const font = `font-family="DejaVu Sans" font-size="16"`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#3a6073"/>
    <rect x="10" y="10" width="430" height="200" fill="#ffffff" stroke="#888"/>
    <text x="24" y="50" ${font} fill="#222">${LINES[0]}</text>
    <text x="24" y="80" ${font} fill="#222">${LINES[1]}</text>
    <rect x="450" y="10" width="430" height="200" fill="#1e1e1e" stroke="#888"/>
    <text x="464" y="50" ${font} fill="#ddd">right window first line</text>
    <text x="464" y="80" ${font} fill="#ddd">right window second line</text>
  </svg>`
}

async function png(svg: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer())
}

let reader: ScreenReader
beforeAll(async () => {
  reader = await ScreenReader.open({ threads: 1 })
})
afterAll(async () => {
  await reader?.close()
})

describe('ScreenReader', () => {
  it('reads lines per window, in reading order, with boxes and confidence', async () => {
    const result = await reader.read(await png(screenSvg(900, 240)))
    expect(result.width).toBe(900)
    expect(result.height).toBe(240)
    expect(result.ms).toBeGreaterThan(0)
    expect(typeof result.language).toBe('string')
    const text = ocrText(result)
    expect(text.split('\n')).toEqual([...LINES, 'right window first line', 'right window second line'])
    expect(result.blocks.length).toBe(2)
    for (const block of result.blocks) {
      for (const line of block.lines) {
        expect(line.confidence).toBeGreaterThanOrEqual(0.5)
        expect(line.confidence).toBeLessThanOrEqual(1)
        expect(line.box.x).toBeGreaterThanOrEqual(0)
        expect(line.box.x + line.box.width).toBeLessThanOrEqual(900)
        expect(line.box.y + line.box.height).toBeLessThanOrEqual(240)
      }
    }
    // The left window's lines lie in the left window.
    expect(result.blocks[0]!.box.x + result.blocks[0]!.box.width).toBeLessThan(450)
  })

  it('reads light text on transparency, and a photo turned by its EXIF orientation, as they are shown', async () => {
    const light = await sharp(
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="70"><text x="10" y="45" font-family="DejaVu Sans" font-size="32" fill="#ffffff">Quarterly report 2024</text></svg>`,
      ),
    )
      .png()
      .toBuffer()
    expect(ocrText(await reader.read(new Uint8Array(light)))).toBe('Quarterly report 2024')

    // Stored sideways with orientation 6, as a phone writes a portrait photo: upright, 600×800.
    const upright = await sharp(Buffer.from(screenSvg(600, 240).replace(/width="600" height="240"/, 'width="600" height="800"')))
      .jpeg()
      .toBuffer()
    const sideways = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer()
    const result = await reader.read(new Uint8Array(sideways))
    expect([result.width, result.height]).toEqual([600, 800])
    expect(ocrText(result)).toContain(LINES[0])
  })

  it('reads the 1× text of a screen that has many pixels only one way (an ultrawide at 100 %) at full size', async () => {
    // 4,400×960: more pixels than the 2× class, but not that large both ways. Dense 14 px lines,
    // which half-size detection boxes taller than their pitch, into the lines around them.
    const words = 'the quick brown fox jumps over lazy dog while seven wizards quietly judge boxing matches near harbor'.split(' ')
    const truth: string[] = []
    const lines: string[] = []
    for (let row = 0; row < 12; row++)
      for (const x of [30, 1500, 3000]) {
        const text = `${Array.from({ length: 6 }, (_, k) => words[(truth.length * 7 + k * 3) % words.length]).join(' ')} ${truth.length}`
        truth.push(text)
        lines.push(`<text x="${x}" y="${40 + row * 22}" font-family="DejaVu Sans" font-size="14" fill="#222">${text}</text>`)
      }
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="4400" height="960"><rect width="100%" height="100%" fill="#fff"/>${lines.join('')}</svg>`
    const read = new Set(ocrText(await reader.read(await png(svg))).split('\n'))
    expect(truth.filter((line) => read.has(line)).length).toBeGreaterThanOrEqual(truth.length - 1)
  }, 60_000)

  it('returns no blocks for a blank screen, quickly', async () => {
    const blank = new Uint8Array(
      await sharp({ create: { width: 1920, height: 1080, channels: 3, background: '#f3f3f3' } })
        .png()
        .toBuffer(),
    )
    const started = performance.now()
    const result = await reader.read(blank)
    expect(result.blocks).toEqual([])
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  it('returns no text for a picture without any', async () => {
    const picture = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="500">
      <defs><linearGradient id="g"><stop offset="0" stop-color="#2d3e50"/><stop offset="1" stop-color="#c48f65"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="300" cy="250" r="120" fill="#9bb07a"/><circle cx="560" cy="180" r="80" fill="#6a8caf"/>
      <rect x="80" y="360" width="600" height="60" rx="30" fill="#f0b37e"/></svg>`
    const result = await reader.read(await png(picture))
    expect(ocrText(result)).toBe('')
  })

  it('scales a 100-megapixel image down instead of running out of memory', async () => {
    const huge = new Uint8Array(
      await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#ffffff' } })
        .composite([{ input: Buffer.from(screenSvg(900, 240)), left: 100, top: 100 }])
        .png({ compressionLevel: 1 })
        .toBuffer(),
    )
    const before = process.memoryUsage().rss
    const result = await reader.read(huge)
    expect(result.width).toBe(10_000)
    expect(result.height).toBe(10_000)
    // Bounded: the work copy is at most a 4K screen's pixels, not 100 M pixels × 3 bytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(600 * 1024 * 1024)
    for (const line of result.blocks.flatMap((block) => block.lines)) {
      expect(line.box.x + line.box.width).toBeLessThanOrEqual(10_000)
    }
  })

  it('rejects bytes that are no image with a clear error', async () => {
    await expect(reader.read(new TextEncoder().encode('this is not a picture'))).rejects.toThrow(/not a supported image/)
    await expect(reader.read(new Uint8Array(0))).rejects.toThrow(/Cannot read text/)
  })

  it('rejects at once when aborted before it starts, and promptly when aborted during a read', async () => {
    const image = await png(screenSvg(900, 240))
    const early = new AbortController()
    early.abort()
    await expect(reader.read(image, { signal: early.signal })).rejects.toMatchObject({ name: 'AbortError' })

    const late = new AbortController()
    const reading = reader.read(image, { signal: late.signal })
    setTimeout(() => late.abort(), 20)
    const started = performance.now()
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' })
    expect(performance.now() - started).toBeLessThan(3_000)
    // The reader still works after an aborted read.
    expect(ocrText(await reader.read(image))).toContain(LINES[0])
  })

  it('reports low confidence instead of inventing text for shapes that only look like writing', async () => {
    // Glyph-like scribbles: strokes of text height in rows, but no script the model knows.
    const strokes = Array.from({ length: 30 }, (_, index) => {
      const x = 20 + index * 26
      return `<path d="M${x} 60 q8 -20 14 0 t10 4 M${x + 4} 48 l6 16" stroke="#222" stroke-width="2" fill="none"/>`
    }).join('')
    const result = await reader.read(
      await png(
        `<svg xmlns="http://www.w3.org/2000/svg" width="820" height="120"><rect width="100%" height="100%" fill="#fff"/>${strokes}</svg>`,
      ),
    )
    for (const line of result.blocks.flatMap((block) => block.lines)) expect(line.confidence).toBeGreaterThanOrEqual(0.5)
  })

  it('refuses to read after close', async () => {
    const closing = await ScreenReader.open()
    await closing.close()
    await expect(closing.read(await png(screenSvg(900, 240)))).rejects.toThrow(/closed/)
  })
})
