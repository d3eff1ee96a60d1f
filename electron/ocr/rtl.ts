// Right-to-left scripts (Arabic, Persian, Urdu): the recogniser reads a line's characters in
// image order, left to right, which is the reverse of the order they are written in. PaddleOCR
// turns them back (BaseRecLabelDecode.pred_reverse, for its Arabic dictionaries): each run of
// Latin letters, digits and the characters around numbers (: * . / % + -) keeps its order, as it
// is written left to right inside right-to-left text; every other character is reversed.

/** Characters written left to right inside right-to-left text (PaddleOCR's set, less the space). */
const LEFT_TO_RIGHT = /[a-zA-Z0-9:*./%+-]/

/**
 * A line read left to right off the image, in the order it is written. As PaddleOCR's, except
 * that a space joins a left-to-right run only between two of its characters: PaddleOCR's takes a
 * space at a run's edge into the run, so "Hello" beside Arabic lost the space that parted them.
 */
export function logicalOrder(visual: string): string {
  const chars = [...visual]
  const items: string[] = []
  let run = ''
  chars.forEach((char, index) => {
    const inRun = LEFT_TO_RIGHT.test(char) || (char === ' ' && run !== '' && LEFT_TO_RIGHT.test(chars[nextNonSpace(chars, index)] ?? ''))
    if (inRun) {
      run += char
      return
    }
    if (run) items.push(run)
    run = ''
    items.push(char)
  })
  if (run) items.push(run)
  return items.reverse().join('')
}

function nextNonSpace(chars: string[], from: number): number {
  let index = from
  while (chars[index] === ' ') index++
  return index
}
