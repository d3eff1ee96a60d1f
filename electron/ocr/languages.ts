// The text layer's language packs: the PP-OCRv4 recogniser that ships in the app (English and
// Simplified Chinese), tesseract's French, German and Polish models that ship with it too, and
// recognisers for other scripts that the Models page downloads. PP-OCRv4's dictionary
// (ppocr_keys_v1) has é and ü but no ö, ł, ß or ç, so accented Latin needs a recogniser trained
// on it: on screen set 2's accented lines tesseract (fra+deu+pol) read 97.6 % where PP-OCRv4 read
// 50 % (bench/ocr.ts; PP-OCRv5's Latin pack cannot be fetched on the machine that measured). Plain data, no zod: the renderer sees these through the
// OCR contract's types, and main validates the ids it is sent against this list.

/** Where a downloadable pack's files are on Hugging Face. */
export interface OcrPackSource {
  repo: string
  /** A commit, so the files cannot change under the app. */
  revision: string
  /** Path of the ONNX recognition model in the repository. */
  model: string
  /** Path of its dictionary (one character a line) in the repository. */
  dictionary: string
  /** Model and dictionary together, as published; shown until the hub gives the exact size. */
  approxBytes: number
}

export interface OcrPack {
  /** Also the pack's folder name under MODELS/ocr/. */
  id: string
  name: string
  /** The languages it reads, for people: "French, German, Polish, …". */
  languages: string
  /** BCP 47 tags it is picked for: a primary language ("fr"), or language-script/region ("zh-hant"). */
  locales: string[]
  /** What a reading with it reports as its language (ScreenText.language). */
  language: string
  /** null: ships inside the app. */
  source: OcrPackSource | null
  /** Read by tesseract with these traineddata, which ship in the app: tesseract's language code
   * for each language tag of `locales`, in the default order. PP-OCRv4's detector still finds the
   * lines. Absent: a PP-OCR recogniser reads. */
  tesseract?: Readonly<Record<string, string>>
  /** Its script is written right to left: the recogniser reads it backwards (see rtl.ts). */
  rtl?: true
}

export const BUILT_IN_PACK = 'builtin'

/**
 * PaddleOCR's recognisers exported to ONNX by monkt (Apache-2.0, from PaddlePaddle's own
 * PP-OCRv5 and PP-OCRv3 models): each language folder holds rec.onnx and dict.txt. Pinned to
 * the commit 7b02d0a3, which other projects pin too.
 */
const MONKT = 'monkt/paddleocr-onnx'
const MONKT_REVISION = '7b02d0a30a07ba2b92ad1ff5a8941ae2c633de65'
const MB = 1_000_000

function monkt(folder: string, approxMb: number): OcrPackSource {
  return {
    repo: MONKT,
    revision: MONKT_REVISION,
    model: `languages/${folder}/rec.onnx`,
    dictionary: `languages/${folder}/dict.txt`,
    approxBytes: Math.round(approxMb * MB),
  }
}

// Sizes are estimates from what other projects report for these exports (mobile recognisers are
// 7–9 MB, Korean's larger alphabet more, the Chinese/Japanese one is PP-OCRv5's server model);
// the Models page shows the hub's exact figure whenever it can reach it.
export const OCR_PACKS: readonly OcrPack[] = [
  {
    id: BUILT_IN_PACK,
    name: 'English and Chinese',
    languages: 'English, Simplified Chinese (PP-OCRv4, in the app)',
    locales: ['en', 'zh', 'zh-hans', 'zh-cn', 'zh-sg'],
    language: 'en+zh',
    source: null,
  },
  {
    id: 'fr-de-pl',
    name: 'French, German and Polish',
    languages: 'French, German, Polish (tesseract, in the app)',
    locales: ['fr', 'de', 'pl'],
    language: 'fr+de+pl',
    source: null,
    tesseract: { fr: 'fra', de: 'deu', pl: 'pol' },
  },
  {
    id: 'latin',
    name: 'Latin script',
    languages:
      'French, German, Polish, Spanish, Italian, Portuguese, Dutch, Czech, Slovak, Croatian, Slovenian, Bosnian, Hungarian, Danish, Norwegian, Swedish, Icelandic, Estonian, Lithuanian, Albanian, Welsh, Irish, Turkish, Indonesian, Malay, Afrikaans, Swahili, Tagalog, Uzbek, Latin, English (PP-OCRv5)',
    locales: [
      ...['es', 'it', 'pt', 'nl', 'cs', 'sk', 'hr', 'sl', 'bs', 'hu', 'da', 'no', 'nb', 'nn', 'sv', 'is', 'et', 'lt'],
      ...['sq', 'cy', 'ga', 'tr', 'id', 'ms', 'af', 'sw', 'tl', 'fil', 'uz', 'la', 'oc', 'mi', 'sr-latn'],
    ],
    language: 'latin',
    source: monkt('latin', 7.9),
  },
  {
    id: 'eslav',
    name: 'Cyrillic (East Slavic)',
    languages: 'Russian, Ukrainian, Belarusian, English (PP-OCRv5)',
    locales: ['ru', 'uk', 'be'],
    language: 'ru+uk+be',
    source: monkt('eslav', 7.9),
  },
  { id: 'korean', name: 'Korean', languages: 'Korean, English (PP-OCRv5)', locales: ['ko'], language: 'ko', source: monkt('korean', 13) },
  {
    id: 'chinese',
    name: 'Japanese and Chinese',
    languages: 'Japanese, Traditional and Simplified Chinese, English (PP-OCRv5 server model)',
    locales: ['ja', 'zh-hant', 'zh-tw', 'zh-hk', 'zh-mo'],
    language: 'ja+zh',
    source: monkt('chinese', 84),
  },
  { id: 'greek', name: 'Greek', languages: 'Greek, English (PP-OCRv5)', locales: ['el'], language: 'el', source: monkt('greek', 7.5) },
  { id: 'thai', name: 'Thai', languages: 'Thai, English (PP-OCRv5)', locales: ['th'], language: 'th', source: monkt('thai', 7.6) },
  {
    id: 'arabic',
    name: 'Arabic script',
    languages: 'Arabic, Persian, Urdu (PP-OCRv3)',
    locales: ['ar', 'fa', 'ur'],
    language: 'ar',
    source: monkt('arabic', 8.6),
    rtl: true,
  },
  {
    id: 'hindi',
    name: 'Devanagari',
    languages: 'Hindi, Marathi, Nepali, Sanskrit (PP-OCRv3)',
    locales: ['hi', 'mr', 'ne', 'sa'],
    language: 'hi',
    source: monkt('hindi', 8.6),
  },
  { id: 'tamil', name: 'Tamil', languages: 'Tamil (PP-OCRv3)', locales: ['ta'], language: 'ta', source: monkt('tamil', 8.6) },
  { id: 'telugu', name: 'Telugu', languages: 'Telugu (PP-OCRv3)', locales: ['te'], language: 'te', source: monkt('telugu', 8.6) },
]

/**
 * The pack for the user's languages, most preferred first (Electron's
 * app.getPreferredSystemLanguages(), or POSIX locale names): the first language some pack reads decides, an exact
 * language-script or language-region tag before the bare language (zh-TW is not zh-CN).
 * English and Simplified Chinese, and languages no pack reads, get the built-in pack.
 */
export function packForLocales(locales: readonly string[], packs: readonly OcrPack[] = OCR_PACKS): string {
  for (const locale of locales) {
    // POSIX names as Linux gives them: fr_FR.UTF-8, and sr_RS@latin for Serbian in Latin letters.
    const tag = locale
      .toLowerCase()
      .replace('@latin', '-latn')
      .replace(/[.@].*$/, '')
      .replaceAll('_', '-')
    const [language = '', ...subtags] = tag.split('-')
    const candidates = [...subtags.map((subtag) => `${language}-${subtag}`), language]
    for (const candidate of candidates) {
      const pack = packs.find((p) => p.locales.includes(candidate))
      if (pack) return pack.id
    }
  }
  return BUILT_IN_PACK
}

/**
 * A tesseract pack's languages for tesseract, the user's own first: tesseract leans on the first
 * of several, and read "Zażółć" as "Zazôté" with French first, right with Polish first.
 */
export function tesseractLanguages(pack: OcrPack, locales: readonly string[]): string[] {
  const codes = Object.values(pack.tesseract ?? {})
  const mine = locales.map((locale) => pack.tesseract?.[locale.toLowerCase().split(/[-_.@]/)[0] ?? ''])
  const first = mine.find((code) => code !== undefined)
  return first ? [first, ...codes.filter((code) => code !== first)] : codes
}

export function findPack(id: string, packs: readonly OcrPack[] = OCR_PACKS): OcrPack | undefined {
  return packs.find((p) => p.id === id)
}

/** Why the text layer reads with the built-in pack rather than `name`, which would not load. */
export function notLoadedProblem(name: string, downloaded: boolean, why: string): string {
  // A downloaded pack can be mended by downloading it again, which is refused while its files are
  // there (the damaged ones included): the way is to delete it first. One of the app's own cannot
  // be mended that way.
  const mend = downloaded ? ' To read with it, delete it on the Models page and download it again.' : ''
  return `${name} could not be loaded (${why}). Screens are read in English and Chinese.${mend}`
}
