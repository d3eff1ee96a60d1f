// The block an answer is still writing, completed for display: half-written syntax otherwise
// shows as what it is not yet (`**ab` as asterisks, "text\n-" as a heading for a frame, a
// table's first line as raw pipes). Only what is shown changes; once the block is finished the
// Markdown is rendered as written.
import remend from 'remend'

// The same Markdown as the final rendering, or a block would change when the answer ends:
// remend's own escapes (a lone ~ between digits, > after a list marker) are left out, so are
// its removal of half-typed HTML tags (HTML shows as text here anyway) and its placeholder
// link URL (a half-written link shows as its text until it is whole). Its setext handling
// leaves the dash showing: undecided lines are held back below instead.
const REMEND_OPTIONS = {
  singleTilde: false,
  comparisonOperators: false,
  htmlTags: false,
  setextHeadings: false,
  linkMode: 'text-only',
} as const

// A last line of only - or = under text is undecided: an underline making the text a heading,
// a rule, the start of a list. It shows once the next character says which.
const UNDECIDED_LAST_LINE = /\n {0,3}(?:-+|=+)[ \t]*$/

const TABLE_ROW = /^ {0,3}\|/
const PARTIAL_DELIMITER_ROW = /^ {0,3}\|?[ :|-]*$/

const cellCount = (row: string): number =>
  row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/).length

/** A table whose header row has arrived but not its delimiter row (or not all of it) shows as a table. */
function completeTableHeader(block: string): string {
  const [header, delimiter, ...more] = block.split('\n')
  if (header === undefined || !TABLE_ROW.test(header) || more.length) return block
  if (delimiter !== undefined && !PARTIAL_DELIMITER_ROW.test(delimiter)) return block
  return `${header}\n${'|---'.repeat(cellCount(header))}|`
}

export function completeOpenBlock(block: string): string {
  return completeTableHeader(remend(block.replace(UNDECIDED_LAST_LINE, ''), REMEND_OPTIONS))
}
