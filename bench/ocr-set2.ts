// bench:ocr's second screen set (issue 20): the layout cases of real desktops, scored apart
// from set 1. Lines without Chinese give linesRead2 and charErrorRate2; lines holding Chinese
// give cjkLinesRead; every figure is also given per case (columns, chrome, code, table,
// overlap, hard, accents, cjk) and per text-smoothing mode, with the kind of each miss (glued,
// split, misread, missing), so a change shows where it helps.
import { normalise, substringDistance, summarise, TOLERANCE, type LineScore } from '../test/ocr/score.js'
import { CASE_KINDS } from '../test/ocr/screens2/parts.js'
import { LAYOUTS2 } from '../test/ocr/screens2/layouts.js'
import { loadScreens2, type CaseKind, type ScreenCase2, type ScreenSize } from '../test/ocr/screens2/index.js'
import { SMOOTHINGS } from '../test/ocr/screens2/fontconfig.js'

/** A set-2 line's score with what it is, and why it was missed (null when read). */
export interface CaseScore extends LineScore {
  case: CaseKind
  cjk: boolean
  smoothing: string
  miss: MissKind | null
}

export const frac = (x: number): number => Math.round(x * 10000) / 10000

/**
 * The system language of someone whose screen looks like this layout; the others are an English
 * system's. The bench reads each screen with the language pack the app picks for its system
 * (packForLocales), as the app does: the French mail client and the German wiki with the in-app
 * French/German/Polish pack, everything else (accented words in an English editor or table
 * included) with the built-in English and Chinese one.
 */
export const SYSTEM_LANGUAGE: Readonly<Record<string, string>> = { 'mail-accents-light': 'fr-FR', 'wiki-accents-dark': 'de-DE' }
export const systemOf = (screen: ScreenCase2): string => SYSTEM_LANGUAGE[screen.id.replace(/@.*$/, '')] ?? 'en-US'

/** Set 2's screens, when the names asked for (if any) include some of its layouts. */
export async function loadSet2(
  sizes: ScreenSize[] | undefined,
  names: string[] | undefined,
  log: (line: string) => void,
): Promise<ScreenCase2[]> {
  const mine = names?.filter((n) => LAYOUTS2.some((l) => l.name === n))
  if (names && !mine?.length) return []
  return loadScreens2({ sizes, layouts: mine, log })
}
export const isSet2Layout = (name: string): boolean => LAYOUTS2.some((l) => l.name === name)

/**
 * Why a line was not read: glued (within 10% edits of part of one longer recognised line: joined
 * to a neighbour), split (found only across recognised lines: cut apart), misread (not found, but
 * a recognised line within 30% edits: recognition), missing (nothing close: not detected).
 */
export type MissKind = 'glued' | 'split' | 'misread' | 'missing'
export function missKind(s: LineScore, recognised: readonly string[]): MissKind | null {
  if (s.read) return null
  const allowed = Math.floor(TOLERANCE * s.text.length)
  if (s.found)
    return recognised.some((r) => r.length > s.text.length && substringDistance(s.text, r, allowed) <= allowed) ? 'glued' : 'split'
  return s.distance <= 0.3 * s.text.length ? 'misread' : 'missing'
}

/** Pairs each truth line's score with its case and miss kind (scoreText keeps the truth's order; truth lines are never blank). */
export function labelled(screen: ScreenCase2, scores: LineScore[], cjk: boolean, output: string): CaseScore[] {
  const truth = cjk ? screen.cjkLines : screen.lines
  if (truth.length !== scores.length) throw new Error(`${screen.id}: ${truth.length} truth lines but ${scores.length} scores`)
  const recognised = output.split('\n').map(normalise).filter(Boolean)
  return scores.map((s, i) => ({ ...s, case: truth[i]!.case, cjk, smoothing: screen.smoothing, miss: missKind(s, recognised) }))
}

const misses = (of: CaseScore[]): Record<MissKind, number> => {
  const out: Record<MissKind, number> = { glued: 0, split: 0, misread: 0, missing: 0 }
  for (const s of of) if (s.miss) out[s.miss]++
  return out
}

interface Part {
  lines: number
  linesRead: number
  linesFound: number
  charErrorRate: number
  misses: Record<MissKind, number>
}
const part = (lines: CaseScore[]): Part => {
  const s = summarise(lines)
  return {
    lines: s.total,
    linesRead: frac(s.linesRead),
    linesFound: frac(s.linesFound),
    charErrorRate: frac(s.charErrorRate),
    misses: misses(lines),
  }
}

/** The set's figures: the three, then where the misses are. */
export function set2Figures(scores: CaseScore[]): {
  linesRead2: number
  charErrorRate2: number
  cjkLinesRead: number | null
  linesFound2: number
  cjkCharErrorRate: number | null
  truthLines: number
  cjkTruthLines: number
  byCase: Partial<Record<CaseKind, Part>>
  cjkByCase: Partial<Record<CaseKind, Part>>
  bySmoothing: Record<string, Part>
} {
  const latin = scores.filter((s) => !s.cjk)
  const cjk = scores.filter((s) => s.cjk)
  const a = summarise(latin)
  const c = summarise(cjk)
  const byCase = (of: CaseScore[]): Partial<Record<CaseKind, Part>> =>
    Object.fromEntries(CASE_KINDS.filter((k) => of.some((s) => s.case === k)).map((k) => [k, part(of.filter((s) => s.case === k))]))
  return {
    linesRead2: frac(a.linesRead),
    charErrorRate2: frac(a.charErrorRate),
    // null, not 1, when the screens run hold no Chinese.
    cjkLinesRead: c.total ? frac(c.linesRead) : null,
    linesFound2: frac(a.linesFound),
    cjkCharErrorRate: c.total ? frac(c.charErrorRate) : null,
    truthLines: a.total,
    cjkTruthLines: c.total,
    byCase: byCase(latin),
    cjkByCase: byCase(cjk),
    bySmoothing: Object.fromEntries(SMOOTHINGS.map((m) => [m, part(latin.filter((s) => s.smoothing === m))])),
  }
}
