// Model output as HTML, not yet sanitised (markdown.ts puts DOMPurify over it): marked for
// Markdown (GFM), Temml for TeX (as MathML), highlight.js for fenced code with a named language.
// Nothing remote is ever loaded: an image shows as its description.
import hljs from 'highlight.js/lib/core'
import bash from 'highlight.js/lib/languages/bash'
import c from 'highlight.js/lib/languages/c'
import cpp from 'highlight.js/lib/languages/cpp'
import csharp from 'highlight.js/lib/languages/csharp'
import css from 'highlight.js/lib/languages/css'
import diff from 'highlight.js/lib/languages/diff'
import go from 'highlight.js/lib/languages/go'
import java from 'highlight.js/lib/languages/java'
import javascript from 'highlight.js/lib/languages/javascript'
import json from 'highlight.js/lib/languages/json'
import kotlin from 'highlight.js/lib/languages/kotlin'
import markdown from 'highlight.js/lib/languages/markdown'
import php from 'highlight.js/lib/languages/php'
import python from 'highlight.js/lib/languages/python'
import ruby from 'highlight.js/lib/languages/ruby'
import rust from 'highlight.js/lib/languages/rust'
import shell from 'highlight.js/lib/languages/shell'
import sql from 'highlight.js/lib/languages/sql'
import swift from 'highlight.js/lib/languages/swift'
import typescript from 'highlight.js/lib/languages/typescript'
import xml from 'highlight.js/lib/languages/xml'
import yaml from 'highlight.js/lib/languages/yaml'
import { Marked, Renderer, type Links, type Token, type Tokens, type TokensList } from 'marked'
import { escapeHtml, mathExtension } from './markdown-math'

for (const [name, language] of Object.entries({
  bash,
  c,
  cpp,
  csharp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  kotlin,
  markdown,
  php,
  python,
  ruby,
  rust,
  shell,
  sql,
  swift,
  typescript,
  xml,
  yaml,
})) {
  hljs.registerLanguage(name, language)
}
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' })
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' })
hljs.registerAliases(['sh', 'zsh', 'console'], { languageName: 'bash' })
hljs.registerAliases(['py'], { languageName: 'python' })
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' })
hljs.registerAliases(['yml'], { languageName: 'yaml' })

/** A table cell's <br>: the one way a model can break a line inside a cell, so it is kept. */
const lineBreakInCell = (token: Token): Token =>
  token.type === 'html' && /^<br\s*\/?>$/i.test(token.text) ? { type: 'br', raw: token.raw } : token

const marked = new Marked(
  {
    gfm: true,
    breaks: true,
    renderer: {
      code({ text, lang }) {
        const name = (lang ?? '').trim().split(/\s+/)[0] ?? ''
        const language = name ? hljs.getLanguage(name) : undefined
        // Highlight only what names its language: guessing is slow and re-runs every frame while streaming.
        const body = language ? hljs.highlight(text, { language: name, ignoreIllegals: true }).value : escapeHtml(text)
        // The button names whose code it copies: an answer with several blocks had a row of "Copy".
        const copies = language?.name ?? name
        const label = copies ? `Copy ${copies} code` : 'Copy code'
        return `<div class="code-block"><div class="code-bar"><span>${escapeHtml(name)}</span><button type="button" class="copy-code" aria-label="${escapeHtml(label)}">Copy</button></div><pre><code class="hljs">${body}</code></pre></div>`
      },
      // HTML in an answer is the model writing about HTML ("use the <textarea> element"), not
      // markup for this window: as markup it became live fields and folds that swallowed the
      // rest of the answer. It shows as the text it is, a block of it as a paragraph.
      html({ text, block }) {
        return block ? `<p>${escapeHtml(text.trim()).replace(/\n/g, '<br>')}</p>\n` : escapeHtml(text)
      },
      // Nothing remote is loaded, but the reader is told an image was there and what it showed.
      image({ text }) {
        return `<span class="image-alt">[${text ? `image: ${escapeHtml(text)}` : 'image'}]</span>`
      },
      listitem(item) {
        return item.task ? `<li class="task">${this.parser.parse(item.tokens)}</li>\n` : false
      },
      table(token: Tokens.Table) {
        for (const cell of [...token.header, ...token.rows.flat()]) cell.tokens = cell.tokens.map(lineBreakInCell)
        // A wide table scrolls in its frame rather than breaking its words letter by letter.
        return `<div class="table-scroll" tabindex="0">${Renderer.prototype.table.call(this, token)}</div>\n`
      },
    },
  },
  mathExtension(),
)

/** Top-level tokens of `source`, knowing the link definitions of the text before it. */
export function lexMarkdown(source: string, links: Links = {}): TokensList {
  const lexer = new marked.Lexer(marked.defaults)
  Object.assign(lexer.tokens.links, links)
  return lexer.lex(source)
}

/** Tokens as HTML, unsanitised. */
export function tokensToHtml(tokens: Token[]): string {
  return marked.parser(tokens)
}
