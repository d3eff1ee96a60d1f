// Scores recognised text against a screen's truth lines (issue 11: "a line is read when the
// recognised text holds it within 10% character edits").
//
//   read:   some recognised line (output split on "\n") is within 10% edits of the truth line,
//           so a line glued to its neighbour or cut in two does NOT count as read;
//   found:  the truth line occurs somewhere in the whole output within 10% edits, as an
//           approximate substring (lines glued or split still count): how much was recognised
//           at all, whatever the layout did;
//   charErrorRate: sum over truth lines of min(edits to the best recognised line, its length),
//           over the sum of truth lengths.
import { distance } from 'fastest-levenshtein'

export const TOLERANCE = 0.1

/** Runs of whitespace become one space; ends trimmed. */
export const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim()

/**
 * Fewest edits turning `needle` into some substring of `haystack` (semi-global alignment: the
 * match may start and end anywhere in the haystack for free). Stops early once every cell of a
 * column exceeds `limit`, returning limit + 1.
 */
export function substringDistance(needle: string, haystack: string, limit = Infinity): number {
  const m = needle.length
  if (m === 0) return 0
  // col[i]: edits of needle[0..i) ending at the current haystack position; col[0] = 0 everywhere.
  let prev = new Int32Array(m + 1)
  let cur = new Int32Array(m + 1)
  for (let i = 0; i <= m; i++) prev[i] = i
  let best = prev[m]!
  for (let j = 1; j <= haystack.length; j++) {
    const c = haystack.charCodeAt(j - 1)
    cur[0] = 0
    for (let i = 1; i <= m; i++) {
      const sub = prev[i - 1]! + (needle.charCodeAt(i - 1) === c ? 0 : 1)
      const del = prev[i]! + 1
      const ins = cur[i - 1]! + 1
      cur[i] = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins
    }
    if (cur[m]! < best) best = cur[m]!
    if (best === 0) return 0
    const t = prev
    prev = cur
    cur = t
  }
  return best > limit ? limit + 1 : best
}

export interface LineScore {
  text: string
  /** Edits to the closest recognised line (capped at the line's length). */
  distance: number
  read: boolean
  found: boolean
  /** The closest recognised line. */
  closest: string
}

export interface Score {
  lines: LineScore[]
  total: number
  read: number
  found: number
  /** read / total (1 when there is no truth). */
  linesRead: number
  linesFound: number
  errorChars: number
  truthChars: number
  charErrorRate: number
}

/** Scores one screen: its truth lines against the recogniser's text (lines joined by "\n"). */
export function scoreText(truth: readonly string[], output: string): Score {
  const recognised = output.split('\n').map(normalise).filter(Boolean)
  // The whole output as one string for "found": a line split in two still matches across the break.
  const whole = recognised.join(' ')
  const lines: LineScore[] = []
  for (const raw of truth) {
    const text = normalise(raw)
    if (!text) continue
    let best = text.length
    let closest = ''
    for (const rec of recognised) {
      // Edits are at least the length difference: skip lines that cannot beat the best so far.
      if (Math.abs(rec.length - text.length) >= best) continue
      const d = distance(text, rec)
      if (d < best) {
        best = d
        closest = rec
        if (d === 0) break
      }
    }
    const allowed = TOLERANCE * text.length
    const read = best <= allowed
    const found = read || whole.includes(text) || substringDistance(text, whole, Math.floor(allowed)) <= allowed
    lines.push({ text, distance: best, read, found, closest })
  }
  return summarise(lines)
}

/** Totals over any set of line scores (one screen, a kind of screen, the whole set). */
export function summarise(lines: LineScore[]): Score {
  const total = lines.length
  const read = lines.filter((l) => l.read).length
  const found = lines.filter((l) => l.found).length
  const truthChars = lines.reduce((s, l) => s + l.text.length, 0)
  const errorChars = lines.reduce((s, l) => s + Math.min(l.distance, l.text.length), 0)
  return {
    lines,
    total,
    read,
    found,
    linesRead: total ? read / total : 1,
    linesFound: total ? found / total : 1,
    errorChars,
    truthChars,
    charErrorRate: truthChars ? errorChars / truthChars : 0,
  }
}
