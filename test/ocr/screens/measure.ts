// The truth of a rendered screen, measured in the page by Chromium itself, not written by hand.
//
// What a "line" is: every text node belongs to a segment — its nearest ancestor marked data-seg,
// else its parent element. A segment is one UI item (a tab, a button, a menu item, a status-bar
// segment, a line number in a gutter, a code line, a paragraph), a table row (<tr data-seg>: its
// cells joined by single spaces) or the row of one list item (a mail folder and its count, a
// message's sender and time). A segment gives one truth line per VISUAL line: wrapped
// text gives one line per row it wraps to.
//
// What counts: a character is kept when its box is on screen and elementFromPoint at its centre,
// near both its sides and above and below the centre lands inside its own segment (so text under another window, under a
// dialog or clipped by an overflow box is left out), its font is at least 9 CSS px, and it is not
// transparent or hidden. A line cut by a covering window keeps the visible part; when covered
// characters fall inside a line, the visible pieces on either side become separate lines.
//
// The script is a plain-JavaScript string rather than a function handed to page.evaluate: tsx
// compiles TypeScript functions with helpers (__name) that do not exist in the page, and the
// node tsconfig has no DOM types to check it against.

export interface TruthBox {
  x: number
  y: number
  width: number
  height: number
}
export interface TruthLine {
  text: string
  /** In device pixels of the screenshot. */
  box: TruthBox
}

export const MEASURE_SCRIPT = String.raw`(() => {
  const dpr = window.devicePixelRatio
  const vw = window.innerWidth, vh = window.innerHeight
  const styles = new Map()
  const styleOf = (el) => {
    let s = styles.get(el)
    if (!s) {
      const cs = getComputedStyle(el)
      const colour = cs.color.match(/[\d.]+/g) || []
      const alpha = colour.length >= 4 ? Number(colour[3]) : 1
      let visible = cs.visibility === 'visible' && alpha > 0.05
      for (let a = el; a && visible; a = a.parentElement) if (Number(getComputedStyle(a).opacity) < 0.05) visible = false
      s = { size: parseFloat(cs.fontSize), visible }
      styles.set(el, s)
    }
    return s
  }
  const segOf = (el) => el.closest('[data-seg]') || el
  const inside = (seg, x, y) => {
    if (x < 0 || y < 0 || x >= vw || y >= vh) return false
    const hit = document.elementFromPoint(x, y)
    return !!hit && seg.contains(hit)
  }
  // Text nodes in document order, grouped by segment (a segment's nodes are contiguous).
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const segs = []
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.nodeValue || !n.parentElement) continue
    const seg = segOf(n.parentElement)
    const last = segs[segs.length - 1]
    if (last && last.seg === seg) last.nodes.push(n)
    else segs.push({ seg, nodes: [n] })
  }
  const range = document.createRange()
  const lines = []
  for (const { seg, nodes } of segs) {
    let cur = null
    let space = false
    let prev = null
    const flush = () => {
      if (cur && cur.text.trim()) lines.push(cur)
      cur = null
    }
    for (const node of nodes) {
      const st = styleOf(node.parentElement)
      const text = node.nodeValue
      // A new element (a table cell, a span) that starts away from the last character is a gap.
      let nodeStart = true
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]
        if (/\s/.test(ch)) {
          space = true
          continue
        }
        range.setStart(node, i)
        range.setEnd(node, i + 1)
        const r = range.getBoundingClientRect()
        const ok = st.visible && st.size >= 9 && r.width > 0 && r.height > 0 &&
          inside(seg, r.left + r.width / 2, r.top + r.height / 2) &&
          inside(seg, r.left + Math.min(1, r.width / 4), r.top + r.height / 2) &&
          inside(seg, r.right - Math.min(1, r.width / 4), r.top + r.height / 2) &&
          inside(seg, r.left + r.width / 2, r.top + r.height * 0.3) &&
          inside(seg, r.left + r.width / 2, r.top + r.height * 0.75)
        if (!ok) {
          // Hidden text inside a line splits it: the visible pieces are read apart.
          flush()
          prev = null
          space = false
          nodeStart = false
          continue
        }
        const cy = r.top + r.height / 2
        if (cur && prev) {
          const sameRow = Math.abs(cy - prev.cy) < Math.max(r.height, prev.h) / 2 && r.left >= prev.right - 1
          if (!sameRow) flush()
        }
        if (cur && prev && !space && nodeStart && r.left - prev.right > st.size * 0.3) space = true
        if (!cur) {
          cur = { text: '', x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }
          space = false
        }
        cur.text += (space && cur.text ? ' ' : '') + ch
        cur.x0 = Math.min(cur.x0, r.left)
        cur.y0 = Math.min(cur.y0, r.top)
        cur.x1 = Math.max(cur.x1, r.right)
        cur.y1 = Math.max(cur.y1, r.bottom)
        prev = { cy, h: r.height, right: r.right }
        space = false
        nodeStart = false
      }
      // Element boundaries without whitespace: the next node's first character decides by its gap.
    }
    flush()
  }
  return lines.map((l) => ({
    text: l.text.replace(/\s+/g, ' ').trim(),
    box: {
      x: Math.floor(l.x0 * dpr),
      y: Math.floor(l.y0 * dpr),
      width: Math.ceil((l.x1 - l.x0) * dpr),
      height: Math.ceil((l.y1 - l.y0) * dpr),
    },
  }))
})()`
