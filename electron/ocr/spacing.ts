// PP-OCRv4's Chinese-and-English model often drops the space between English words
// ("whiskeyvictor"). The pixels still show it: a run of blank columns between two characters
// that is wider than the gaps between letters of one word.
import type { RawImage, Recognised } from './paddle.js'
import { median } from './median.js'
import { IDEOGRAPHS, fixLetterDigits, fullWidthMarks, halfWidthMarks, splitCrumbs } from './corrections.js'

/** A blank run at least this share of the crop height is a word space (letter gaps are ~1/20). */
const SPACE_SHARE = 0.16
/** Columns whose strongest difference from the background is under this share of the crop's
 * contrast hold no ink (anti-aliasing halos, subpixel fringes). */
const INK_SHARE = 0.3
const NARROW = /^[.,:;'"!|()[\]{}`]$/
// Chinese and Japanese set no spaces between characters, and full-width punctuation ("：", "，")
// carries its own blank: a gap beside either is no word space (one between a character and Latin
// text or digits can be, and is judged as any other).
const FULL_WIDTH_MARK = /[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]/
const IDEOGRAPH = new RegExp(`[${IDEOGRAPHS}]`)
// Curly quotes take a full cell in Chinese fonts: one beside a character ("“新版本”已发布") is no space.
const CURLY_QUOTE = /[“”‘’]/
const noSpaceBetween = (a: string, b: string): boolean =>
  FULL_WIDTH_MARK.test(a) ||
  FULL_WIDTH_MARK.test(b) ||
  (IDEOGRAPH.test(a) && (IDEOGRAPH.test(b) || CURLY_QUOTE.test(b))) ||
  (CURLY_QUOTE.test(a) && IDEOGRAPH.test(b))
/** A blank this share of the crop height between a Chinese character and other text is a space. */
const CJK_SPACE_SHARE = 0.12
/** Extra blank, in crop heights, allowed beside a narrow mark before it separates items. */
const NARROW_ALLOWANCE = 0.3
/** Share of the crop height, around its middle, where ink is looked for. */
const INK_BAND = 0.6
/** A missed space is at least this share of the narrowest space the model did read. */
const KNOWN_SPACE_SHARE = 0.7
/** A space is wider than this many typical gaps between letters (plus a pixel): in monospaced
 * text letters sit further apart, so the blank beside a "." is no space. */
const LETTER_GAP_FACTOR = 2
/** A blank this share of the crop height separates items, not words (layout.ts joins boxes
 * closer than its LINE_GAP, the same share, back into one line). */
const SPLIT_SHARE = 0.65
/** A blank under this share of the crop height between two pieces of one detector box is a soft
 * cut (Piece.soft): two spaces of monospaced text ("INFO  [http-3]" in a 4K log, 0.9 heights)
 * rather than two items, unless the row is a menu's or a status bar's ("File  Edit"). Where it
 * parts two items of proportional text ("#release" and "23 members", 0.8) they are read as one
 * line: a monospaced test on the blanks' lattice told logs from chat headers no better than chance. */
const HARD_SPLIT_SHARE = 1.2
/** Half-width, in crop heights, of the window around a character's centre that must hold ink. */
const INK_REACH = 0.25

/** For each column of the crop, whether any pixel in it differs visibly from the background. */
export function inkColumns(crop: RawImage): Uint8Array {
  const { data, width, height, channels } = crop
  const background = commonestColour(crop)
  const difference = new Float32Array(width)
  let contrast = 0
  // Only the middle band: a line box reaches into the descenders and ascenders of the lines
  // above and below, which would fill the gaps between this line's words.
  const top = Math.floor(height * (0.5 - INK_BAND / 2))
  const bottom = Math.ceil(height * (0.5 + INK_BAND / 2))
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < width; x++) {
      const index = (y * width + x) * channels
      const d = Math.max(
        Math.abs(data[index]! - background[0]!),
        Math.abs(data[index + 1]! - background[1]!),
        Math.abs(data[index + 2]! - background[2]!),
      )
      if (d > difference[x]!) difference[x] = d
      if (d > contrast) contrast = d
    }
  }
  const threshold = Math.max(16, INK_SHARE * contrast)
  const ink = new Uint8Array(width)
  for (let x = 0; x < width; x++) ink[x] = difference[x]! >= threshold ? 1 : 0
  return ink
}

/**
 * The crop's commonest colour (to 4 bits a channel, then the mean of the pixels in that bin): its
 * background. The median of the top and bottom rows was taken before, and a status bar's top
 * border made it the border's colour, so that every column was ink and no space was found.
 */
function commonestColour(crop: RawImage): number[] {
  const { data, width, height, channels } = crop
  const counts = new Uint32Array(4096)
  // Each bin's channel sums too, so one pass finds the bin and its mean colour.
  const sums = new Float64Array(4096 * 3)
  for (let i = 0, pixels = width * height; i < pixels; i++) {
    const index = i * channels
    const bin = ((data[index]! >> 4) << 8) | ((data[index + 1]! >> 4) << 4) | (data[index + 2]! >> 4)
    counts[bin]!++
    for (let c = 0; c < 3; c++) sums[bin * 3 + c]! += data[index + c]!
  }
  let bin = 0
  for (let b = 1; b < 4096; b++) if (counts[b]! > counts[bin]!) bin = b
  return [0, 1, 2].map((c) => sums[bin * 3 + c]! / Math.max(1, counts[bin]!))
}

interface Blank {
  start: number
  length: number
}

/** Runs of blank columns between ink (not the margins before the first or after the last ink). */
function blankRuns(ink: Uint8Array): Blank[] {
  const runs: Blank[] = []
  const first = ink.indexOf(1)
  if (first < 0) return runs
  let run = 0
  for (let x = first; x < ink.length; x++) {
    if (ink[x]) {
      if (run > 0) runs.push({ start: x - run, length: run })
      run = 0
    } else run++
  }
  return runs
}

/**
 * The widest blank whose middle lies between two character centres. CTC places a character
 * anywhere on its glyph, so a blank is matched by its middle, not by being inside the centres.
 */
function blankBetween(runs: Blank[], from: number, to: number): Blank {
  let widest: Blank = { start: from, length: 0 }
  for (const run of runs) {
    const middle = run.start + run.length / 2
    if (middle > from && middle <= to && run.length > widest.length) widest = run
  }
  return widest
}

/** Whether there is ink within `reach` of x. */
function inkNear(ink: Uint8Array, x: number, reach: number): boolean {
  for (let column = Math.max(0, Math.floor(x - reach)); column <= Math.min(ink.length - 1, Math.ceil(x + reach)); column++)
    if (ink[column]) return true
  return false
}

/** A piece of a recognised crop: its text and its horizontal extent in crop pixels. */
export interface Piece {
  text: string
  start: number
  end: number
  /** Where its ink starts and ends (the detector's box takes in padding around it). */
  ink?: { start: number; end: number }
  /** Cut from the piece before it at a blank under HARD_SPLIT_SHARE heights: one line unless
   * its row is a menu's or a status bar's (layout.ts). */
  soft?: boolean
}

/**
 * The recognised text with a space wherever the crop shows a word gap between two characters,
 * cut into pieces where the gap is wider than any word space (menu items, tabs, table cells).
 * A missed space must be wide against the text height, against the usual gap between letters of
 * this crop, and like the spaces the model did read (in a monospaced terminal the blank beside a
 * "." is wide, yet narrower than a space).
 */
export function readPieces(crop: RawImage, recognised: Recognised): Piece[] {
  const { chars, charCentres } = recognised
  const ink = inkColumns(crop)
  // An item's ink runs from its first character over blanks narrower than a word space.
  const wordGap = Math.max(2, SPACE_SHARE * crop.height)
  if (chars.length < 2) {
    const piece = { text: chars.join('').trim(), start: 0, end: crop.width }
    return piece.text === '' ? [] : [withInk(piece, ink, charCentres[0] ?? 0, charCentres[0] ?? crop.width, wordGap)]
  }
  const runs = blankRuns(ink)
  const knownSpaces: number[] = []
  for (let index = 1; index + 1 < chars.length; index++) {
    if (chars[index] === ' ' && chars[index - 1] !== ' ' && chars[index + 1] !== ' ')
      knownSpaces.push(blankBetween(runs, charCentres[index - 1]!, charCentres[index + 1]!).length)
  }
  const letterGaps: number[] = []
  for (let index = 1; index < chars.length; index++) {
    if (chars[index] !== ' ' && chars[index - 1] !== ' ')
      letterGaps.push(blankBetween(runs, charCentres[index - 1]!, charCentres[index]!).length)
  }
  const minSpace = Math.max(
    2,
    SPACE_SHARE * crop.height,
    LETTER_GAP_FACTOR * median(letterGaps) + 1,
    knownSpaces.length > 0 ? KNOWN_SPACE_SHARE * Math.min(...knownSpaces) : 0,
  )
  // Between a Chinese character and a digit or a Latin letter the blank is narrow unless a space
  // was set there (1-2 px against 3-4 at 1080p): the letter gaps of the digits say nothing of it.
  const cjkSpace = Math.max(2, CJK_SPACE_SHARE * crop.height)
  const spaceAt = (a: string, b: string): number => (IDEOGRAPH.test(a) !== IDEOGRAPH.test(b) ? cjkSpace : minSpace)
  const splitAt = SPLIT_SHARE * crop.height
  const pieces: Piece[] = []
  // The model sometimes reads a mark ("：", "-") into a long blank; a character needs ink near it.
  const reach = INK_REACH * crop.height
  // Latin text's full-width brackets in their ASCII form before the spaces are judged: the blank
  // a full-width mark's cell held is then a space, as in "if (x) {".
  const latin = !chars.some((char) => IDEOGRAPH.test(char))
  const kept = chars
    .map((char, index) => ({ char: latin ? halfWidthMarks(char) : char, centre: charCentres[index]! }))
    .filter(({ char, centre }) => char === ' ' || inkNear(ink, centre, reach))
  if (kept.length === 0) return []
  let text = kept[0]!.char
  let pieceStart = 0
  let soft = false
  /** The centres of each piece's first and last characters. */
  const ends: [number, number][] = []
  let first = kept[0]!.centre
  // The last character before this one that is not a space: model-read spaces (one or more, as
  // in "File  Edit") sit between the characters around them.
  let lastInk = 0
  for (let index = 1; index < kept.length; index++) {
    const previous = kept[index - 1]!.char
    const current = kept[index]!.char
    const blank = current === ' ' ? null : blankBetween(runs, kept[lastInk]!.centre, kept[index]!.centre)
    // Narrow marks (":", ",", "(") leave extra blank beside them in monospaced text.
    const before = kept[lastInk]!.char
    const narrow = NARROW.test(before) || NARROW.test(current)
    if (blank && blank.length >= splitAt + (narrow ? NARROW_ALLOWANCE * crop.height : 0)) {
      pieces.push({ text: text.trim(), start: pieceStart, end: blank.start, ...(soft && { soft }) })
      ends.push([first, kept[lastInk]!.centre])
      text = ''
      pieceStart = blank.start + blank.length
      soft = blank.length < HARD_SPLIT_SHARE * crop.height
      first = kept[index]!.centre
    } else if (blank && previous !== ' ' && blank.length >= spaceAt(previous, current) && !noSpaceBetween(previous, current)) text += ' '
    text += current
    if (current !== ' ') lastInk = index
  }
  pieces.push({ text: text.trim(), start: pieceStart, end: crop.width, ...(soft && { soft }) })
  ends.push([first, kept[lastInk]!.centre])
  return pieces
    .map((piece, index) => withInk(piece, ink, ends[index]![0], ends[index]![1], wordGap))
    .flatMap(splitCrumbs)
    .map((piece) => ({ ...piece, text: fixLetterDigits(fullWidthMarks(piece.text)) }))
    .filter((piece) => piece.text !== '')
}

/**
 * The piece with the extent of its ink: from its first character's centre leftwards and its last
 * one's rightwards, over ink and blanks narrower than `gap`, within the piece. A neighbour's glyph
 * that the detector's padded box took in (the "8" of "UTF-8" at the left of "LF"'s box) lies
 * beyond such a blank and is left out.
 */
function withInk(piece: Piece, ink: Uint8Array, firstCentre: number, lastCentre: number, gap: number): Piece {
  const low = Math.max(0, Math.floor(piece.start))
  const high = Math.min(ink.length, Math.ceil(piece.end)) - 1
  const from = Math.min(high, Math.max(low, Math.round(firstCentre)))
  const to = Math.min(high, Math.max(low, Math.round(lastCentre)))
  let start = -1
  let end = -1
  for (let x = from, blank = 0; x >= low && blank < gap; x--) {
    if (ink[x]) [start, blank] = [x, 0]
    else blank++
  }
  for (let x = to, blank = 0; x <= high && blank < gap; x++) {
    if (ink[x]) [end, blank] = [x + 1, 0]
    else blank++
  }
  if (start < 0) start = from
  if (end < 0) end = to + 1
  return end > start ? { ...piece, ink: { start, end } } : piece
}

/**
 * Cuts a long crop at word gaps into spans of at most `maxWidth` crop pixels. The recogniser's
 * attention costs more per pixel on long inputs and squeezes what passes its width cap, while
 * a gap between words is a safe place to cut. Without a word gap in reach, the span runs on.
 */
export function chunkSpans(crop: RawImage, maxWidth: number): { start: number; end: number }[] {
  if (crop.width <= maxWidth) return [{ start: 0, end: crop.width }]
  const minGap = Math.max(2, SPACE_SHARE * crop.height)
  const gaps = blankRuns(inkColumns(crop)).filter((run) => run.length >= minGap)
  const spans: { start: number; end: number }[] = []
  let start = 0
  while (crop.width - start > maxWidth) {
    // The last word gap that keeps this span within maxWidth, else the first one after it.
    const within = gaps.filter((gap) => gap.start > start && gap.start + gap.length / 2 - start <= maxWidth)
    const cut = within[within.length - 1] ?? gaps.find((gap) => gap.start > start)
    if (!cut) break
    const middle = Math.round(cut.start + cut.length / 2)
    spans.push({ start, end: middle })
    start = middle
  }
  spans.push({ start, end: crop.width })
  return spans
}
