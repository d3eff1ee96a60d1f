// Model output as safe HTML: the HTML of markdown-html.ts with DOMPurify over it, block by block
// as an answer arrives. Links open outside the app.
import DOMPurify from 'dompurify'
import { MarkdownBlocks } from './markdown-blocks'
import { lexMarkdown, tokensToHtml } from './markdown-html'
import { completeOpenBlock } from './markdown-partial'

// What Temml writes (MathML Core, with the semantics wrapper it may add).
const MATHML_TAGS = [
  ...['math', 'semantics', 'annotation', 'mrow', 'mi', 'mn', 'mo', 'ms', 'mspace', 'mtext', 'mpadded', 'mphantom'],
  ...['msub', 'msup', 'msubsup', 'munder', 'mover', 'munderover', 'mmultiscripts', 'mprescripts', 'none'],
  ...['mfrac', 'msqrt', 'mroot', 'mtable', 'mtr', 'mtd', 'mlabeledtr', 'mstyle', 'menclose'],
]

// What markdown-html.ts's renderers and marked's own Markdown make, and nothing else: a second
// fence behind the escaping, should a path through marked ever let markup through. No img
// (nothing remote is loaded); input only as a task list's disabled checkbox (the hook below sees to it).
const ALLOWED_TAGS = [
  ...['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li'],
  ...['strong', 'em', 'del', 'code', 'pre', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input'],
  // The code blocks' frame, highlight.js's spans, the copy button, the frames of tables and formulas.
  ...['div', 'span', 'button'],
  ...MATHML_TAGS,
]

// Text blocks take their direction from their own text: an Arabic or Hebrew paragraph reads
// right to left in an English answer. Code and formulas keep theirs (left to right).
const OWN_DIRECTION = new Set(['P', 'LI', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE', 'TH', 'TD'])

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  } else if (node.tagName === 'INPUT') {
    node.setAttribute('type', 'checkbox')
    node.setAttribute('disabled', '')
  } else if (OWN_DIRECTION.has(node.tagName)) {
    node.setAttribute('dir', 'auto')
  }
})

const sanitize = (html: string): string => DOMPurify.sanitize(html, { ALLOWED_TAGS, FORBID_ATTR: ['style'] })

/** Rendering for one answer (or one thought) as it arrives, block by block: see MarkdownBlocks. */
export function markdownBlocks(): MarkdownBlocks {
  return new MarkdownBlocks({
    lex: lexMarkdown,
    render: (tokens) => sanitize(tokensToHtml(tokens)),
    complete: completeOpenBlock,
  })
}
