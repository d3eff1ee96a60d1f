// What an answer's Markdown becomes, under Node (markdown-html.ts, before DOMPurify, which needs a
// DOM: test/browser/markdown.test.ts runs the whole of it in Chromium): TeX as MathML with prices
// left alone, and the Markdown models write.
import { describe, expect, it } from 'vitest'
import { lexMarkdown, tokensToHtml } from '../../renderer/src/lib/markdown-html.js'

const html = (text: string): string => tokensToHtml(lexMarkdown(text))
const count = (text: string, what: RegExp): number => text.match(new RegExp(what, 'g'))?.length ?? 0

describe('formulas', () => {
  it('renders $…$, \\(…\\) inline and $$…$$, \\[…\\] as display math, in MathML', () => {
    const out = html('Area $A = \\pi r^2$ and \\(E = mc^2\\).\n\n$$\n\\frac{1}{2}\n$$\n\n\\[\n\\sum_{i=1}^n i\n\\]')
    expect(count(out, /<math>/)).toBe(2)
    expect(count(out, /<div class="math-display"><math display="block"/)).toBe(2)
    expect(out).toContain('<mfrac><mn>1</mn><mn>2</mn></mfrac>')
    // Nothing for the CSP to refuse.
    expect(out).not.toContain('style=')
  })

  it('leaves prices, escaped dollars and code as they are', () => {
    expect(html('It costs $5 and $10 in total.')).toBe('<p>It costs $5 and $10 in total.</p>\n')
    expect(html('From $10-$20, or $5/month vs $8/month.')).not.toContain('<math')
    expect(html('Type \\$HOME\\$ as it is.')).toBe('<p>Type $HOME$ as it is.</p>\n')
    // No closing $ right before a digit.
    expect(html('Pay $5 or$10.')).toBe('<p>Pay $5 or$10.</p>\n')
    expect(html('It is $10, or `$PATH` and `$x$`.')).not.toContain('<math')
    expect(html('```\n$$x$$ and $y$\n```')).not.toContain('<math')
  })

  it('keeps TeX whole: its underscores and asterisks are no emphasis, \\( is no escaped paren', () => {
    const out = html('Let $a_1 * b_1$ and *c* and \\(x*y\\) and \\(z*w\\) hold.')
    expect(count(out, /<math>/)).toBe(3)
    expect(count(out, /<em>/)).toBe(1)
    expect(out).toContain('<em>c</em>')
  })

  it('takes a formula block only whole: an unclosed $$ leaves the paragraphs after it alone', () => {
    const out = html('$$\nx = 1\n\nA paragraph with $$y$$ in it.\n\nText\n$$z$$ goes on.')
    expect(count(out, /<math/)).toBe(2)
    expect(out).toContain('<p>$$<br>x = 1</p>')
    expect(out).toContain('<p>Text<br><span class="math-display"><math')
  })

  it('shows a display formula inside a line apart, and one that does not parse as its source in code', () => {
    expect(html('where $$x^2$$ is large')).toContain('<span class="math-display"><math display="block"')
    expect(html('Broken: $\\frac{1}{$ here.')).toBe('<p>Broken: <code class="math-source">$\\frac{1}{$</code> here.</p>\n')
    expect(html('$$\n\\begin{matrix} a \n$$\n\nNext')).toContain('<pre><code class="math-source">$$\n\\begin{matrix} a \n$$</code></pre>')
  })
})

describe('Markdown models write', () => {
  it('keeps a task list item checked or not', () => {
    const out = html('- [x] done\n- [ ] to do')
    expect(out).toContain('<li class="task"><input checked="" disabled="" type="checkbox"> done</li>')
    expect(out).toContain('<li class="task"><input disabled="" type="checkbox"> to do</li>')
  })

  it('shows an image as its description, never as an image', () => {
    expect(html('Look: ![a cat](https://example.com/cat.png)')).toBe('<p>Look: <span class="image-alt">[image: a cat]</span></p>\n')
    expect(html('![](https://example.com/x.png)')).toContain('[image]')
    expect(html('![a cat](https://example.com/cat.png)')).not.toContain('<img')
  })

  it('puts a table in a frame that scrolls, and keeps <br> in its cells as a line break', () => {
    const out = html('| Step | Notes |\n|---|---|\n| 1 | first<br>second |')
    expect(out).toMatch(/^<div class="table-scroll" tabindex="0"><table>/)
    expect(out).toContain('<td>first<br>second</td>')
    // Elsewhere HTML stays text, as before.
    expect(html('Use <br> here')).toBe('<p>Use &#60;br&#62; here</p>\n')
  })

  it("names each copy button after its block's language", () => {
    expect(html('```py\nprint(1)\n```')).toContain('aria-label="Copy Python code"')
    expect(html('```mylang\nfoo\n```')).toContain('aria-label="Copy mylang code"')
    expect(html('```\nfoo\n```')).toContain('aria-label="Copy code"')
  })
})
