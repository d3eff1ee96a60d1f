// The image pipeline in front of the model: decode safely, fix orientation, flatten
// alpha, and downscale to what the projector can use, so a 4K screenshot never turns
// into more image tokens, or more pixels, than llama.cpp will use.
import sharp, { type Metadata } from 'sharp'
import { AppError } from '../ipc/errors.js'
import { DEFAULT_BUDGET, MAX_INPUT_PIXELS, isProjectorBudget, planImage, type ImageBudget, type PixelBudget, type Size } from './budget.js'
import { createPreparedCache, refOf, type PreparedCache } from './prepared-cache.js'
import { onBackdrop, orientedSize } from './backdrop.js'
import { decodableImage } from './heic.js'

// The engine takes the budget types from the pipeline that applies them.
export { DEFAULT_BUDGET, type ImageBudget }

/** An image ready for the model: re-encoded, oriented and sized to the projector's budget. */
export interface PreparedImage {
  data: Buffer
  mime: 'image/jpeg' | 'image/png'
  width: number
  height: number
}

/** A plain pixel budget (unknown projector) never hands the model more than this on the long side. */
export const MAX_SIDE = 2048

/**
 * The version of prepareFresh's output: images kept on disk by another version are prepared
 * again. Raise it with any change to what prepareFresh makes of an image (size, quality, backdrop).
 */
const PIPELINE = 1

let cache: PreparedCache = createPreparedCache({ dir: null })

/** Keeps prepared images in this folder too, so they outlive the process (the engine host sets it). */
export function keepPreparedImagesIn(dir: string | null): void {
  cache = createPreparedCache({ dir, pipeline: PIPELINE })
}

/**
 * The image as the model gets it; the same image and budget are prepared once (see
 * prepared-cache.ts). ref, when the caller has it, is refOf(bytes) computed already.
 */
export function prepareImage(bytes: Uint8Array, budget: ImageBudget = DEFAULT_BUDGET, ref: string = refOf(bytes)): Promise<PreparedImage> {
  return cache.get(ref, budget, () => prepareFresh(bytes, budget))
}

/** The image prepared earlier for this budget, by its content key alone; null when it is no longer kept. */
export function preparedByRef(ref: string, budget: ImageBudget = DEFAULT_BUDGET): Promise<PreparedImage | null> {
  return cache.peek(ref, budget)
}

async function prepareFresh(original: Uint8Array, budget: ImageBudget): Promise<PreparedImage> {
  if (original.byteLength === 0) throw new AppError('bad-image', 'The image is empty (0 bytes).')
  // A HEIC photo sent as it is (the local API, a conversation stored before they were converted).
  const bytes = await decodableImage(original)
  const input = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', animated: false })
  let meta: Metadata
  try {
    // Header only, without the pixel limit, so an oversized image can be named as such.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch (error) {
    throw new AppError('bad-image', `This file is not an image that can be read (${reason(error)}).`, { cause: error })
  }
  const { width, height } = orientedSize(meta)
  if (!width || !height) throw new AppError('bad-image', 'The image has no size; it may be corrupt.')
  if (width * height > MAX_INPUT_PIXELS) {
    throw new AppError(
      'bad-image',
      `The image is too large: ${width}x${height} is ${Math.round((width * height) / 1e6)} megapixels; the limit is ${MAX_INPUT_PIXELS / 1e6}.`,
    )
  }
  const out = isProjectorBudget(budget) ? planImage(budget, width, height) : withinPixels(budget, width, height)
  try {
    let pipeline = input
      .rotate() // apply EXIF orientation
      // fill: a dynamic-resolution plan may round each side to the encoder's grid on its own.
      .resize(out.width, out.height, { fit: 'fill', kernel: 'lanczos3' })
      .toColourspace('srgb')
    // Resized with its alpha first, to choose what it is laid on (see backdrop.ts).
    if (meta.hasAlpha) pipeline = await onBackdrop(pipeline)
    const { data, info } = await pipeline.jpeg({ quality: 92, mozjpeg: false }).toBuffer({ resolveWithObject: true })
    return { data, mime: 'image/jpeg', width: info.width, height: info.height }
  } catch (error) {
    throw new AppError('bad-image', `The image could not be decoded; it may be corrupt or truncated (${reason(error)}).`, { cause: error })
  }
}

/** Aspect kept, never upscaled, within the budget's side and pixel count. */
function withinPixels(budget: PixelBudget, width: number, height: number): Size {
  const scale = Math.min(1, Math.min(budget.maxSide, MAX_SIDE) / Math.max(width, height), Math.sqrt(budget.maxPixels / (width * height)))
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]!.slice(0, 200)
}
