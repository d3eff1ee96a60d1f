// A code editor's gutter: line numbers right-aligned in a column of their own, the code a short
// gap after them. Where a line of code starts at the gutter's edge, the detector often takes the
// number and the code as one box and the recogniser reads "228 // Process"; the screen holds two
// items there (a line number and a line of code), as the gutter's other rows show.
import type { TextItem } from './layout.js'

/** At least this many rows of a region must start with a lone number for it to have a gutter. */
const MIN_GUTTER_ROWS = 3
const LONE_NUMBER = /^\d{1,6}$/
const NUMBER_THEN_TEXT = /^(\d{1,6}) +(\S.*)$/

/**
 * Rows of one region as segments of items (left to right); where the region has a gutter, a first
 * item reading "<number> <code>" that starts in the gutter becomes two segments: the number and
 * the code. Boxes are split at the gutter's right edge.
 */
export function splitGutter(rows: TextItem[][][]): TextItem[][][] {
  const numbers = rows.map((row) => row[0]).filter((segment) => segment?.length === 1 && LONE_NUMBER.test(segment[0]!.text.trim()))
  if (numbers.length < MIN_GUTTER_ROWS) return rows
  const edges = numbers.map((segment) => segment![0]!.box.x + segment![0]!.box.width).sort((a, b) => a - b)
  const gutterRight = edges[Math.floor(edges.length / 2)]!
  const lefts = numbers.map((segment) => segment![0]!.box.x).sort((a, b) => a - b)
  const gutterLeft = lefts[0]!
  return rows.map((row) => {
    const first = row[0]?.[0]
    if (!first) return row
    // The number read as an item of its own, joined to the code by the row's short gap.
    if (
      row[0]!.length > 1 &&
      LONE_NUMBER.test(first.text.trim()) &&
      Math.abs(first.box.x + first.box.width - gutterRight) <= first.box.height
    )
      return [[first], row[0]!.slice(1), ...row.slice(1)]
    const match = NUMBER_THEN_TEXT.exec(first.text.trim())
    const { box } = first
    // The item must begin inside the gutter and run past it.
    if (!match || box.x < gutterLeft - box.height || box.x >= gutterRight || box.x + box.width <= gutterRight + box.height) return row
    const number: TextItem = { ...first, text: match[1]!, box: { ...box, width: gutterRight - box.x } }
    const codeStart = gutterRight + Math.round(box.height / 2)
    const code: TextItem = { ...first, text: match[2]!, box: { ...box, x: codeStart, width: box.x + box.width - codeStart } }
    return [[number], [code, ...row[0]!.slice(1)], ...row.slice(1)]
  })
}
