// An app's chrome: a menu bar ("File Edit Selection View") is a row of short words, each its own
// item, set apart by blanks narrower than the 0.65 line heights that part items elsewhere (the
// detector's boxes take in most of the padding between them: 0.2-0.5 heights are left). Read as
// one run-on line, none of its items is found; each is a segment of its own, in order. Words of
// prose come as one box per line, so a row of single-word boxes with blanks between is chrome.
import type { TextItem } from './layout.js'

/** A menu bar has at least this many items in a row. */
const MENU_ITEMS = 4
/** Each item is one word of at most 12 characters. */
const MENU_WORD = /^\S{1,12}$/
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
