// The tesseract.js 7 candidate for the text layer, measured beside the PaddleOCR pipeline by
// bench/ocr.ts on the same screens. Offline: the English traineddata comes from
// @tesseract.js-data/eng (langPath at its folder, gzip), and nothing is cached to disk.
//
// Per region (regions given by the caller, e.g. the Paddle pipeline's blocks, else the whole image),
// page segmentation mode 6 (one uniform block: PSM 11's sparse text is much worse on screens),
// and 1080p-sized images upscaled 2x first (it halves tesseract's character errors on 10-14 px
// UI text). The result has the same shape as the Paddle reader's, so the same scorer applies.
import { createRequire } from 'node:module'
import sharp from 'sharp'
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js'
import type { OcrBlock, OcrBox, OcrLine, OcrResult } from '../electron/ocr/types.js'

const require = createRequire(import.meta.url)
/** The folder holding eng.traineddata.gz (the package's "4.0.0" fast LSTM model). */
const ENG = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean }

export interface TesseractOptions {
  /** Upscale factor for images of at most 2.5 megapixels (1080p); 2 by default, 1 for none. */
  upscale?: number
}

export class TesseractReader {
  private constructor(
    private readonly worker: Worker,
    private readonly options: TesseractOptions,
  ) {}

  static async open(options: TesseractOptions = {}): Promise<TesseractReader> {
    const worker = await createWorker('eng', OEM.LSTM_ONLY, { langPath: ENG.langPath, gzip: ENG.gzip, cacheMethod: 'none' })
    await worker.setParameters({ tessedit_pageseg_mode: PSM.SINGLE_BLOCK, preserve_interword_spaces: '0' })
    return new TesseractReader(worker, options)
  }

  /** Reads the given regions one by one, in their order; the whole image when there are none. */
  async read(image: Uint8Array, regionsGiven: OcrBox[] = []): Promise<OcrResult> {
    const started = performance.now()
    const meta = await sharp(image).metadata()
    const width = meta.width ?? 0
    const height = meta.height ?? 0
    const factor = width * height <= 2_500_000 ? (this.options.upscale ?? 2) : 1
    const regions = regionsGiven.length ? regionsGiven : [{ x: 0, y: 0, width, height }]
    const blocks: OcrBlock[] = []
    for (const region of regions) {
      if (region.width < 8 || region.height < 8) continue
      let crop = sharp(image).extract({ left: region.x, top: region.y, width: region.width, height: region.height })
      if (factor !== 1) crop = crop.resize(Math.round(region.width * factor), Math.round(region.height * factor), { kernel: 'lanczos3' })
      const png = await crop.png({ compressionLevel: 1 }).toBuffer()
      const { data } = await this.worker.recognize(png, {}, { blocks: true, text: false })
      const lines: OcrLine[] = []
      for (const block of data.blocks ?? [])
        for (const para of block.paragraphs)
          for (const line of para.lines) {
            const text = line.text.replace(/\s+/g, ' ').trim()
            if (!text) continue
            const b = line.bbox
            lines.push({
              text,
              confidence: line.confidence / 100,
              box: {
                x: region.x + Math.round(b.x0 / factor),
                y: region.y + Math.round(b.y0 / factor),
                width: Math.round((b.x1 - b.x0) / factor),
                height: Math.round((b.y1 - b.y0) / factor),
              },
            })
          }
      if (lines.length) blocks.push({ box: region, lines })
    }
    return { width, height, blocks, language: 'en', ms: performance.now() - started }
  }

  async close(): Promise<void> {
    await this.worker.terminate()
  }
}
