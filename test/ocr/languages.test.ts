// The text layer's language packs: the catalog's shape, and which pack the system's languages pick.
import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { BUILT_IN_PACK, OCR_PACKS, findPack, packForLocales, tesseractLanguages } from '../../electron/ocr/languages.js'
import { bundledTraineddata } from '../../electron/ocr/tesseract.js'

describe('language pack catalog', () => {
  it('has packs in the app (PP-OCRv4, and tesseract with traineddata that ships) and downloadable ones pinned to a commit, each a model with its dictionary', () => {
    const ids = OCR_PACKS.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(OCR_PACKS.filter((p) => p.source === null).map((p) => p.id)).toEqual([BUILT_IN_PACK, 'fr-de-pl'])
    for (const pack of OCR_PACKS.filter((p) => p.tesseract)) {
      expect(pack.source).toBeNull()
      for (const [tag, code] of Object.entries(pack.tesseract!)) {
        expect(pack.locales).toContain(tag)
        expect(existsSync(bundledTraineddata(code)), code).toBe(true)
      }
    }
    for (const pack of OCR_PACKS) {
      expect(pack.id).toMatch(/^[a-z0-9-]{1,32}$/)
      expect(pack.locales.length).toBeGreaterThan(0)
      if (!pack.source) continue
      expect(pack.source.revision).toMatch(/^[0-9a-f]{40}$/)
      expect(pack.source.model).toMatch(/^languages\/[a-z]+\/rec\.onnx$/)
      expect(pack.source.dictionary).toBe(pack.source.model.replace('rec.onnx', 'dict.txt'))
      expect(pack.source.approxBytes).toBeGreaterThan(1_000_000)
    }
  })

  it('names each language tag once, so no two packs compete for it', () => {
    const tags = OCR_PACKS.flatMap((p) => p.locales)
    expect(new Set(tags).size).toBe(tags.length)
  })

  it('offers a recogniser for French, German and Polish, whose letters PP-OCRv4 lacks, in the app, and one for other Latin languages to download', () => {
    for (const language of ['fr', 'de', 'pl']) expect(packForLocales([language])).toBe('fr-de-pl')
    const pack = findPack('fr-de-pl')!
    // The user's own language first: tesseract leans on the first of several.
    expect(tesseractLanguages(pack, ['pl-PL', 'en-US'])).toEqual(['pol', 'fra', 'deu'])
    expect(tesseractLanguages(pack, ['en-US', 'de_DE.UTF-8'])).toEqual(['deu', 'fra', 'pol'])
    expect(tesseractLanguages(pack, ['en-US'])).toEqual(['fra', 'deu', 'pol'])
    for (const language of ['es', 'it', 'cs']) expect(packForLocales([language])).toBe('latin')
  })
})

describe('packForLocales', () => {
  it('picks the pack of the most preferred language that one reads', () => {
    expect(packForLocales(['fr-FR', 'en-US'])).toBe('fr-de-pl')
    expect(packForLocales(['en-US', 'fr-FR'])).toBe(BUILT_IN_PACK)
    expect(packForLocales(['xx-YY', 'ko-KR'])).toBe('korean')
    expect(packForLocales(['ru-RU'])).toBe('eslav')
    expect(packForLocales(['el'])).toBe('greek')
  })

  it('takes Electron and POSIX spellings alike, in any case', () => {
    expect(packForLocales(['de_DE'])).toBe('fr-de-pl')
    expect(packForLocales(['PL-pl'])).toBe('fr-de-pl')
    expect(packForLocales(['es_ES.UTF-8'])).toBe('latin')
    expect(packForLocales(['sr_RS@latin'])).toBe('latin')
    expect(packForLocales(['C', 'ru_RU.UTF-8'])).toBe('eslav')
  })

  it('keeps Simplified Chinese on the built-in pack and sends Traditional Chinese and Japanese to the PP-OCRv5 one', () => {
    expect(packForLocales(['zh-CN'])).toBe(BUILT_IN_PACK)
    expect(packForLocales(['zh-Hans-CN'])).toBe(BUILT_IN_PACK)
    expect(packForLocales(['zh-TW'])).toBe('chinese')
    expect(packForLocales(['zh-Hant-HK'])).toBe('chinese')
    expect(packForLocales(['ja-JP'])).toBe('chinese')
  })

  it('reads a script subtag: Serbian in Latin letters is Latin, in Cyrillic no pack here reads', () => {
    expect(packForLocales(['sr-Latn-RS'])).toBe('latin')
    expect(packForLocales(['sr-Cyrl-RS'])).toBe(BUILT_IN_PACK)
  })

  it('falls back to the built-in pack for no languages or ones no pack reads', () => {
    expect(packForLocales([])).toBe(BUILT_IN_PACK)
    expect(packForLocales(['xx', ''])).toBe(BUILT_IN_PACK)
  })
})
