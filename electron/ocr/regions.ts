// Where windows and panels are: large connected areas of flat or smoothly changing colour
// (a window's body, a sidebar, a wallpaper gradient), found on a downsampled copy of the screen.
// Text sits on such a background, so the background under a box says which region it belongs to,
// and boxes of different regions never join into one line.
import type { RawImage } from './paddle.js'
import { downsample, find, union } from './pixels.js'
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
/** A wide short background is a table cell all the same when it is part of a grid: another short
 * background of the same top and bottom (within LEVEL_PIXELS analysis pixels) beside it, and one
 * of the same left and right above or below it, each across a grid line of at most GRID_PIXELS
 * (a small screen's spreadsheet, whose cells are a large share of its width); a list item's strip
 * has a taller pane beside it, a menu bar's strip nothing of its width above or below. */
const LEVEL_PIXELS = 1
const GRID_PIXELS = 3
/** Backgrounds smaller than this (analysis pixels) are glyph insides, not cells. */
const MIN_CELL_PIXELS = 16
/** A background covering less than this share of its bounding box is a grid's lines (a net) or
 * a frame, no panel: text in its cells (within NET_REACH line heights) belongs to it. */
const MIN_FILL = 0.25
const NET_REACH = 0.3
/** A background narrower or shorter than this many text heights is a rule or a border: no text
 * fits in it, so it is no panel. A table's outer border line was taken for one, and the cells
 * beside it (a finance table's first and last columns) were read apart from their rows. */
const THIN_LINES = 0.6
export const NO_REGION = -1

export interface RegionMap {
  /** Region id of a box in full-image pixels; NO_REGION when no panel background holds it. */
  regionOf(box: OcrBox): number
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
  const short = (root: number): boolean => bottom[root]! - top[root]! + 1 < minHeight
  // Short backgrounds by their top row, to find a wide one's neighbours in a grid of cells.
  const byTop = new Map<number, number[]>()
  for (let i = 0; i < count; i++) {
    if (!flat[i] || parent[i] !== i || !short(i) || size[i]! < MIN_CELL_PIXELS) continue
    const list = byTop.get(top[i]!)
    if (list) list.push(i)
    else byTop.set(top[i]!, [i])
  }
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= LEVEL_PIXELS
  const apart = (gap: number): boolean => gap >= 1 && gap <= GRID_PIXELS
  // A cell of a grid has a cell of the same height beside it, one of the same width above or
  // below it, and a fourth completing the square: a window's title bar over its toolbar, or a menu
  // bar's strip, has no such square.
  const lineUp = (other: number, a: number, b: number): boolean =>
    near(top[other]!, top[a]!) && near(bottom[other]!, bottom[a]!) && near(left[other]!, left[b]!) && near(right[other]!, right[b]!)
  const around = (root: number, reach: number): number[] => {
    const found: number[] = []
    for (let dy = -reach; dy <= reach; dy++) for (const other of byTop.get(top[root]! + dy) ?? []) if (other !== root) found.push(other)
    return found
  }
  const inGrid = (root: number): boolean => {
    const reach = Math.ceil(minHeight) + GRID_PIXELS
    const others = around(root, reach)
    const beside = others.filter(
      (other) => lineUp(other, root, other) && apart(Math.max(left[other]! - right[root]!, left[root]! - right[other]!)),
    )
    const stacked = others.filter(
      (other) => lineUp(other, other, root) && apart(Math.max(top[other]! - bottom[root]!, top[root]! - bottom[other]!)),
    )
    return beside.some((side) => stacked.some((below) => around(below, LEVEL_PIXELS).some((corner) => lineUp(corner, below, side))))
  }
  const thin = (root: number): boolean =>
    Math.min(right[root]! - left[root]! + 1, bottom[root]! - top[root]! + 1) * unit < THIN_LINES * textHeight
  const labels = new Int32Array(count).fill(NO_REGION)
  /** Pixels of table cells (short backgrounds in a grid), which hold text but are no panel. */
  const inCell = new Uint8Array(count)
  const cellOf = new Map<number, boolean>()
  const nets = new Set<number>()
  const surrounding = new Map<number, number>()
  for (let i = 0; i < count; i++) {
    if (!flat[i]) continue
    const root = parent[i]!
    if (size[root]! < minSize || thin(root)) {
      // A small cell of a table (a short column's) is still a cell, not a glyph's inside.
      if (short(root) && size[root]! >= MIN_CELL_PIXELS) inCell[i] = 1
      continue
    }
    let cell = cellOf.get(root)
    if (cell === undefined) {
      const area = (right[root]! - left[root]! + 1) * (bottom[root]! - top[root]! + 1)
      // Only a net taller than a strip holds rows of cells; a button's frame is no table.
      if (!short(root) && size[root]! < MIN_FILL * area) nets.add(root)
      cell = short(root) && (right[root]! - left[root]! + 1 < CELL_WIDTH_SHARE * width || inGrid(root))
      cellOf.set(root, cell)
    }
    if (cell) inCell[i] = 1
    else labels[i] = root
  }

  return {
    regionOf(box: OcrBox): number {
      const panel = (label: number): boolean => !nets.has(label)
      const inside = vote(box, panel)
      if (inside !== NO_REGION) return inside
      // Text in a grid's cell belongs to the panel the grid sits in: the cells of one table read
      // together, and with the cells of its other pieces (downsampling breaks a 1-px grid at
      // some crossings, so one table can leave several nets).
      const net = vote(grow(box, NET_REACH * box.height), (label) => nets.has(label))
      if (net !== NO_REGION) return panelAround(net)
      // Text on a badge or a button (too small to be a panel) belongs to the panel around it.
      const around = vote(grow(box, box.height), panel)
      if (around !== NO_REGION || !onCell(box)) return around
      // A cell of a table whose grid did not survive the downsampling (so no net holds it):
      // the panel the table sits in, the nearest one along the row, so that every cell of a row
      // lands in one region with the cells at the table's edges.
      return sideways(box)
    },
  }

  /** The panel most of a net's outline borders on (the net itself when none). */
  function panelAround(net: number): number {
    const found = surrounding.get(net)
    if (found !== undefined) return found
    const ring = { x0: left[net]! - 1, y0: top[net]! - 1, x1: right[net]! + 1, y1: bottom[net]! + 1 }
    const votes = new Map<number, number>()
    const count = (x: number, y: number): void => {
      if (x < 0 || y < 0 || x >= width || y >= height) return
      const label = labels[y * width + x]!
      if (label !== NO_REGION && !nets.has(label)) votes.set(label, (votes.get(label) ?? 0) + 1)
    }
    for (let x = ring.x0; x <= ring.x1; x++) {
      count(x, ring.y0)
      count(x, ring.y1)
    }
    for (let y = ring.y0 + 1; y < ring.y1; y++) {
      count(ring.x0, y)
      count(ring.x1, y)
    }
    let best = net
    let bestVotes = 0
    for (const [label, votesFor] of votes) if (votesFor > bestVotes) [best, bestVotes] = [label, votesFor]
    surrounding.set(net, best)
    return best
  }

  function onCell(box: OcrBox): boolean {
    const { x0, y0, x1, y1 } = cover(box)
    let cells = 0
    let others = 0
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (!flat[y * width + x]) continue
        if (inCell[y * width + x]) cells++
        else others++
      }
    }
    return cells > others
  }

  function sideways(box: OcrBox): number {
    const { x0, y0, x1, y1 } = cover(box)
    const y = Math.min(height - 1, (y0 + y1) >> 1)
    for (let step = 1; x0 - step >= 0 || x1 - 1 + step < width; step++) {
      for (const x of [x0 - step, x1 - 1 + step]) {
        if (x < 0 || x >= width) continue
        const label = labels[y * width + x]!
        if (label !== NO_REGION && !nets.has(label)) return label
      }
    }
    return NO_REGION
  }

  function cover(box: OcrBox): { x0: number; y0: number; x1: number; y1: number } {
    return {
      x0: Math.max(0, Math.floor(box.x / unit)),
      y0: Math.max(0, Math.floor(box.y / unit)),
      x1: Math.min(width, Math.ceil((box.x + box.width) / unit)),
      y1: Math.min(height, Math.ceil((box.y + box.height) / unit)),
    }
  }

  function grow(box: OcrBox, margin: number): OcrBox {
    return { x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin }
  }

  function vote(box: OcrBox, counts: (label: number) => boolean): number {
    const { x0, y0, x1, y1 } = cover(box)
    const votes = new Map<number, number>()
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const label = labels[y * width + x]!
        if (label !== NO_REGION && counts(label)) votes.set(label, (votes.get(label) ?? 0) + 1)
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
