// TeX in answers as MathML, which Chromium lays out itself: no fonts or style sheets to ship,
// and no style attributes, which the window's CSP refuses (KaTeX's HTML output needs them).
// Temml over KaTeX's MathML output, measured on formulas of the kind models write: as fast,
// a quarter smaller in the bundle, and its output is MathML Core (ℝ as a character, cells
// aligned by class), where KaTeX's leans on MathML 3 attributes Chromium ignores.
import temml from 'temml'
import type { MarkedExtension, Tokens } from 'marked'

/** Text as HTML that shows it as it is: answers' code, alt text and formulas that do not parse. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

// Pandoc's rule, so that prices stay text ("costs $5 and $10"): the opening $ is not followed
// by a space, the closing one not preceded by a space nor followed by a digit. \$ inside is TeX's.
// No backquote inside either (TeX has no use for one): "$10, or `$PATH`" is a price and code.
const DOLLAR = /^\$(?![\s$])((?:\\[\s\S]|[^\\$`])+?)(?<![\s\\])\$(?!\d)/
const DOUBLE_DOLLAR = /^\$\$(?!\$)([\s\S]+?)\$\$/
const PAREN = /^\\\(([\s\S]+?)\\\)/
const BRACKET = /^\\\[([\s\S]+?)\\\]/
// A display formula alone on its lines is a block; elsewhere in a line it is inline, shown apart.
// Its TeX holds no blank line (TeX refuses one in a formula), so an unclosed $$ never swallows
// the paragraphs after it up to some later $$.
const BLOCK_TEX_IN_DOLLARS = String.raw`(?:[^$\n]|\$(?!\$)|\n(?![ \t]*\n))+?`
const BLOCK_TEX_IN_BRACKETS = String.raw`(?:[^\\\n]|\\(?!\])|\n(?![ \t]*\n))+?`
const BLOCK = new RegExp(String.raw`^ {0,3}(?:\$\$(?!\$)(${BLOCK_TEX_IN_DOLLARS})\$\$|\\\[(${BLOCK_TEX_IN_BRACKETS})\\\])[ \t]*(?:\n+|$)`)
const BLOCK_HERE = new RegExp(BLOCK.source.slice(1), 'y')
const BLOCK_START = /(?:^|\n)(?= {0,3}(?:\$\$|\\\[))/g
// Where emphasis must not look: `_` and `*` are TeX's inside a formula (a_1 * b_1). Dollar forms
// only: marked has masked \( and \[ as escapes before this runs.
const DOLLARS_ANYWHERE = /\$\$(?!\$)[\s\S]+?\$\$|\$(?![\s$])(?:\\[\s\S]|[^\\$`])+?(?<![\s\\])\$(?!\d)/g

interface MathToken extends Tokens.Generic {
  type: 'math'
  raw: string
  tex: string
  display: boolean
  /** A block of its own, or a display formula inside a paragraph's line. */
  block: boolean
}

/**
 * A formula as MathML, or its source as code when it does not parse: a model's half-right TeX
 * reads better as itself than as an error box.
 */
function renderMath({ tex, display, block, raw }: MathToken): string {
  try {
    const mathml = temml.renderToString(tex, { displayMode: display, throwOnError: true })
    // Temml's own style attributes (cell padding, \boxed's border, \color) would be refused by the
    // CSP, each refusal a console error; the classes it sets beside them carry the layout that matters.
    const html = mathml.replace(/ style="[^"]*"/g, '')
    // A frame that scrolls sideways, so that a wide formula never widens the answer.
    if (block) return `<div class="math-display">${html}</div>`
    return display ? `<span class="math-display">${html}</span>` : html
  } catch {
    const source = `<code class="math-source">${escapeHtml(raw.trim())}</code>`
    return block ? `<pre>${source}</pre>` : source
  }
}

function mathToken(raw: string, tex: string, display: boolean, block: boolean): MathToken | undefined {
  return tex.trim() ? { type: 'math', raw, tex: tex.trim(), display, block } : undefined
}

export function mathExtension(): MarkedExtension {
  return {
    extensions: [
      {
        name: 'math',
        level: 'block',
        // Where a formula block begins, the paragraph before it ends: only at one that is whole.
        start: (src) => {
          for (const line of src.matchAll(BLOCK_START)) {
            BLOCK_HERE.lastIndex = line.index + line[0].length
            if (BLOCK_HERE.test(src)) return line.index + line[0].length
          }
          return undefined
        },
        tokenizer: (src) => {
          const found = BLOCK.exec(src)
          return found ? mathToken(found[0], found[1] ?? found[2] ?? '', true, true) : undefined
        },
      },
      {
        name: 'math',
        level: 'inline',
        start: (src) => {
          const at = src.search(/\$|\\[([]/)
          return at < 0 ? undefined : at
        },
        tokenizer: (src) => {
          let found: RegExpExecArray | null
          if ((found = DOUBLE_DOLLAR.exec(src)) || (found = BRACKET.exec(src))) return mathToken(found[0], found[1]!, true, false)
          if ((found = PAREN.exec(src)) || (found = DOLLAR.exec(src))) return mathToken(found[0], found[1]!, false, false)
          return undefined
        },
      },
      {
        name: 'math',
        renderer: (token) => renderMath(token as MathToken),
      },
    ],
    hooks: {
      emStrongMask: (src) => src.replace(DOLLARS_ANYWHERE, (formula) => 'a'.repeat(formula.length)),
    },
  }
}
