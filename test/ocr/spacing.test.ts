// Spaces and items within one recognised crop (spacing.ts), on drawn crops: where the model left
// out a space the pixels show, where a blank parts two items, and Chinese text's marks and spaces.
import { describe, expect, it } from 'vitest'
import type { RawImage, Recognised } from '../../electron/ocr/paddle.js'
import { fullWidthMarks, halfWidthMarks } from '../../electron/ocr/corrections.js'
import { readPieces } from '../../electron/ocr/spacing.js'

/** A crop of `height` rows on a background, each character a solid block of ink [start, end). */
function crop(width: number, height: number, background: number, glyphs: [number, number][], border?: number): RawImage {
  const data = new Uint8Array(width * height * 3).fill(background)
  const ink = background > 128 ? 20 : 230
  if (border !== undefined) data.fill(border, 0, width * 3)
  for (const [start, end] of glyphs)
    for (let y = Math.floor(height * 0.25); y < Math.ceil(height * 0.75); y++)
      data.fill(ink, (y * width + start) * 3, (y * width + end) * 3)
  return { data, width, height, channels: 3 }
}

/** What the model returns for those glyphs: one character each, centred on it (spaces between). */
function recognised(chars: string[], glyphs: [number, number][]): Recognised {
  let glyph = 0
  const charCentres = chars.map((char, index) => {
    if (char !== ' ') {
      const [start, end] = glyphs[glyph++]!
      return (start + end) / 2
    }
    // A model-read space: between the characters around it.
    const before = glyphs[glyph - 1]!
    const after = glyphs[glyph]!
    return (before[1] + after[0]) / 2 + index * 0.01
  })
  return { chars, charCentres, confidence: 0.95 }
}

const texts = (image: RawImage, read: Recognised): string[] => readPieces(image, read).map((piece) => piece.text)

describe('readPieces', () => {
  it("finds a missed space in a status bar's crop, whose top row is the bar's border", () => {
    // "ab cd" with the space left out by the model; the crop's first row is a lighter border
    // line, which made the border rows' median the border's colour and every column ink.
    const glyphs: [number, number][] = [
      [10, 15],
      [16, 21],
      [29, 34],
      [35, 40],
    ]
    const image = crop(60, 20, 50, glyphs, 200)
    expect(texts(image, recognised(['a', 'b', 'c', 'd'], glyphs))).toEqual(['ab cd'])
  })

  it('parts two menu items the model read with two spaces between', () => {
    // "File  Edit" at 4K: a 30-px blank in a 34-px crop, wider than any word space.
    const glyphs: [number, number][] = [
      [4, 12],
      [14, 18],
      [20, 24],
      [26, 34],
      [64, 72],
      [74, 82],
      [84, 88],
      [90, 96],
    ]
    const chars = ['F', 'i', 'l', 'e', ' ', ' ', 'E', 'd', 'i', 't']
    expect(texts(crop(110, 34, 30, glyphs), recognised(chars, glyphs))).toEqual(['File', 'Edit'])
  })

  it('marks a piece cut off by two spaces or so as soft, and one cut off by a wider blank as hard', () => {
    // "INFO  ht" in a 4K log line (40-px crop): two spaces, a 36-px blank (0.9 heights); then the
    // same with a 56-px blank (1.4 heights).
    for (const [blank, soft] of [
      [36, true],
      [56, false],
    ] as const) {
      const glyphs: [number, number][] = [
        [4, 16],
        [18, 30],
        [32, 44],
        [46, 58],
        [58 + blank, 70 + blank],
        [72 + blank, 84 + blank],
      ]
      const pieces = readPieces(crop(100 + blank, 40, 240, glyphs), recognised(['I', 'N', 'F', 'O', 'h', 't'], glyphs))
      expect(pieces.map((piece) => piece.text)).toEqual(['INFO', 'ht'])
      expect(pieces.map((piece) => piece.soft ?? false)).toEqual([false, soft])
    }
  })

  it("gives each piece its ink's extent, leaving out a neighbour's glyph the detector's box took in", () => {
    // "LF" whose padded box begins on the "8" of "UTF-8" before it.
    const neighbour: [number, number] = [0, 4]
    const glyphs: [number, number][] = [
      [20, 26],
      [28, 33],
    ]
    const image = crop(40, 17, 50, [neighbour, ...glyphs])
    const pieces = readPieces(image, recognised(['L', 'F'], glyphs))
    expect(pieces.map((piece) => piece.text)).toEqual(['LF'])
    expect(pieces[0]!.ink).toEqual({ start: 20, end: 33 })
  })

  it("reads Latin text's full-width brackets as ASCII ones, with the spaces their cells held", () => {
    // "if（x）{" as PP-OCRv4 reads "if (x) {": 6-px blanks beside the brackets, 1 px between letters.
    const glyphs: [number, number][] = [
      [2, 6],
      [7, 12],
      [18, 22],
      [23, 29],
      [30, 34],
      [40, 46],
    ]
    expect(texts(crop(50, 20, 240, glyphs), recognised(['i', 'f', '（', 'x', '）', '{'], glyphs))).toEqual(['if (x) {'])
  })

  it('sets the spaces between Chinese characters and digits where the blank shows one, and none between characters', () => {
    // "共 16 项" at 1080p: 4 and 3 px blanks around the number, 1 px between its digits.
    const glyphs: [number, number][] = [
      [1, 15],
      [19, 23],
      [24, 29],
      [32, 46],
    ]
    expect(texts(crop(49, 21, 240, glyphs), recognised(['共', '1', '6', '项'], glyphs))).toEqual(['共 16 项'])
    // "已选择1项": characters 1 px apart, the digit set close to them.
    const tight: [number, number][] = [
      [1, 15],
      [16, 30],
      [31, 45],
      [46, 50],
      [51, 65],
    ]
    expect(texts(crop(67, 21, 240, tight), recognised(['已', '选', '择', '1', '项'], tight))).toEqual(['已选择1项'])
  })
})

describe('fullWidthMarks', () => {
  it("gives Chinese text's marks their full width where the text around says so", () => {
    expect(fullWidthMarks('文件 (F)')).toBe('文件（F）')
    expect(fullWidthMarks('保存成功!')).toBe('保存成功！')
    expect(fullWidthMarks('时间:19:54')).toBe('时间：19:54')
  })

  it("gives Latin text's full-width brackets their ASCII form, and leaves Chinese text's alone", () => {
    expect(halfWidthMarks('if（render.length > 55）{')).toBe('if(render.length > 55){')
    expect(halfWidthMarks('Total：12，ok！')).toBe('Total:12,ok!')
    expect(halfWidthMarks('文件（F）')).toBe('文件（F）')
    expect(halfWidthMarks('保存成功！')).toBe('保存成功！')
  })

  it('leaves half-width marks set close to a character, and Latin text, as they are', () => {
    expect(fullWidthMarks('文件(F)')).toBe('文件(F)')
    expect(fullWidthMarks('Hello (world)! a, b: c')).toBe('Hello (world)! a, b: c')
  })
})
