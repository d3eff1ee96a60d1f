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
  const edge = numbers.length >= MIN_GUTTER_ROWS ? null : numberedEdge(rows)
  if (numbers.length < MIN_GUTTER_ROWS && edge === null) return rows
  const edges = edge ? [edge.right] : numbers.map((segment) => segment![0]!.box.x + segment![0]!.box.width).sort((a, b) => a - b)
  const gutterRight = edges[Math.floor(edges.length / 2)]!
  const lefts = edge ? [edge.left] : numbers.map((segment) => segment![0]!.box.x).sort((a, b) => a - b)
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

/**
 * A short editor (a few lines) may show fewer than MIN_GUTTER_ROWS lone numbers, the detector
 * having boxed most numbers with their code ("41 const total"). Rows that start with consecutive
 * line numbers (41, 42, 43) are a gutter all the same; its right edge is the median of the
 * numbers' ends, measured where a number stands alone and estimated by character share where it
 * shares a box.
 */
function numberedEdge(rows: TextItem[][][]): { left: number; right: number } | null {
  const found: { value: number; left: number; right: number }[] = []
  for (const row of rows) {
    const first = row[0]?.[0]
    if (!first) continue
    const text = first.text.trim()
    const lone = LONE_NUMBER.test(text)
    const match = lone ? null : NUMBER_THEN_TEXT.exec(text)
    if (!lone && !match) continue
    const digits = lone ? text : match![1]!
    const right = lone ? first.box.x + first.box.width : first.box.x + (first.box.width * digits.length) / text.length
    found.push({ value: Number(digits), left: first.box.x, right })
  }
  let consecutive = 1
  for (let index = 1; index < found.length; index++) {
    consecutive = found[index]!.value === found[index - 1]!.value + 1 ? consecutive + 1 : 1
    if (consecutive >= MIN_GUTTER_ROWS) {
      const rights = found.map((number) => number.right).sort((a, b) => a - b)
      return { left: Math.min(...found.map((number) => number.left)), right: rights[Math.floor(rights.length / 2)]! }
    }
  }
  return null
}
