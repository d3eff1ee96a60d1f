// An app's chrome: a menu bar ("File Edit Selection View") is a row of short words, each its own
// item, set apart by blanks narrower than the 0.65 line heights that part items elsewhere (the
// detector's boxes take in most of the padding between them: 0.2-0.5 heights are left). Read as
// one run-on line, none of its items is found; each is a segment of its own, in order. Words of
// prose come as one box per line, so a row of boxes of a word or two with blanks between is chrome.
import type { TextItem } from './layout.js'

/** A menu bar has at least this many items in a row. */
const MENU_ITEMS = 4
/** Each item is a word of at most 12 characters, or two ("Größe ändern", "Text Editor"). */
const MENU_WORD = /^\S{1,12}(?: \S{1,12})?$/
/** At least half the blanks between items are this many line heights or more (the detector split
 * them); the rest may touch, as two items read from one detector box get estimated boxes. */
const MENU_GAP = 0.15
const MENU_APART_SHARE = 0.5

/** Whether a row (items left to right) is a menu bar's items, each one short word. */
export function isMenu(row: TextItem[]): boolean {
  if (row.length < MENU_ITEMS || !row.every((item) => MENU_WORD.test(item.text.trim()))) return false
  const apart = row.slice(1).filter((item, index) => {
    const previous = row[index]!
    return item.box.x - (previous.box.x + previous.box.width) >= MENU_GAP * Math.min(item.box.height, previous.box.height)
  })
  return apart.length >= MENU_APART_SHARE * (row.length - 1)
}

/** A status bar or a taskbar has at least this many items in a row, */
const BAR_ITEMS = 4
/** each a short phrase ("Ln 61, Col 65", "Spaces: 2", "Mon 4 Nov"), */
const BAR_ITEM = /^(?=.{1,20}$)\S+(?: \S+){0,3}$/
/** every one's ink this many line heights from the next one's: wider than a word space (the
 * detector boxes a phrase's words together: 0.2-0.3 heights), as wide as an item's padding (0.8-0.9
 * heights between an editor's status bar items, or a taskbar's clock and its date). */
const BAR_GAP = 0.4

/** Whether a row (items left to right) is a status bar's or a taskbar's items, each a short phrase. */
export function isStatusBar(row: TextItem[]): boolean {
  if (row.length < BAR_ITEMS || !row.every((item) => BAR_ITEM.test(item.text.trim()))) return false
  return row.slice(1).every((item, index) => blank(row[index]!, item) >= BAR_GAP * Math.max(item.box.height, row[index]!.box.height))
}

/** The blank between two items' ink (between their boxes where the ink is not known): the
 * detector's boxes of neighbouring items overlap now and then, their ink never does. */
function blank(left: TextItem, right: TextItem): number {
  return (right.ink?.start ?? right.box.x) - (left.ink?.end ?? left.box.x + left.box.width)
}
