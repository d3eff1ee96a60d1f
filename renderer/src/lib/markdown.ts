// Model output as safe HTML: the HTML of markdown-html.ts with DOMPurify over it. Nothing
// remote is ever loaded: images are dropped and links open outside the app.
import DOMPurify from 'dompurify'
import { lexMarkdown, tokensToHtml } from './markdown-html'

// What Temml writes (MathML Core, with the semantics wrapper it may add).
const MATHML_TAGS = [
  ...['math', 'semantics', 'annotation', 'mrow', 'mi', 'mn', 'mo', 'ms', 'mspace', 'mtext', 'mpadded', 'mphantom'],
  ...['msub', 'msup', 'msubsup', 'munder', 'mover', 'munderover', 'mmultiscripts', 'mprescripts', 'none'],
  ...['mfrac', 'msqrt', 'mroot', 'mtable', 'mtr', 'mtd', 'mlabeledtr', 'mstyle', 'menclose'],
]

// What markdown-html.ts's renderers and marked's own Markdown make, and nothing else: a second fence
// behind the escaping, should a path through marked ever let markup through. No img (nothing
// remote is loaded) and no input (a task list's checkbox is dropped, its text kept, as before).
const ALLOWED_TAGS = [
  ...['p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li'],
  ...['strong', 'em', 'del', 'code', 'pre', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td'],
  // The code blocks' frame, highlight.js's spans, the copy button, and the frames of formulas.
  ...['div', 'span', 'button'],
  ...MATHML_TAGS,
]

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer')
  }
})

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(tokensToHtml(lexMarkdown(text)), { ALLOWED_TAGS, FORBID_ATTR: ['style'] })
}
