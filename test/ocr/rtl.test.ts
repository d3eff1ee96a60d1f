// Right-to-left scripts on synthetic readings: the recogniser reads a line's characters as they
// lie on the image, left to right; the text layer gives them in the order they are written, as
// PaddleOCR's own decoder does for its Arabic dictionaries.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { layoutBlocks, type TextItem } from '../../electron/ocr/layout.js'
import { openOcrLanguages } from '../../electron/ocr/language-service.js'
import { OCR_PACKS } from '../../electron/ocr/languages.js'
import { recogniserEnv, recogniserFromEnv } from '../../electron/ocr/protocol.js'
import { logicalOrder } from '../../electron/ocr/rtl.js'
import { PACK_DICTIONARY, PACK_MODEL, packFolder } from '../../electron/models/ocr-packs.js'
import { scratchDir } from '../support/engine.js'

/** A right-to-left word as the recogniser reads it off the image: its letters last to first. */
const mirrored = (word: string): string => [...word].reverse().join('')

describe('logicalOrder', () => {
  it('turns a right-to-left line read off the image back into the order it is written', () => {
    const written = 'مرحبا بالعالم'
    expect(logicalOrder(mirrored(written))).toBe(written)
    // Persian and Urdu letters outside Arabic's own.
    expect(logicalOrder(mirrored('پیام گذشته'))).toBe('پیام گذشته')
  })

  it('keeps numbers, times and Latin words in their own order inside it', () => {
    // On screen: "dollars" leftmost, then the number, then "price" on the right.
    expect(logicalOrder(`${mirrored('دولار')} 42.5 ${mirrored('السعر')}`)).toBe('السعر 42.5 دولار')
    expect(logicalOrder(`${mirrored('الساعة')} 12:30`)).toBe('12:30 الساعة')
    expect(logicalOrder(`${mirrored('الآن')} Hello world ${mirrored('افتح')}`)).toBe('افتح Hello world الآن')
    expect(logicalOrder('50% +3')).toBe('50% +3')
  })
})

describe('layout of a right-to-left line', () => {
  const item = (text: string, x: number): TextItem => ({ box: { x, y: 10, width: 60, height: 20 }, text, confidence: 0.9, region: 0 })

  it('orders its words right to left', () => {
    // "مرحبا بالعالم": its first word is the one on the right.
    const items = [item(mirrored('بالعالم'), 10), item(mirrored('مرحبا'), 76)]
    expect(layoutBlocks(items, { rtl: true }).flatMap((b) => b.lines.map((l) => l.text))).toEqual(['مرحبا بالعالم'])
    // Left-to-right scripts as before.
    expect(layoutBlocks([item('Hello', 10), item('world', 76)]).flatMap((b) => b.lines.map((l) => l.text))).toEqual(['Hello world'])
  })
})

describe('the Arabic script pack', () => {
  it('is handed to the text layer process as right to left, and only it', async () => {
    expect(OCR_PACKS.filter((p) => p.rtl).map((p) => p.id)).toEqual(['arabic'])
    const root = await scratchDir()
    for (const id of ['arabic', 'greek']) {
      await mkdir(join(root, packFolder(id)), { recursive: true })
      for (const file of [PACK_MODEL, PACK_DICTIONARY]) await writeFile(join(root, packFolder(id), file), 'x')
    }
    const languages = await openOcrLanguages({
      path: join(root, 'ocr-language.json'),
      modelsRoot: root,
      systemLanguages: () => ['fa-IR'],
      hub: { files: () => Promise.reject(new Error('offline')) },
    })
    const arabic = languages.recogniser()
    expect(arabic).toMatchObject({ pack: 'arabic', engine: 'paddle', rtl: true })
    expect(recogniserFromEnv(recogniserEnv(arabic).OCR_RECOGNISER)).toEqual(arabic)
    await languages.set('greek')
    expect(languages.recogniser()).not.toHaveProperty('rtl')
  })
})
