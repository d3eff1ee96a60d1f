// The recogniser's input and output, apart from running it: crops resized into the model's
// 48-pixel-high batch tensor, and CTC's greedy decoding of what comes back. Both run for every
// column of every line on a screen, so they are written as flat loops over typed arrays.
import type { RawImage, Recognised } from './paddle.js'

/**
 * Bilinear resize of a crop to recHeight × targetWidth, normalised to [-1, 1] (PaddleOCR's
 * (x/255 - 0.5)/0.5), BGR planes. The rest of the batch width stays 0 (PaddleOCR pads with 0).
 * The horizontal taps are the same on every row, so they are worked out once per crop.
 */
export function fillRecInput(
  crop: RawImage,
  targetWidth: number,
  input: Float32Array,
  base: number,
  batchWidth: number,
  recHeight: number,
): void {
  const plane = recHeight * batchWidth
  const { data, channels, width, height } = crop
  const scaleX = width / targetWidth
  const scaleY = height / recHeight
  const left = new Int32Array(targetWidth)
  const right = new Int32Array(targetWidth)
  const weight = new Float32Array(targetWidth)
  for (let x = 0; x < targetWidth; x++) {
    const sx = Math.min(width - 1, Math.max(0, (x + 0.5) * scaleX - 0.5))
    const x0 = Math.floor(sx)
    left[x] = x0 * channels
    right[x] = Math.min(width - 1, x0 + 1) * channels
    weight[x] = sx - x0
  }
  const blue = base
  const green = base + plane
  const red = base + 2 * plane
  for (let y = 0; y < recHeight; y++) {
    const sy = Math.min(height - 1, Math.max(0, (y + 0.5) * scaleY - 0.5))
    const y0 = Math.floor(sy)
    const fy = sy - y0
    const top = y0 * width * channels
    const bottom = Math.min(height - 1, y0 + 1) * width * channels
    // (1 - fy) and fy, folded with the normalisation's 1/127.5.
    const wTop = (1 - fy) / 127.5
    const wBottom = fy / 127.5
    const row = y * batchWidth
    for (let x = 0; x < targetWidth; x++) {
      const fx = weight[x]!
      const a = top + left[x]!
      const b = top + right[x]!
      const c = bottom + left[x]!
      const d = bottom + right[x]!
      const target = row + x
      for (let channel = 0; channel < 3; channel++) {
        const upper = data[a + channel]! + (data[b + channel]! - data[a + channel]!) * fx
        const lower = data[c + channel]! + (data[d + channel]! - data[c + channel]!) * fx
        const value = upper * wTop + lower * wBottom - 1
        // RGB in, BGR planes out.
        if (channel === 0) input[red + target] = value
        else if (channel === 1) input[green + target] = value
        else input[blue + target] = value
      }
    }
  }
}

/** Whether a row of scores sums to 1, so that a class scoring over one half is surely the best. */
export function isDistribution(probabilities: Float32Array, row: number, classes: number): boolean {
  let sum = 0
  for (let k = 0; k < classes; k++) sum += probabilities[row + k]!
  return Math.abs(sum - 1) < 1e-3
}

/**
 * Greedy CTC: the best class of each step, repeats and blanks dropped. When the scores are a
 * softmax (`distribution`), a class above one half is the best and the rest of the row is not
 * read: CTC's blank is such a class on most steps.
 */
export function ctcDecode(
  probabilities: Float32Array,
  base: number,
  steps: number,
  classes: number,
  alphabet: string[],
  pixelsPerStep: number,
  distribution: boolean,
): Recognised {
  const chars: string[] = []
  let confidenceSum = 0
  let count = 0
  let previous = -1
  const charCentres: number[] = []
  const sure = distribution ? 0.5 : Infinity
  for (let step = 0; step < steps; step++) {
    const row = base + step * classes
    let best = 0
    let bestProbability = probabilities[row]!
    if (bestProbability <= sure) {
      for (let k = 1; k < classes; k++) {
        const probability = probabilities[row + k]!
        if (probability > bestProbability) {
          bestProbability = probability
          best = k
          if (probability > sure) break
        }
      }
    }
    if (best !== 0 && best !== previous) {
      chars.push(alphabet[best] ?? '')
      confidenceSum += bestProbability
      count++
      charCentres.push((step + 0.5) * pixelsPerStep)
    }
    previous = best
  }
  return { chars, confidence: count === 0 ? 0 : confidenceSum / count, charCentres }
}
