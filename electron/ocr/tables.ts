// What a table row is: rows of one region whose cells line up (text starting together, numbers
// ending together), a header row over them, or a label and a number flush with a narrow region's
// edges. A table row is read as one line, its cells joined by single spaces, so a table stays a
// table; everything else is cut at its wide gaps (layout.ts).
import type { TextItem } from './layout.js'
import type { OcrBox } from './types.js'
import { median } from './median.js'
import { bottom, right, union } from './box.js'

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

export interface Row {
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

/**
 * Which rows of a region (top to bottom) are rows of a table, each to be read whole: rows whose
 * cells line up with a neighbour's, a header row of short labels over them, and a narrow
 * region's label-and-number rows. `extent` is the region's box.
 */
export function tableRows(rows: Row[], extent: OcrBox): boolean[] {
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
  rows.forEach((row, index) => {
    if (!table[index] && justified(row, extent)) table[index] = true
  })
  return table
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
