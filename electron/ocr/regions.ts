// Where windows and panels are: large connected areas of flat or smoothly changing colour
// (a window's body, a sidebar, a wallpaper gradient), found on a downsampled copy of the screen.
// Text sits on such a background, so the background under a box says which region it belongs to,
// and boxes of different regions never join into one line.
import type { RawImage } from './paddle.js'
import type { OcrBox } from './types.js'

/**
 * Analysis pixels: a 1080p screen is analysed at half size and a 4K one at a quarter, the same
 * grid of screen points, so a layout reads the same at either density (at a third, the 4K
 * spreadsheet's 2-px grid blurred into column strips: 9 of its 52 lines read, 45 at a quarter;
 * the 4K set 85.2% -> 88.7% of lines). A 1-px border of 20 levels' contrast still shows at 4×4.
 */
const ANALYSIS_PIXELS = 520_000
/** Neighbouring pixels this close (max channel difference) are the same background. */
const FLAT_TOLERANCE = 4
/**
 * Thin separators up to this many analysis pixels are bridged. None: a 1-px border between a
 * message list and its reading pane is as thin as a table's grid, and the panes must stay apart;
 * table cells are kept together by STRIP_LINES instead.
 */
const BRIDGE = 0
/** A background smaller than this share of the screen is a button or a swatch, not a panel. */
const MIN_REGION_SHARE = 0.002
/** Backgrounds less tall than this many text lines and narrower than CELL_WIDTH_SHARE of the
 * screen are table cells or buttons, not panels: text on them belongs to the panel around, or to
 * no panel (then the cells of a table group together). A list item's wide strip stays a region,
 * and so does a narrow one of two lines (a mail list's sender and subject: at 2.5 lines such an
 * item of a small font was a cell, and its text joined the reading pane beside it; the busy
 * desktops with a mail window read 156-187 -> 174-199 lines at 1080p, nothing else changed). */
const STRIP_LINES = 2.2
const CELL_WIDTH_SHARE = 0.2
export const NO_REGION = -1

export interface RegionMap {
  /** Region id of a box in full-image pixels; NO_REGION when no panel background holds it. */
  regionOf(box: OcrBox): number
}

/** Box-filter downsample by an integer factor, RGB out. */
function downsample(image: RawImage, factor: number): RawImage {
  const width = Math.max(1, Math.floor(image.width / factor))
  const height = Math.max(1, Math.floor(image.height / factor))
  const data = new Uint8Array(width * height * 3)
  const area = factor * factor
  const { channels } = image
  const sums = new Uint32Array(width * 3)
  for (let y = 0; y < height; y++) {
    sums.fill(0)
    for (let dy = 0; dy < factor; dy++) {
      let source = (y * factor + dy) * image.width * channels
      for (let x = 0; x < width; x++) {
        for (let dx = 0; dx < factor; dx++, source += channels) {
          sums[x * 3]! += image.data[source]!
          sums[x * 3 + 1]! += image.data[source + 1]!
          sums[x * 3 + 2]! += image.data[source + 2]!
        }
      }
    }
    const row = y * width * 3
    for (let i = 0; i < width * 3; i++) data[row + i] = Math.round(sums[i]! / area)
  }
  return { data, width, height, channels: 3 }
}

function find(parent: Int32Array, index: number): number {
  let root = index
  while (parent[root]! !== root) root = parent[root]!
  while (parent[index] !== root) {
    const next = parent[index]!
    parent[index] = root
    index = next
  }
  return root
}

function union(parent: Int32Array, a: number, b: number): void {
  const rootA = find(parent, a)
  const rootB = find(parent, b)
  if (rootA !== rootB) parent[Math.max(rootA, rootB)] = Math.min(rootA, rootB)
}

/**
 * @param textHeight typical height of a text box in image pixels: a background no taller than a
 * couple of lines is a table cell, a button or a toolbar strip, not a panel of its own.
 * @param scale how many image pixels one pixel of `image` stands for: the detector's half-size
 * copy of a 4K screen serves here too, instead of box-filtering the full image again.
 */
export function findRegions(image: RawImage, textHeight: number, scale = 1): RegionMap {
  const wanted = Math.max(1, Math.ceil(Math.sqrt((image.width * image.height * scale * scale) / ANALYSIS_PIXELS)))
  const factor = Math.max(1, Math.round(wanted / scale))
  /** Image pixels per analysis pixel. */
  const unit = factor * scale
  const small = factor === 1 && image.channels === 3 ? image : downsample(image, factor)
  const { width, height, data } = small
  const count = width * height
  const close = (a: number, b: number): boolean =>
    Math.abs(data[a * 3]! - data[b * 3]!) <= FLAT_TOLERANCE &&
    Math.abs(data[a * 3 + 1]! - data[b * 3 + 1]!) <= FLAT_TOLERANCE &&
    Math.abs(data[a * 3 + 2]! - data[b * 3 + 2]!) <= FLAT_TOLERANCE
  // A pixel is background-like when it matches a direct neighbour; isolated pixels are glyphs.
  const flat = new Uint8Array(count)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const index = y * width + x
      if (
        (x + 1 < width && close(index, index + 1)) ||
        (x > 0 && close(index, index - 1)) ||
        (y + 1 < height && close(index, index + width)) ||
        (y > 0 && close(index, index - width))
      )
        flat[index] = 1
    }
  }
  const parent = new Int32Array(count)
  for (let i = 0; i < count; i++) parent[i] = i
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const index = y * width + x
      if (!flat[index]) continue
      if (x + 1 < width && flat[index + 1] && close(index, index + 1)) union(parent, index, index + 1)
      if (y + 1 < height && flat[index + width] && close(index, index + width)) union(parent, index, index + width)
      // Jump a thin line when the same background continues right behind it.
      for (let step = 2; step <= BRIDGE + 1; step++) {
        if (x + step < width && flat[index + step] && close(index, index + step)) union(parent, index, index + step)
        if (y + step < height && flat[index + step * width] && close(index, index + step * width))
          union(parent, index, index + step * width)
      }
    }
  }
  const size = new Int32Array(count)
  const top = new Int32Array(count).fill(height)
  const bottom = new Int32Array(count).fill(-1)
  const left = new Int32Array(count).fill(width)
  const right = new Int32Array(count).fill(-1)
  for (let i = 0; i < count; i++) {
    if (!flat[i]) continue
    const root = find(parent, i)
    size[root]!++
    const y = Math.floor(i / width)
    if (y < top[root]!) top[root] = y
    if (y > bottom[root]!) bottom[root] = y
    const x = i - y * width
    if (x < left[root]!) left[root] = x
    if (x > right[root]!) right[root] = x
  }
  const minHeight = (STRIP_LINES * textHeight) / unit
  const minSize = Math.max(64, Math.round(count * MIN_REGION_SHARE))
  const labels = new Int32Array(count).fill(NO_REGION)
  for (let i = 0; i < count; i++) {
    if (!flat[i]) continue
    const root = parent[i]!
    const cell = bottom[root]! - top[root]! + 1 < minHeight && right[root]! - left[root]! + 1 < CELL_WIDTH_SHARE * width
    if (size[root]! >= minSize && !cell) labels[i] = root
  }

  return {
    regionOf(box: OcrBox): number {
      const inside = vote(box)
      if (inside !== NO_REGION) return inside
      // Text on a badge or a button (too small to be a panel) belongs to the panel around it.
      const margin = box.height
      return vote({ x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin })
    },
  }

  function vote(box: OcrBox): number {
    const x0 = Math.max(0, Math.floor(box.x / unit))
    const y0 = Math.max(0, Math.floor(box.y / unit))
    const x1 = Math.min(width, Math.ceil((box.x + box.width) / unit))
    const y1 = Math.min(height, Math.ceil((box.y + box.height) / unit))
    const votes = new Map<number, number>()
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const label = labels[y * width + x]!
        if (label !== NO_REGION) votes.set(label, (votes.get(label) ?? 0) + 1)
      }
    }
    let best = NO_REGION
    let bestVotes = 0
    for (const [label, voteCount] of votes) {
      if (voteCount > bestVotes) {
        best = label
        bestVotes = voteCount
      }
    }
    return best
  }
}
