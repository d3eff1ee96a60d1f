// What the recogniser reads wrong in a piece's text, mended from the text around it: a capital O
// read as a zero, Chinese marks read in their ASCII forms (and Latin text's in full-width ones),
// and a breadcrumb bar's chevron icons
// read as ">" between its crumbs. readPieces (spacing.ts) applies them to every piece.
import type { Piece } from './spacing.js'

/** Kana and CJK ideographs, as the inside of a character class. */
export const IDEOGRAPHS = '\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'
/** A bracketed part after a character with a space's blank before it: full-width brackets (the
 * blank is the left half of "（"'s cell; a half-width "(" sits close to the character before). */
const WIDE_PARENS = new RegExp(`([${IDEOGRAPHS}]) \\(([^()]{1,20})\\)`, 'g')
/** A mark right after a character: Chinese sets full-width marks there. */
const MARK_AFTER_CHARACTER = new RegExp(`(?<=[${IDEOGRAPHS}])[!?,:;]`, 'g')
const FULL_WIDTH: Record<string, string> = { '!': '！', '?': '？', ',': '，', ':': '：', ';': '；' }

/**
 * PP-OCRv4 reads full-width marks of Chinese text as their ASCII forms ("保存成功!", "文件 (F)");
 * where the text around says which they are, they are given back their full width.
 */
export function fullWidthMarks(text: string): string {
  return text.replace(WIDE_PARENS, '$1（$2）').replace(MARK_AFTER_CHARACTER, (mark) => FULL_WIDTH[mark] ?? mark)
}

const ANY_IDEOGRAPH = new RegExp(`[${IDEOGRAPHS}]`)
/** Full-width forms of ASCII (！ to ～) and the ideographic space. */
const FULL_WIDTH_FORM = /[\uff01-\uff5e\u3000]/g

/**
 * The other way round: PP-OCRv4 reads some brackets of Latin text as full-width ones
 * ("if（render.length > 55）{"). A line without a Chinese or Japanese character has no full-width
 * marks, so they are given back their ASCII forms there.
 */
export function halfWidthMarks(text: string): string {
  if (ANY_IDEOGRAPH.test(text)) return text
  return text.replace(FULL_WIDTH_FORM, (mark) => (mark === '\u3000' ? ' ' : String.fromCharCode(mark.charCodeAt(0) - 0xfee0)))
}

/** A chevron icon between two crumbs, as the recogniser reads it. */
const CHEVRON = / > | ?[›»〉] ?/
/** A crumb: a name of up to three words, nothing of code (brackets, operators) in it. */
const CRUMB = /^(?=.{1,30}$)[^\s()[\]{};=<>]+(?: [^\s()[\]{};=<>]+){0,2}$/
const MIN_CRUMBS = 3

/**
 * A breadcrumb bar ("src › ocr › layout.ts › groupLines") cut into its crumbs, each an item of
 * its own, the chevrons (icons, not text) left out. The blank around a chevron is no wider than a
 * word space or two, so the crumbs come as one piece. Anything else is returned as it is: fewer
 * than three crumbs, or parts that look like code ("if (a > b > c)").
 */
export function splitCrumbs(piece: Piece): Piece[] {
  const parts = piece.text.split(CHEVRON)
  if (parts.length < MIN_CRUMBS || !parts.every((part) => CRUMB.test(part))) return [piece]
  // Extents in proportion to the characters: the layout needs each crumb's place, not its pixels.
  const perChar = (piece.end - piece.start) / piece.text.length
  let from = 0
  return parts.map((part) => {
    const index = piece.text.indexOf(part, from)
    from = index + part.length
    const start = piece.start + Math.round(index * perChar)
    const end = piece.start + Math.round(from * perChar)
    return { text: part, start, end, ink: { start, end } }
  })
}

/**
 * The model reads the O of capitals as a zero ("INF0", "ERR0R"): in a word of capital letters
 * (two or more besides), or after letters inside a word, a 0 is an O.
 */
export function fixLetterDigits(text: string): string {
  // A lone 0 inside a word of letters ("state0ffset") is an O too; hex ids have other digits.
  text = text.replace(/\b[A-Za-z]+0+[A-Za-z][A-Za-z0]*\b/g, (word) => (/[1-9]/.test(word) ? word : word.replace(/0/g, 'O')))
  return text.replace(/\b[A-Z0]{3,}\b/g, (word) => (/[A-Z].*[A-Z]/.test(word.replace(/0/g, '')) ? word.replace(/0/g, 'O') : word))
}
