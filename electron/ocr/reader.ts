// Reads the text of a screenshot (or any image) on the CPU: PP-OCRv4 detection on a copy sized
// for its text, recognition on full-resolution crops, then the layout that decides what a line is.
import sharp, { type OutputInfo } from 'sharp'
import { layoutBlocks, type TextItem } from './layout.js'
import {
  PaddleDetector,
  PaddleRecogniser,
  defaultModelDir,
  type DetectedBox,
  type RawImage,
  type Recognised,
  type RecogniserFiles,
} from './paddle.js'
import { abortError, throwIfAborted } from './abort.js'
import { downsample } from './pixels.js'
import { findRegions } from './regions.js'
import { chunkSpans, readPieces } from './spacing.js'
import { TesseractRecogniser } from './tesseract.js'
import type { OcrBox, OcrResult } from './types.js'
import { median } from './median.js'
import { onBackdrop, orientedSize } from '../images/backdrop.js'

export interface ReaderOptions {
  /** onnxruntime intra-op threads, default 1 (the engine keeps the other cores). */
  threads?: number
  modelDir?: string
  /** A language pack's recognition model and dictionary; the built-in PP-OCRv4 (English and Chinese) when absent. */
  recogniser?: RecogniserFiles
  /** Recognise with tesseract in these languages (traineddata of the app's own) instead. */
  tesseract?: readonly string[]
  /** The recogniser reads a right-to-left script: lines are put in the order they are written. */
  rtl?: boolean
}

/** What reads the text of each line crop: PP-OCR's recogniser, or tesseract for a language pack. */
interface LineRecogniser {
  recognise(crops: RawImage[], signal?: AbortSignal): Promise<Recognised[]>
  close(): Promise<void>
}

export interface ReadOptions {
  signal?: AbortSignal
}

/** Inputs beyond this are refused before decoding (sharp's own default, stated here on purpose). */
const MAX_INPUT_PIXELS = 16_384 * 16_384
/** Larger images are scaled down to this area first: 4K-class, so memory and time stay bounded. */
const MAX_WORK_PIXELS = 3840 * 2160
/** Screens with more pixels than this (4K class) carry text twice as tall: detect at half size. */
const HALF_SIZE_DETECTION_PIXELS = 2560 * 1600
/**
 * ...when they are that large both ways (4K, 5K, a 13" laptop's 2560×1664). Many pixels alone
 * is not 2× text: an ultrawide (3440×1440) or a tall full-page screenshot at 100 % has 1× text,
 * and its half-size boxes run into the lines around them (measured: a third to a half of the
 * lines misread, against 1-2 % at full size). Detecting 4K screens' 2× text at full size
 * instead was measured worse (a mail client 50 → 38 of 51 lines), so it is the shape that decides.
 */
const HALF_SIZE_MIN_SIDE = 1600
/** Longest crop, in the recogniser's pixels (48 high), before it is cut at a word gap. */
const REC_CHUNK = 960
/** Lines the recogniser is less sure of than this are more likely invented than read. */
const MIN_CONFIDENCE = 0.5
/** The PP-OCRv4 "ch" model reads Simplified Chinese and English. */
const LANGUAGE = 'en+zh'

function crop(image: RawImage, box: OcrBox): RawImage {
  const { channels } = image
  const data = new Uint8Array(box.width * box.height * channels)
  for (let y = 0; y < box.height; y++) {
    const start = ((box.y + y) * image.width + box.x) * channels
    data.set(image.data.subarray(start, start + box.width * channels), y * box.width * channels)
  }
  return { data, width: box.width, height: box.height, channels }
}

async function decode(bytes: Uint8Array): Promise<{ image: RawImage; width: number; height: number }> {
  let width: number
  let height: number
  let hasAlpha: boolean
  try {
    const metadata = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata()
    // As shown: a phone photo's EXIF orientation turns it upright (sideways, no line is found).
    ;({ width, height } = orientedSize(metadata))
    if (!width || !height) throw new Error('no dimensions')
    hasAlpha = metadata.hasAlpha === true
  } catch (cause) {
    throw new Error(`Cannot read text: the data is not a supported image (${(cause as Error).message})`, { cause })
  }
  if (width * height > MAX_INPUT_PIXELS) {
    throw new Error(`Cannot read text: the image is too large (${width}×${height})`)
  }
  let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).rotate()
  if (width * height > MAX_WORK_PIXELS) {
    const scale = Math.sqrt(MAX_WORK_PIXELS / (width * height))
    pipeline = pipeline.resize(Math.max(1, Math.floor(width * scale)), Math.max(1, Math.floor(height * scale)), {
      fit: 'fill',
    })
  }
  try {
    // Light text on transparency laid on white would be no text at all (see backdrop.ts).
    pipeline = hasAlpha ? await onBackdrop(pipeline) : pipeline.flatten({ background: '#ffffff' })
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
    return {
      image: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), ...pick(info) },
      width,
      height,
    }
  } catch (cause) {
    throw new Error(`Cannot read text: the image could not be decoded (${(cause as Error).message})`, { cause })
  }
}

const pick = (info: OutputInfo): { width: number; height: number; channels: number } => ({
  width: info.width,
  height: info.height,
  channels: info.channels,
})

export class ScreenReader {
  private closed = false
  // onnxruntime sessions run one inference at a time well; reads queue behind each other.
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly detector: PaddleDetector,
    private readonly lines: LineRecogniser,
    private readonly rtl: boolean,
  ) {}

  static async open(options: ReaderOptions = {}): Promise<ScreenReader> {
    const modelDir = options.modelDir ?? defaultModelDir()
    const threads = options.threads ?? 1
    // A tesseract pack needs no PP-OCR recogniser: only the detector is loaded beside it.
    const [detector, lines] = await Promise.allSettled([
      PaddleDetector.load(modelDir, threads),
      options.tesseract ? TesseractRecogniser.open(options.tesseract) : PaddleRecogniser.load(modelDir, threads, options.recogniser),
    ])
    if (detector.status === 'fulfilled' && lines.status === 'fulfilled')
      return new ScreenReader(detector.value, lines.value, options.rtl === true)
    // Whichever did load is released; the first failure is the reason.
    await Promise.all([detector, lines].map((loaded) => (loaded.status === 'fulfilled' ? loaded.value.close() : undefined)))
    throw detector.status === 'rejected' ? detector.reason : (lines as PromiseRejectedResult).reason
  }

  read(image: Uint8Array, options: ReadOptions = {}): Promise<OcrResult> {
    const run = this.queue.then(() => this.readNow(image, options.signal))
    this.queue = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    await Promise.all([this.lines.close(), this.detector.close()])
  }

  private async readNow(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<OcrResult> {
    if (this.closed) throw new Error('The screen reader is closed')
    throwIfAborted(signal)
    const started = performance.now()
    const { image, width, height } = await decode(bytes)
    throwIfAborted(signal)

    const halfSize = image.width * image.height > HALF_SIZE_DETECTION_PIXELS && Math.min(image.width, image.height) >= HALF_SIZE_MIN_SIDE
    // Text on a 4K screen is twice as tall as detection needs: a 2×2 box filter halves it.
    const detImage = halfSize ? downsample(image, 2) : image
    const detScale = halfSize ? 2 : 1
    const detected = await this.detector.detect(detImage)
    throwIfAborted(signal)

    const lineBoxes = detected.map((box) => toWorkBox(box, detScale, image)).filter((box) => box.width >= 4 && box.height >= 4)
    const regions = lineBoxes.length > 0 ? findRegions(detImage, medianHeight(lineBoxes), detScale) : null
    throwIfAborted(signal)

    const boxes: OcrBox[] = []
    for (const box of lineBoxes) {
      const whole = crop(image, box)
      for (const span of chunkSpans(whole, (REC_CHUNK * box.height) / 48)) {
        boxes.push({ x: box.x + span.start, y: box.y, width: span.end - span.start, height: box.height })
      }
    }
    const crops = boxes.map((box) => crop(image, box))
    let recognised: Recognised[]
    try {
      recognised = await this.lines.recognise(crops, signal)
    } catch (error) {
      if (signal?.aborted) throw abortError(signal)
      throw error
    }
    throwIfAborted(signal)

    const toOriginal = width / image.width
    const items: TextItem[] = []
    boxes.forEach((box, index) => {
      const { confidence } = recognised[index]!
      if (confidence < MIN_CONFIDENCE) return
      const region = regions ? regions.regionOf(box) : 0
      for (const piece of readPieces(crops[index]!, recognised[index]!)) {
        const pieceBox = { x: box.x + piece.start, y: box.y, width: piece.end - piece.start, height: box.height }
        const ink = piece.ink && { start: (box.x + piece.ink.start) * toOriginal, end: (box.x + piece.ink.end) * toOriginal }
        items.push({
          box: scaleBox(pieceBox, toOriginal, width, height),
          text: piece.text,
          confidence,
          region,
          ...(ink && { ink }),
          ...(piece.soft && { joined: true }),
        })
      }
    })
    const blocks = layoutBlocks(items, { rtl: this.rtl })
    return { width, height, blocks, language: LANGUAGE, ms: Math.round(performance.now() - started) }
  }
}

function toWorkBox(box: DetectedBox, scale: number, image: RawImage): OcrBox {
  const x = Math.max(0, Math.floor(box.x * scale))
  const y = Math.max(0, Math.floor(box.y * scale))
  return {
    x,
    y,
    width: Math.min(image.width, Math.ceil((box.x + box.width) * scale)) - x,
    height: Math.min(image.height, Math.ceil((box.y + box.height) * scale)) - y,
  }
}

function scaleBox(box: OcrBox, scale: number, width: number, height: number): OcrBox {
  if (scale === 1) return box
  const x = Math.floor(box.x * scale)
  const y = Math.floor(box.y * scale)
  return {
    x,
    y,
    width: Math.min(width, Math.ceil((box.x + box.width) * scale)) - x,
    height: Math.min(height, Math.ceil((box.y + box.height) * scale)) - y,
  }
}

const medianHeight = (boxes: OcrBox[]): number => median(boxes.map((box) => box.height))
