// What a line is: recognised boxes grouped into lines only inside one region (a window, a panel),
// only when they share a row and sit close sideways, except that rows of a table stay whole.
// Lines then go into blocks: the columns of a region are found by the whitespace that runs
// between them through consecutive rows, so two columns are read one after the other. Which
// rows are a table's is tables.ts's to say.
import { isMenu, isStatusBar } from './chrome.js'
import { splitColumns } from './columns.js'
import { splitGutter } from './gutter.js'
import type { OcrBlock, OcrBox, OcrLine } from './types.js'
import { median } from './median.js'
import { bottom, right, union, verticalOverlap } from './box.js'
import { tableRows, type Row } from './tables.js'
import { logicalOrder } from './rtl.js'

export interface TextItem {
  box: OcrBox
  text: string
  confidence: number
  /** The region (window, panel) the box sits in; items of different regions never share a line. */
  region: number
  /** Where the text's ink starts and ends across the box (the detector's box takes in padding). */
  ink?: { start: number; end: number }
  /** Read from one detector box with the item before it, parted by a blank of two spaces or so
   * (spacing.ts's soft cut): the same line unless the row is a menu's or a status bar's. */
  joined?: boolean
}

/** Boxes share a row when they overlap vertically by this share of the smaller height. */
const ROW_OVERLAP = 0.5
/** Boxes of one row further apart than this many box heights are separate items (tabs, menus). */
const LINE_GAP = 0.65
/** A vertical gutter narrower than this many line heights is a word space, not a column gap. */
const COLUMN_GAP = 0.8
/** Joins items into one line: text by single spaces, confidence weighted by text length. A
 *  right-to-left line is joined as it lies on the image, then put in the order it is written
 *  (its words right to left, a left-to-right run such as a number or "Hello world" kept). */
function joinLine(items: TextItem[], rtl: boolean): OcrLine {
  const sorted = [...items].sort((a, b) => a.box.x - b.box.x)
  const visual = sorted
    .map((item) => item.text.trim())
    .filter((part) => part !== '')
    .join(' ')
  const text = rtl ? logicalOrder(visual) : visual
  const weight = sorted.reduce((sum, item) => sum + Math.max(1, item.text.length), 0)
  const confidence = sorted.reduce((sum, item) => sum + item.confidence * Math.max(1, item.text.length), 0) / weight
  return { text, box: union(sorted.map((item) => item.box)), confidence }
}

/** Rows of one region: items overlapping vertically, left to right. */
export function rowsOf(items: TextItem[]): TextItem[][] {
  const sorted = [...items].sort((a, b) => a.box.y + a.box.height / 2 - (b.box.y + b.box.height / 2))
  const rows: { core: OcrBox; items: TextItem[] }[] = []
  for (const item of sorted) {
    // Recent rows first: the matching row, if any, is among the last few.
    let placed = false
    for (let index = rows.length - 1; index >= 0 && index >= rows.length - 4; index--) {
      const row = rows[index]!
      const smaller = Math.min(row.core.height, item.box.height)
      if (verticalOverlap(row.core, item.box) >= ROW_OVERLAP * smaller) {
        row.items.push(item)
        placed = true
        break
      }
    }
    if (!placed) rows.push({ core: item.box, items: [item] })
  }
  return rows.map((row) => row.items.sort((a, b) => a.box.x - b.box.x))
}

/** Items of one row cut where the gap is wider than LINE_GAP heights; a menu bar's and a status
 * bar's every item. */
function segmentsOf(row: TextItem[]): TextItem[][] {
  if (isMenu(row) || isStatusBar(row)) return row.map((item) => [item])
  const segments: TextItem[][] = [[row[0]!]]
  for (let index = 1; index < row.length; index++) {
    const previous = row[index - 1]!
    const item = row[index]!
    const height = (previous.box.height + item.box.height) / 2
    const gap = item.box.x - right(previous.box)
    if (gap > LINE_GAP * height && !item.joined) segments.push([item])
    else segments[segments.length - 1]!.push(item)
  }
  return segments
}

/** Lines of one region: table rows whole, other rows cut at wide gaps. */
function linesOf(items: TextItem[], rtl: boolean): OcrLine[] {
  const rows: Row[] = splitGutter(rowsOf(items).map(segmentsOf)).map((segments) => ({
    segments,
    box: union(segments.flat().map((item) => item.box)),
  }))
  const table = tableRows(rows, union(items.map((item) => item.box)))
  return rows.flatMap((row, index) =>
    table[index] ? [joinLine(row.segments.flat(), rtl)] : row.segments.map((segment) => joinLine(segment, rtl)),
  )
}

interface Interval {
  start: number
  end: number
}

/** Uncovered stretches between the boxes along one axis, at least `minGap` wide. */
function gaps(boxes: OcrBox[], axis: 'x' | 'y', minGap: number): Interval[] {
  const spans = boxes
    .map((box) => (axis === 'x' ? { start: box.x, end: right(box) } : { start: box.y, end: bottom(box) }))
    .sort((a, b) => a.start - b.start)
  const found: Interval[] = []
  let reach = spans[0]!.end
  for (const span of spans.slice(1)) {
    if (span.start - reach >= minGap) found.push({ start: reach, end: span.start })
    reach = Math.max(reach, span.end)
  }
  return found
}

const medianHeight = (lines: OcrLine[]): number => median(lines.map((line) => line.box.height))

const byRowThenX = (a: OcrLine, b: OcrLine): number => {
  const overlap = verticalOverlap(a.box, b.box)
  if (overlap >= ROW_OVERLAP * Math.min(a.box.height, b.box.height)) return a.box.x - b.box.x
  return a.box.y - b.box.y || a.box.x - b.box.x
}

/**
 * Columns of a region, in reading order. Horizontal bands (cut at every empty row of pixels) are
 * grouped while they share a vertical gutter; a group of several bands with a gutter is split into
 * columns there and each column read on its own. A single band with gaps (a tab strip) stays one
 * block, read left to right.
 */
function columnsOf(lines: OcrLine[], depth = 0): OcrLine[][] {
  if (lines.length < 2 || depth > 6) return [lines.sort(byRowThenX)]
  const height = medianHeight(lines)
  const cuts = gaps(
    lines.map((line) => line.box),
    'y',
    1,
  )
  const bands: OcrLine[][] = []
  let rest = lines
  for (const cut of cuts) {
    bands.push(rest.filter((line) => bottom(line.box) <= cut.start))
    rest = rest.filter((line) => bottom(line.box) > cut.start)
  }
  bands.push(rest)
  const blocks: OcrLine[][] = []
  let group: OcrLine[] = []
  let gutters: Interval[] = []
  const flush = (): void => {
    if (group.length === 0) return
    if (gutters.length > 0 && groupBands > 1) {
      const columns = splitAt(group, gutters)
      for (const column of columns) blocks.push(...columnsOf(column, depth + 1))
    } else blocks.push(group.sort(byRowThenX))
    group = []
    gutters = []
    groupBands = 0
  }
  let groupBands = 0
  for (const band of bands) {
    const bandGutters = gaps(
      band.map((line) => line.box),
      'x',
      COLUMN_GAP * height,
    )
    const shared = intersect(gutters, bandGutters, COLUMN_GAP * height)
    if (groupBands > 0 && (shared.length > 0 || (gutters.length === 0 && bandGutters.length === 0))) {
      group = [...group, ...band]
      gutters = shared
      groupBands++
    } else {
      flush()
      group = [...band]
      gutters = bandGutters
      groupBands = 1
    }
  }
  flush()
  return blocks
}

function intersect(a: Interval[], b: Interval[], minWidth: number): Interval[] {
  const shared: Interval[] = []
  for (const first of a) {
    for (const second of b) {
      const start = Math.max(first.start, second.start)
      const end = Math.min(first.end, second.end)
      if (end - start >= minWidth) shared.push({ start, end })
    }
  }
  return shared
}

function splitAt(lines: OcrLine[], gutters: Interval[]): OcrLine[][] {
  const edges = gutters.map((gutter) => (gutter.start + gutter.end) / 2).sort((a, b) => a - b)
  const columns: OcrLine[][] = edges.map(() => [])
  columns.push([])
  for (const line of lines) {
    const centre = line.box.x + line.box.width / 2
    let index = 0
    while (index < edges.length && centre > edges[index]!) index++
    columns[index]!.push(line)
  }
  return columns.filter((column) => column.length > 0)
}

/**
 * Blocks in reading order: regions by their top edge (regions starting within a line height of
 * each other left to right), each region's columns in turn. `rtl`: the items' text is read off a
 * right-to-left script (see rtl.ts).
 */
export function layoutBlocks(items: TextItem[], { rtl = false }: { rtl?: boolean } = {}): OcrBlock[] {
  const usable = items.filter((item) => item.text.trim() !== '')
  if (usable.length === 0) return []
  const byRegion = new Map<number, TextItem[]>()
  for (const item of usable) {
    const list = byRegion.get(item.region)
    if (list) list.push(item)
    else byRegion.set(item.region, [item])
  }
  // Each column of prose is read as a region of its own (columns.ts): lines within it, in order.
  const groups = [...byRegion.values()].flatMap((regionItems) => splitColumns(regionItems, rowsOf(regionItems)))
  const regions = groups.map((groupItems) => {
    const lines = linesOf(groupItems, rtl)
    return { box: union(lines.map((line) => line.box)), lines, height: medianHeight(lines) }
  })
  regions.sort((a, b) => {
    if (Math.abs(a.box.y - b.box.y) < Math.min(a.height, b.height)) return a.box.x - b.box.x
    return a.box.y - b.box.y
  })
  return regions.flatMap((region) => columnsOf(region.lines).map((lines) => ({ box: union(lines.map((line) => line.box)), lines })))
}
