// What an answer's Markdown becomes, under Node (markdown-html.ts, before DOMPurify, which needs a
// DOM: test/browser/markdown.test.ts runs the whole of it in Chromium): TeX as MathML with prices
// left alone, the Markdown models write, the blocks a streamed answer is cut into (a settled
// block never changes afterwards), and the completion of the block still being written.
import { describe, expect, it } from 'vitest'
import { MarkdownBlocks } from '../../renderer/src/lib/markdown-blocks.js'
import { lexMarkdown, tokensToHtml } from '../../renderer/src/lib/markdown-html.js'
import { completeOpenBlock } from '../../renderer/src/lib/markdown-partial.js'

const html = (text: string): string => tokensToHtml(lexMarkdown(text))
const blocks = (): MarkdownBlocks => new MarkdownBlocks({ lex: lexMarkdown, render: tokensToHtml, complete: completeOpenBlock })
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

/** Answers with every kind of block, and the ones whose later text joins an earlier block. */
const ANSWERS = {
  mixed: [
    '# Title\n\nText with $x$ and\n\n$$\n\\frac{1}{2}\n$$\n\n> quote\n> more\n\n> second\n\n',
    '| a | b |\n|---|---|\n| 1 | 2 |\n\nSome text\n---\n\nPara\n===\n\n```py\nx = 1\n\n\ny = 2\n```\n\n',
    '* star\n+ plus\n\n[ref]: http://example.com\n\nSee [it][ref].\n\n    indented\n\n<div>\nhtml\n</div>\n\nlast',
  ].join(''),
  // "1. a\n2. b\n\n3" is a list and a paragraph, until ". c" makes them one loose list.
  looseList: '1. a\n2. b\n\n3. c\n\n   more text\n\n4. d\n\nAfter.\n\n- x\n\n- y\n\n    code\n\n    more code\n\nEnd',
  nestedList:
    '1. Step one\n   - sub a\n   - sub b\n\n     continued\n\n2. Step two\n\n   ```js\n   let x = 1\n   ```\n\n3. Step three\n\nDone.',
  crlf: 'Windows\r\nline ends\r\n\r\n- a\r\n- b\r\n\r\nend',
}

describe('an answer block by block', () => {
  it.each(Object.entries(ANSWERS))('never changes a settled block as %s arrives character by character', (_, answer) => {
    const final = blocks().update(answer, false)
    const live = blocks()
    for (let n = 1; n <= answer.length; n++) {
      const shown = live.update(answer.slice(0, n), true)
      // All but the last two blocks are settled: they are the final blocks already.
      for (let i = 0; i < shown.length - 2; i++) {
        expect(shown[i]!.source, `block ${i} after ${n} characters`).toBe(final[i]!.source)
        expect(shown[i]!.html).toBe(final[i]!.html)
      }
    }
    expect(live.update(answer, false).map((b) => b.html)).toEqual(final.map((b) => b.html))
  })

  it('is the whole Markdown rendered at once, once finished', () => {
    for (const answer of Object.values(ANSWERS))
      expect(
        blocks()
          .update(answer, false)
          .map((b) => b.html)
          .join(''),
      ).toBe(html(answer.replace(/\r\n/g, '\n')))
  })

  it('gives back the blocks it had for text that did not change, so their DOM can stay', () => {
    const view = blocks()
    const before = view.update('One.\n\nTwo.\n\nThree.\n\nFour', true)
    const after = view.update('One.\n\nTwo.\n\nThree.\n\nFour and five', true)
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3))
    after.slice(0, 3).forEach((block, i) => expect(block).toBe(before[i]))
    expect(after[3]).not.toBe(before[3])
    // Finished, nothing changes that had not.
    const done = view.update('One.\n\nTwo.\n\nThree.\n\nFour and five', false)
    done.forEach((block, i) => expect(block).toBe(after[i]))
  })

  it('starts again when the text is replaced rather than continued', () => {
    const view = blocks()
    view.update('One.\n\nTwo.\n\nThree.\n\nFour', true)
    expect(view.update('Other.\n\nText', true).map((b) => b.source)).toEqual(['Other.\n\n', 'Text'])
  })

  it('resolves a reference to a link defined in a settled block', () => {
    const view = blocks()
    const text = '[docs]: https://example.com/docs\n\nOne.\n\nTwo.\n\nSee [the docs][docs]'
    expect(view.update(text, true).at(-1)!.html).toContain('<a href="https://example.com/docs">the docs</a>')
  })

  it('completes only the block being written, and only while it is', () => {
    const view = blocks()
    expect(view.update('Done **here\n\nNow **bold', true).map((b) => b.html)).toEqual([
      '<p>Done **here</p>\n',
      '<p>Now <strong>bold</strong></p>\n',
    ])
    expect(view.update('Done **here\n\nNow **bold', false).at(-1)!.html).toBe('<p>Now **bold</p>\n')
  })
})

describe('the block being written, completed for display', () => {
  it('closes emphasis, code and display math, and shows a half-written link as its text', () => {
    expect(completeOpenBlock('This is **ab')).toBe('This is **ab**')
    expect(completeOpenBlock('Run `npm i')).toBe('Run `npm i`')
    expect(completeOpenBlock('$$\nx^2')).toBe('$$\nx^2\n$$')
    expect(completeOpenBlock('See [the docs](htt')).toBe('See the docs')
  })

  it('holds back a last line of - or = until it says whether it underlines, rules or starts a list', () => {
    expect(completeOpenBlock('Some text\n-')).toBe('Some text')
    expect(completeOpenBlock('Some text\n==')).toBe('Some text')
    expect(completeOpenBlock('Some text\n- item')).toBe('Some text\n- item')
  })

  it('shows a table from its header row, before its delimiter row is whole', () => {
    expect(completeOpenBlock('| Name | Age |')).toBe('| Name | Age |\n|---|---|')
    expect(completeOpenBlock('| Name | Age |\n|--')).toBe('| Name | Age |\n|---|---|')
    expect(completeOpenBlock('| Name | Age |\n|---|---|\n| Ann | 3')).toBe('| Name | Age |\n|---|---|\n| Ann | 3')
  })

  it('changes nothing its final rendering would show differently', () => {
    for (const text of ['20~25 and 30~40', '- > 25', 'a < b and <di', 'costs $5']) expect(completeOpenBlock(text)).toBe(text)
  })
})
