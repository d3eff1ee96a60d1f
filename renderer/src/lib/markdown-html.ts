// Model output as HTML, not yet sanitised (markdown.ts puts DOMPurify over it): marked for
// Markdown (GFM), Temml for TeX (as MathML), highlight.js for fenced code with a named language.
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
import { Marked, type Links, type Token, type TokensList } from 'marked'
import { mathExtension } from './markdown-math'

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

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

const marked = new Marked(
  {
    gfm: true,
    breaks: true,
    renderer: {
      code({ text, lang }) {
        const name = (lang ?? '').trim().split(/\s+/)[0] ?? ''
        const known = name && hljs.getLanguage(name) ? name : null
        // Highlight only what names its language: guessing is slow and re-runs every frame while streaming.
        const body = known ? hljs.highlight(text, { language: known, ignoreIllegals: true }).value : escapeHtml(text)
        return `<div class="code-block"><div class="code-bar"><span>${escapeHtml(known ?? name)}</span><button type="button" class="copy-code">Copy</button></div><pre><code class="hljs">${body}</code></pre></div>`
      },
      // HTML in an answer is the model writing about HTML ("use the <textarea> element"), not
      // markup for this window: as markup it became live fields and folds that swallowed the
      // rest of the answer. It shows as the text it is, a block of it as a paragraph.
      html({ text, block }) {
        return block ? `<p>${escapeHtml(text.trim()).replace(/\n/g, '<br>')}</p>\n` : escapeHtml(text)
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
