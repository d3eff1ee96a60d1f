// Tesseract (tesseract.js 7, LSTM only) as a second line recogniser beside PP-OCRv4: PaddleOCR's
// dictionary has no ö, ß, ł and the like, and reads about half of such lines right where
// Tesseract's French, German and Polish models read about 97%. It takes the detector's line crops
// and returns what PaddleRecogniser.recognise returns, so spacing.ts places spaces and items the same
// way from either recogniser.
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import sharp from 'sharp'
import { createWorker, OEM, PSM, type Page, type Worker } from 'tesseract.js'
import { abortError } from './abort.js'
import type { RawImage, Recognised } from './paddle.js'

/** Tesseract's language codes are lowercase letters with an optional script part (chi_sim); nothing that could leave a folder. */
const LANGUAGE_CODE = /^[a-z]{3}(_[a-z]+)*$/

/** Crops taller than this (pixels) are 4K-class lines, read at half size. */
const MAX_LINE_HEIGHT = 32

/** Where the app's own traineddata for a tesseract language code is (the npm package's 4.0.0_best_int file). */
export function bundledTraineddata(code: string): string {
  if (!LANGUAGE_CODE.test(code)) throw new Error(`"${code}" is not a Tesseract language code.`)
  const require = createRequire(import.meta.url)
  let packageJson: string
  try {
    packageJson = require.resolve(`@tesseract.js-data/${code}/package.json`)
  } catch {
    throw new Error(`No traineddata is installed for the Tesseract language "${code}" (no @tesseract.js-data/${code} package).`)
  }
  // The integer-quantised "best" model: half the size of the float one, and read as well on
  // screen lines (measured on French, German and Polish).
  const file = join(dirname(packageJson), '4.0.0_best_int', `${code}.traineddata.gz`)
  if (!existsSync(file)) throw new Error(`@tesseract.js-data/${code} has no 4.0.0_best_int/${code}.traineddata.gz.`)
  return file
}

/** The start of our language folders' names in the temp folder; the process's id follows. */
const LANG_DIR_PREFIX = 'tesseract-lang-'

/** Language folders of processes that are gone (ended while loading): each held 4–5 MB. */
async function sweepLangDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[])
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(/^tesseract-lang-(\d+)-/.exec(name)?.[1])
      if (!pid || pid === process.pid || alive(pid)) return
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined)
    }),
  )
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** tesseract.js rejects with whatever its worker sent, often a bare string. */
function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`Tesseract failed: ${String(value)}`)
}

export class TesseractRecogniser {
  /** The last queued recognise (or close): the worker runs one job at a time, and a second caller's crops must not land in the middle of the first's. */
  private tail: Promise<unknown> = Promise.resolve()
  private closing: Promise<void> | undefined

  private constructor(private readonly worker: Worker) {}

  /** A worker reading `languages` together (e.g. ['fra', 'deu', 'pol']); `files` maps a code to its <code>.traineddata.gz where it is not the bundled one. */
  static async open(languages: readonly string[], files?: Readonly<Record<string, string>>): Promise<TesseractRecogniser> {
    if (languages.length === 0) throw new Error('Tesseract needs at least one language.')
    for (const code of languages) if (!LANGUAGE_CODE.test(code)) throw new Error(`"${code}" is not a Tesseract language code.`)
    const sources = languages.map((code) => files?.[code] ?? bundledTraineddata(code))
    // A worker reads every language from one langPath, and each package keeps its file in its own
    // folder: gather them in a folder of our own. Copies rather than links, since in the packaged
    // app the sources are inside app.asar, which only Electron's fs (not the worker's) can read.
    // The worker holds the files in memory once it is loaded: the folder goes then, since the
    // text layer's process is ended rather than closed and left one behind each time (4.6 MB for
    // French, German and Polish). One ended while loading leaves its folder to the next to sweep.
    await sweepLangDirs()
    const langDir = await mkdtemp(join(tmpdir(), `${LANG_DIR_PREFIX}${process.pid}-`))
    try {
      await Promise.all(
        languages.map(async (code, index) => writeFile(join(langDir, `${code}.traineddata.gz`), await readFile(sources[index]!))),
      )
      const worker = await createWorker([...languages].join('+'), OEM.LSTM_ONLY, {
        langPath: langDir,
        gzip: true,
        // Nothing is written to a cache folder: the files are already local.
        cacheMethod: 'none',
        logger: () => {},
        // Without a handler tesseract.js rethrows a failed job's error from its message listener,
        // an uncaught exception; the job's own promise rejects with it anyway.
        errorHandler: () => {},
      }).catch((error: unknown) => {
        throw asError(error)
      })
      try {
        await worker.setParameters({
          // The detector hands over one line per crop; letting Tesseract look for a page layout
          // in it only splits or drops words.
          tessedit_pageseg_mode: PSM.SINGLE_LINE,
          // sharp's PNGs carry no usable density, so Tesseract warns on every line ("Invalid
          // resolution") and then uses 70 dpi: say 70 up front, the same reading without the noise.
          user_defined_dpi: '70',
          // Tesseract prints its debug notes (a blank crop's empty statistics) to stdout otherwise.
          debug_file: '/dev/null',
        })
      } catch (error) {
        await worker.terminate().catch(() => {})
        throw asError(error)
      }
      return new TesseractRecogniser(worker)
    } finally {
      await rm(langDir, { recursive: true, force: true })
    }
  }

  /** Reads each crop (already cut from the image) as one line of text, in order; `signal` stops it between crops. */
  recognise(crops: RawImage[], signal?: AbortSignal): Promise<Recognised[]> {
    if (this.closing) return Promise.reject(new Error('The Tesseract recogniser is closed.'))
    const run = this.tail.then(async () => {
      const results: Recognised[] = []
      for (const crop of crops) {
        // A screen's lines take seconds together: stop between crops, not only at the end.
        if (signal?.aborted) throw abortError(signal)
        results.push(await this.recogniseOne(crop))
      }
      return results
    })
    // The next caller waits for this one to finish, failed or not.
    this.tail = run.catch(() => {})
    return run
  }

  /** Lets queued recognitions finish, then ends the worker. */
  close(): Promise<void> {
    // A second close waits for the first rather than terminating the worker twice.
    this.closing ??= this.tail.then(async () => {
      await this.worker.terminate()
    })
    return this.closing
  }

  private async recogniseOne(crop: RawImage): Promise<Recognised> {
    if (crop.width < 1 || crop.height < 1) return { chars: [], charCentres: [], confidence: 0 }
    // Not upscaled: the detector's crops are already padded, and doubling 1080p lines read no
    // better. Lines taller than a 1080p screen's are halved: 4K text twice that size lost more of
    // its accents (82 % of accented letters kept against 97 % at 1080p, measured on screen set 2).
    // Uncompressed PNG: tesseract.js takes encoded images, and this one is decoded at once.
    const scale = crop.height > MAX_LINE_HEIGHT ? 2 : 1
    let image = sharp(Buffer.from(crop.data.buffer, crop.data.byteOffset, crop.data.length), {
      raw: { width: crop.width, height: crop.height, channels: crop.channels as 1 | 2 | 3 | 4 },
    }).removeAlpha()
    if (scale > 1)
      image = image.resize(Math.max(1, Math.round(crop.width / scale)), Math.max(1, Math.round(crop.height / scale)), {
        kernel: 'lanczos3',
      })
    const png = await image.png({ compressionLevel: 0 }).toBuffer()
    const { data } = await this.worker.recognize(png, {}, { blocks: true, text: false }).catch((error: unknown) => {
      throw asError(error)
    })
    const read = fromPage(data)
    return scale > 1 ? { ...read, charCentres: read.charCentres.map((x) => x * scale) } : read
  }
}

/**
 * Characters and their centres from Tesseract's symbol boxes, which are in the PNG's pixels, i.e.
 * the crop's. Tesseract reports words, not spaces: a space goes between words, centred between
 * the last symbol of one and the first of the next, where a model-read space would sit.
 */
function fromPage(page: Page): Recognised {
  const chars: string[] = []
  const charCentres: number[] = []
  let confidenceSum = 0
  let words = 0
  let previousRight: number | undefined
  for (const block of page.blocks ?? [])
    for (const paragraph of block.paragraphs)
      for (const line of paragraph.lines)
        for (const word of line.words) {
          const symbols = word.symbols.filter((symbol) => symbol.text.trim() !== '')
          if (symbols.length === 0) continue
          if (previousRight !== undefined) {
            chars.push(' ')
            charCentres.push((previousRight + symbols[0]!.bbox.x0) / 2)
          }
          for (const symbol of symbols) {
            const centre = (symbol.bbox.x0 + symbol.bbox.x1) / 2
            // A ligature (fi, œ read as one) is one symbol of several characters: each gets its centre.
            for (const char of symbol.text.trim()) {
              chars.push(char)
              charCentres.push(centre)
            }
          }
          previousRight = symbols[symbols.length - 1]!.bbox.x1
          confidenceSum += word.confidence
          words++
        }
  if (chars.length === 0) return { chars: [], charCentres: [], confidence: 0 }
  // Word confidences are percentages; their mean is what Tesseract reports for a line.
  return { chars, charCentres, confidence: Math.min(1, Math.max(0, confidenceSum / words / 100)) }
}
