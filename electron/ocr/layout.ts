// What a line is: recognised boxes grouped into lines only inside one region (a window, a panel),
// only when they share a row and sit close sideways, except that rows of a table stay whole.
// Lines then go into blocks: the columns of a region are found by the whitespace that runs
// between them through consecutive rows, so two columns are read one after the other.
import { isMenu, isStatusBar } from './chrome.js'
import { splitColumns } from './columns.js'
import { splitGutter } from './gutter.js'
import type { OcrBlock, OcrBox, OcrLine } from './types.js'
import { median } from './median.js'

export interface TextItem {
  box: OcrBox
  text: string
  confidence: number
  /** The region (window, panel) the box sits in; items of different regions never share a line. */
  region: number
  /** Where the text's ink starts and ends across the box (the detector's box takes in padding). */
  ink?: { start: number; end: number }
}

/** Boxes share a row when they overlap vertically by this share of the smaller height. */
const ROW_OVERLAP = 0.5
/** Boxes of one row further apart than this many box heights are separate items (tabs, menus). */
const LINE_GAP = 0.65
/** A vertical gutter narrower than this many line heights is a word space, not a column gap. */
const COLUMN_GAP = 0.8
/** Rows of one table hold text of one size: boxes at most this many times as tall as each other. */
const SAME_SIZE = 1.3
/** Cells of one column start, end or centre within this many line heights of each other. */
const ALIGN = 0.25
/** Rows further apart than this many line heights do not belong to one table. */
const TABLE_ROW_GAP = 1.6
/** Cells wider than this many line heights are lines of prose in columns, not table cells. */
const PROSE_CELL = 14
/** A region no wider than this many line heights is a list item or a sidebar, where a label and
 * a number pushed to either edge (a sender and the time, a folder and its count) are one row. */
const JUSTIFIED_WIDTH = 32

const right = (box: OcrBox): number => box.x + box.width
const bottom = (box: OcrBox): number => box.y + box.height

function union(boxes: OcrBox[]): OcrBox {
  const x = Math.min(...boxes.map((box) => box.x))
  const y = Math.min(...boxes.map((box) => box.y))
  return {
    x,
    y,
    width: Math.max(...boxes.map(right)) - x,
    height: Math.max(...boxes.map(bottom)) - y,
  }
}

function verticalOverlap(a: OcrBox, b: OcrBox): number {
  return Math.max(0, Math.min(bottom(a), bottom(b)) - Math.max(a.y, b.y))
}

/** Joins items into one line: text by single spaces, confidence weighted by text length. */
function joinLine(items: TextItem[]): OcrLine {
  const sorted = [...items].sort((a, b) => a.box.x - b.box.x)
  const text = sorted
    .map((item) => item.text.trim())
    .filter((part) => part !== '')
    .join(' ')
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
    if (gap > LINE_GAP * height) segments.push([item])
    else segments[segments.length - 1]!.push(item)
  }
  return segments
}

interface Row {
  segments: TextItem[][]
  box: OcrBox
}

const isLineNumber = (segment: TextItem[]): boolean => segment.length === 1 && /^\d{1,6}$/.test(segment[0]!.text.trim())

/**
 * Two rows are rows of one table when they have the same number of cells and every gap between
 * cells of one overlaps the matching gap of the other. Prose in two columns also lines up that
 * way, so wide cells say prose; a code gutter does too, so a lone number first says gutter.
 */
function sameTable(a: Row, b: Row, maxGap: number, strict = false): boolean {
  if (a.segments.length < 2 || b.segments.length < 2) return false
  const height = (a.box.height + b.box.height) / 2
  if (b.box.y - bottom(a.box) > maxGap * height) return false
  // A lone number first in both rows is a code gutter unless the cells after it line up as a
  // table of their own (a spreadsheet's row numbers).
  if (isLineNumber(a.segments[0]!) && isLineNumber(b.segments[0]!)) {
    const rest = (row: Row): Row => {
      const segments = row.segments.slice(1)
      return { segments, box: union(segments.flat().map((item) => item.box)) }
    }
    return a.segments.length > 2 && b.segments.length > 2 && sameTable(rest(a), rest(b), maxGap, strict)
  }
  const boxesA = a.segments.map((segment) => union(segment.map((item) => item.box)))
  const boxesB = b.segments.map((segment) => union(segment.map((item) => item.box)))
  // Prose in columns: two or more wide cells in both rows. A log line's wide message beside its
  // timestamp is still one row.
  const wide = (boxes: OcrBox[]): boolean => boxes.filter((box) => box.width > PROSE_CELL * height).length >= 2
  if (wide(boxesA) && wide(boxesB)) return false
  // Cells merge or go missing in some rows (an empty cell, two close cells read as one box), so
  // half the column gaps of the sparser row must line up, not all.
  const gapsA = cellGaps(boxesA)
  const gapsB = cellGaps(boxesB)
  const pairs = gapsA.flatMap((gap, i) =>
    gapsB.flatMap((other, j) => (Math.min(gap.end, other.end) > Math.max(gap.start, other.start) ? [[i, j] as const] : [])),
  )
  const matched = new Set(pairs.map(([i]) => i)).size
  if (matched < 1 || matched < 0.5 * Math.min(gapsA.length, gapsB.length)) return false
  if (strict && (matched < gapsA.length || new Set(pairs.map(([, j]) => j)).size < gapsB.length)) return false
  // A table's columns line up: beside every shared gap, the cells on one side start together
  // (text), end together (numbers) or share a centre. A tab strip over a breadcrumb bar has gaps
  // that overlap by chance, and its cells line up beside some of them at most.
  const aligned = new Set(
    pairs
      .filter(([i, j]) => sameColumn(boxesA[i]!, boxesB[j]!, height) || sameColumn(boxesA[i + 1]!, boxesB[j + 1]!, height))
      .map(([i]) => i),
  ).size
  return aligned === matched
}

/** Whether two cells line up as cells of one column do: left edges, right edges or centres. */
function sameColumn(a: OcrBox, b: OcrBox, height: number): boolean {
  const near = (x: number, y: number): boolean => Math.abs(x - y) <= ALIGN * height
  return near(a.x, b.x) || near(right(a), right(b)) || near(a.x + a.width / 2, b.x + b.width / 2)
}

function spansAsTable(row: Row, neighbour: Row, neighbourIsTable: boolean): boolean {
  const [upper, lower] = neighbour.box.y < row.box.y ? [neighbour, row] : [row, neighbour]
  const height = (row.box.height + neighbour.box.height) / 2
  if (lower.box.y - bottom(upper.box) > TABLE_ROW_GAP * height) return false
  if (!neighbourIsTable && neighbour.segments.length !== 1) return false
  // A heading is no row of a table: a tab strip over a page's title stays a tab strip.
  if (!neighbourIsTable && Math.max(row.box.height, neighbour.box.height) > SAME_SIZE * Math.min(row.box.height, neighbour.box.height))
    return false
  // A sentence is no table row: buttons under a banner's text stay apart.
  if (!neighbourIsTable && /[.!?]$/.test(neighbour.segments[0]!.map((item) => item.text.trim()).join(' '))) return false
  return neighbour.box.x <= row.box.x + height && right(neighbour.box) >= right(row.box) - 2 * height
}

function cellGaps(boxes: OcrBox[]): { start: number; end: number }[] {
  return boxes.slice(1).map((box, index) => ({ start: right(boxes[index]!), end: box.x }))
}

/** Lines of one region: table rows whole, other rows cut at wide gaps. */
function linesOf(items: TextItem[]): OcrLine[] {
  const rows: Row[] = splitGutter(rowsOf(items).map(segmentsOf)).map((segments) => ({
    segments,
    box: union(segments.flat().map((item) => item.box)),
  }))
  const table = rows.map(() => false)
  for (let index = 1; index < rows.length; index++) {
    if (sameTable(rows[index - 1]!, rows[index]!, TABLE_ROW_GAP)) {
      table[index - 1] = true
      table[index] = true
    }
  }
  // Two rows alone make a table only when every gap of each lines up with one of the other: a
  // tab strip over a breadcrumb bar, both starting at a window's edge, share a gap or two.
  for (let index = 1; index < rows.length; index++) {
    const pairAlone = table[index - 1] && table[index] && !table[index - 2] && !table[index + 1]
    if (pairAlone && !sameTable(rows[index - 1]!, rows[index]!, TABLE_ROW_GAP, true)) table[index - 1] = table[index] = false
  }
  // A header row's short labels split apart where the rows under it read as one box each: a row
  // of three or more cells spanned by the row beside it, itself a table row or one wide box.
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    if (table[index] || row.segments.length < 3) continue
    const neighbours = [index - 1, index + 1].filter((other) => other >= 0 && other < rows.length)
    table[index] = neighbours.some((other) => spansAsTable(row, rows[other]!, table[other]!))
  }
  const extent = union(items.map((item) => item.box))
  rows.forEach((row, index) => {
    if (!table[index] && justified(row, extent)) table[index] = true
  })
  return rows.flatMap((row, index) => (table[index] ? [joinLine(row.segments.flat())] : row.segments.map((segment) => joinLine(segment))))
}

/** A label and a number (a count, a time) of a narrow region's row, one flush with each edge. */
function justified(row: Row, extent: OcrBox): boolean {
  if (row.segments.length !== 2 || isLineNumber(row.segments[0]!)) return false
  const value = row.segments[1]!.map((item) => item.text.trim()).join(' ')
  if (!/^\d[\d:.,]*$/.test(value)) return false
  const height = median(row.segments.flat().map((item) => item.box.height))
  if (extent.width > JUSTIFIED_WIDTH * height) return false
  const [first, second] = row.segments.map((segment) => union(segment.map((item) => item.box))) as [OcrBox, OcrBox]
  return first.x - extent.x <= height && right(extent) - right(second) <= height
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
 * each other left to right), each region's columns in turn.
 */
export function layoutBlocks(items: TextItem[]): OcrBlock[] {
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
    const lines = linesOf(groupItems)
    return { box: union(lines.map((line) => line.box)), lines, height: medianHeight(lines) }
  })
  regions.sort((a, b) => {
    if (Math.abs(a.box.y - b.box.y) < Math.min(a.height, b.height)) return a.box.x - b.box.x
    return a.box.y - b.box.y
  })
  return regions.flatMap((region) => columnsOf(region.lines).map((lines) => ({ box: union(lines.map((line) => line.box)), lines })))
}
