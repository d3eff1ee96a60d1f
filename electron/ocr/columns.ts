// Column gutters of prose: a two-column PDF page or a newspaper's columns put lines of different
// columns side by side, often with baselines a few pixels apart, so their rows chain together
// and, being wide gaps that line up from row to row, they looked like table rows and were joined
// ("left line right line"). A gutter is a vertical blank band, at least a line height wide, that
// runs down through several rows with text on both sides, where the text on both sides is prose
// (lines many line heights wide). A table's columns also leave such a band, but its cells are
// short; a log line's timestamp beside its message is short on one side. Items on different
// sides of a gutter never share a line.
import type { TextItem } from './layout.js'
import { median } from './median.js'
import { bottom, right } from './box.js'

/** A gutter is at least this many line heights wide (word spaces are under half a height). */
const GUTTER_WIDTH = 1
/** Rows with text on both sides of the band needed for it to be a gutter. */
const MIN_GUTTER_ROWS = 3
/** The text beside a gutter is prose when, in the median row, it is at least this many line
 * heights wide and holds this many words: a table's cells are short and hold a word or two. */
const PROSE_WIDTH = 6
const PROSE_WORDS = 4
/** Runs either side of a band whose centres are at most this many line heights apart in this
 * share of its rows are level, as a table's cells are (two panels of different line pitch are
 * level now and then as they drift past each other, so a median is not enough). */
const LEVEL = 0.2
const LEVEL_SHARE = 0.8
/** A band stops at a vertical blank taller than this many line heights (a new section). */
const MAX_ROW_GAP = 3

export interface Gutter {
  start: number
  end: number
  top: number
  bottom: number
}

interface Run {
  width: number
  words: number
  /** Vertical centre of the run's boxes. */
  centre: number
}

/** The run of items that touches the band from one side (items closer than `join`): its width
 * and how many words it holds. */
function runBeside(row: TextItem[], edge: number, side: 'left' | 'right', join: number): Run {
  const items = row
    .filter((item) => (side === 'left' ? right(item.box) <= edge : item.box.x >= edge))
    .sort((a, b) => (side === 'left' ? b.box.x - a.box.x : a.box.x - b.box.x))
  if (items.length === 0) return { width: 0, words: 0, centre: 0 }
  let start = items[0]!.box.x
  let end = right(items[0]!.box)
  let words = 0
  let top = Infinity
  let low = -Infinity
  for (const [index, item] of items.entries()) {
    const { box } = item
    if (index > 0 && (side === 'left' ? start - right(box) > join : box.x - end > join)) break
    start = Math.min(start, box.x)
    end = Math.max(end, right(box))
    words += wordsIn(item.text)
    top = Math.min(top, box.y)
    low = Math.max(low, bottom(box))
  }
  return { width: end - start, words, centre: (top + low) / 2 }
}

/** Chinese sets no spaces: two characters count as a word. */
const IDEOGRAPHS = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g
const wordsIn = (text: string): number => Math.max(text.trim().split(/\s+/).length, Math.floor((text.match(IDEOGRAPHS)?.length ?? 0) / 2))

const prose = (runs: Run[], height: number): boolean =>
  median(runs.map((run) => run.width)) >= PROSE_WIDTH * height && median(runs.map((run) => run.words)) >= PROSE_WORDS

/**
 * The band that starts at one row's gap and runs down while no item crosses its middle and it
 * stays wide enough; null unless it has enough two-sided rows of prose on both sides.
 */
function bandFrom(rows: TextItem[][], first: number, start: number, end: number, height: number): Gutter | null {
  let top = Infinity
  let lowest = -Infinity
  let previousBottom = -Infinity
  const lefts: Run[] = []
  const rights: Run[] = []
  for (let index = first; index < rows.length; index++) {
    const row = rows[index]!
    const rowTop = Math.min(...row.map((item) => item.box.y))
    if (index > first && rowTop - previousBottom > MAX_ROW_GAP * height) break
    const middle = (start + end) / 2
    let newStart = start
    let newEnd = end
    let crossed = false
    for (const item of row) {
      if (right(item.box) <= middle) newStart = Math.max(newStart, right(item.box))
      else if (item.box.x >= middle) newEnd = Math.min(newEnd, item.box.x)
      else crossed = true
    }
    if (crossed || newEnd - newStart < GUTTER_WIDTH * height) break
    start = newStart
    end = newEnd
    previousBottom = Math.max(...row.map((item) => bottom(item.box)))
    const hasLeft = row.some((item) => right(item.box) <= start)
    const hasRight = row.some((item) => item.box.x >= end)
    if (hasLeft && hasRight) {
      lefts.push(runBeside(row, start, 'left', height))
      rights.push(runBeside(row, end, 'right', height))
    }
    if (hasLeft || hasRight) {
      top = Math.min(top, rowTop)
      lowest = previousBottom
    }
  }
  if (lefts.length < MIN_GUTTER_ROWS) return null
  // A table's cells sit level with each other; lines of two panels or columns set apart sit at
  // their own heights (an explorer's file list beside the code, a PDF's columns).
  const offsets = lefts.map((left, index) => Math.abs(left.centre - rights[index]!.centre))
  const level = offsets.filter((offset) => offset <= LEVEL * height).length >= LEVEL_SHARE * offsets.length
  if (level && !(prose(lefts, height) && prose(rights, height))) return null
  return { start, end, top: reachUp(rows, first, start, end, top, height), bottom: lowest }
}

/** The gutter's top, moved up over rows above its first that stay clear of the band (a headline
 * beside a sidebar's heading: the band was only found lower, where it is narrow). */
function reachUp(rows: TextItem[][], first: number, start: number, end: number, top: number, height: number): number {
  for (let index = first - 1; index >= 0; index--) {
    const row = rows[index]!
    if (top - Math.max(...row.map((item) => bottom(item.box))) > MAX_ROW_GAP * height) break
    if (row.some((item) => right(item.box) > start && item.box.x < end)) break
    top = Math.min(top, ...row.map((item) => item.box.y))
  }
  return top
}

/** Gutters between prose columns, found on a region's rows (items of a row left to right). */
export function findGutters(rows: TextItem[][]): Gutter[] {
  const height = median(rows.flat().map((item) => item.box.height))
  const found: Gutter[] = []
  rows.forEach((row, index) => {
    for (let at = 1; at < row.length; at++) {
      const start = Math.max(...row.slice(0, at).map((item) => right(item.box)))
      const end = row[at]!.box.x
      if (end - start < GUTTER_WIDTH * height) continue
      const centre = row[at]!.box.y + row[at]!.box.height / 2
      const known = found.some((g) => g.start < end && g.end > start && centre >= g.top && centre <= g.bottom)
      if (known) continue
      const gutter = bandFrom(rows, index, start, end, height)
      if (gutter) found.push(gutter)
    }
  })
  return found
}

/** A region's items split into the columns its prose gutters make (one group when none), and
 * what lies above or below a gutter's rows apart from it (a title, a footer). */
export function splitColumns(items: TextItem[], rows: TextItem[][]): TextItem[][] {
  const gutters = findGutters(rows)
  if (gutters.length === 0) return [items]
  const groups = new Map<string, TextItem[]>()
  for (const item of items) {
    const centre = item.box.y + item.box.height / 2
    const key = gutters
      .map((g) => (centre < g.top ? 'a' : centre > g.bottom ? 'b' : item.box.x + item.box.width / 2 < (g.start + g.end) / 2 ? 'L' : 'R'))
      .join('')
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return [...groups.values()]
}
