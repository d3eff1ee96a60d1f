// Tesseract as a line recogniser (tesseract.ts) on drawn line crops with the accented letters
// PP-OCRv4 cannot read: the text, where each character sits, and the worker's life cycle
// (abort, close, the bundled traineddata).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { distance } from 'fastest-levenshtein'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RawImage } from '../../electron/ocr/paddle.js'
import { bundledTraineddata, TesseractRecogniser } from '../../electron/ocr/tesseract.js'

const LINES = ['Größe ändern', 'Zażółć gęślą jaźń', 'Répondre à tous', 'Straße öffnen']

/** One line of dark text on a white 34-px crop, padded as the detector pads its boxes. */
async function lineCrop(text: string): Promise<RawImage> {
  const width = 16 + text.length * 11
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="34">
    <rect width="100%" height="100%" fill="#ffffff"/>
    <text x="8" y="23" font-family="DejaVu Sans" font-size="17" fill="#222">${text}</text>
  </svg>`
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels,
  }
}

/** The first and last columns with any dark pixel: where the text's characters must lie. */
function inkExtent(crop: RawImage): [number, number] {
  let first = crop.width
  let last = -1
  for (let y = 0; y < crop.height; y++)
    for (let x = 0; x < crop.width; x++)
      if (crop.data[(y * crop.width + x) * crop.channels]! < 128) {
        first = Math.min(first, x)
        last = Math.max(last, x)
      }
  return [first, last]
}

let recogniser: TesseractRecogniser
let crops: RawImage[]
beforeAll(async () => {
  ;[recogniser, crops] = await Promise.all([TesseractRecogniser.open(['fra', 'deu', 'pol']), Promise.all(LINES.map(lineCrop))])
})
afterAll(async () => {
  await recogniser?.close()
})

describe('TesseractRecogniser', () => {
  it('reads French, German and Polish lines, each character centred on its glyph', async () => {
    const results = await recogniser.recognise(crops)
    expect(results).toHaveLength(LINES.length)
    results.forEach((result, index) => {
      const crop = crops[index]!
      expect(distance(result.chars.join(''), LINES[index]!), result.chars.join('')).toBeLessThanOrEqual(1)
      expect(result.charCentres).toHaveLength(result.chars.length)
      expect(result.confidence).toBeGreaterThan(0)
      expect(result.confidence).toBeLessThanOrEqual(1)
      const [first, last] = inkExtent(crop)
      const letters = result.charCentres.filter((_, at) => result.chars[at] !== ' ')
      for (const centre of letters) {
        expect(centre).toBeGreaterThanOrEqual(first)
        expect(centre).toBeLessThanOrEqual(last)
      }
      for (let at = 1; at < letters.length; at++) expect(letters[at]).toBeGreaterThan(letters[at - 1]!)
      // A space sits between the characters around it.
      result.chars.forEach((char, at) => {
        if (char !== ' ') return
        expect(result.charCentres[at]).toBeGreaterThan(result.charCentres[at - 1]!)
        expect(result.charCentres[at]).toBeLessThan(result.charCentres[at + 1]!)
      })
    })
  })

  it('answers calls made together in their own order, one per crop', async () => {
    const [first, second] = await Promise.all([recogniser.recognise([crops[1]!]), recogniser.recognise([crops[0]!, crops[2]!])])
    expect(first.map((result) => result.chars.join(''))).toEqual([expect.stringMatching(/^Za/)])
    expect(second.map((result) => result.chars.join(''))).toEqual([expect.stringMatching(/^Gr/), expect.stringMatching(/^R/)])
  })

  it('gives no characters for a blank crop', async () => {
    const blank: RawImage = { data: new Uint8Array(120 * 34 * 3).fill(255), width: 120, height: 34, channels: 3 }
    expect(await recogniser.recognise([blank])).toEqual([{ chars: [], charCentres: [], confidence: 0 }])
  })

  it('stops on an aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(recogniser.recognise(crops, controller.signal)).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('leaves no language folder once loaded, and refuses to read after close', async () => {
    // The text layer's process is ended, never closed: a folder kept until close was left behind.
    const folders = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('tesseract-'))
    const before = new Set(folders())
    const loaded = await TesseractRecogniser.open(['fra'])
    expect(folders().filter((name) => !before.has(name))).toEqual([])
    expect((await loaded.recognise([crops[2]!]))[0]!.chars.join('')).toMatch(/^R/)
    await loaded.close()
    await expect(loaded.recognise(crops.slice(0, 1))).rejects.toThrow(/closed/)
  })

  it('removes the language folders of processes ended while loading', async () => {
    const ended = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
    const gone = join(tmpdir(), `tesseract-lang-${ended.stdout.trim()}-left`)
    const mine = join(tmpdir(), `tesseract-lang-${process.pid}-loading`)
    for (const dir of [gone, mine]) {
      mkdirSync(dir)
      writeFileSync(join(dir, 'fra.traineddata.gz'), 'x')
    }
    try {
      await (await TesseractRecogniser.open(['fra'])).close()
      expect(existsSync(gone)).toBe(false)
      // A process still running may be loading from its own.
      expect(existsSync(mine)).toBe(true)
    } finally {
      for (const dir of [gone, mine]) rmSync(dir, { recursive: true, force: true })
    }
  })

  it('finds the bundled traineddata, and says which language it lacks', () => {
    expect(existsSync(bundledTraineddata('fra'))).toBe(true)
    expect(bundledTraineddata('fra')).toMatch(/4\.0\.0_best_int[/\\]fra\.traineddata\.gz$/)
    expect(() => bundledTraineddata('xyz')).toThrow(/xyz/)
  })
})
