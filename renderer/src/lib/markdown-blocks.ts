// An answer as a list of top-level blocks, each rendered once it can no longer change, so that a
// streamed answer costs the last block per frame rather than the whole answer: parsing and
// replacing everything every frame grew with the answer (10.7 ms + 19.6 ms a frame at 16k
// characters) and dropped the reader's selection and focus in paragraphs long finished.
import type { Links, Token, TokensList } from 'marked'

export interface MarkdownBlock {
  /** The Markdown this block was rendered from (for the open block, as completed for display). */
  readonly source: string
  readonly html: string
}

export interface BlockRenderer {
  /** Top-level tokens of `source`, knowing the link definitions of the text before it. */
  lex(source: string, links: Links): TokensList
  render(tokens: Token[]): string
  /** The still-arriving end of an answer with what it leaves open closed, for display. */
  complete(source: string): string
}

interface Group {
  source: string
  tokens: Token[]
}

/**
 * Top-level tokens in groups of one block each, with the blank lines after it; blank lines
 * before the first block go with it. Null when the tokens do not spell the source exactly,
 * which block-by-block rendering relies on.
 */
function groupBlocks(source: string, tokens: Token[]): Group[] | null {
  const groups: Group[] = []
  let leading: Token[] = []
  let length = 0
  for (const token of tokens) {
    length += token.raw.length
    const last = groups.at(-1)
    if (token.type === 'space') {
      if (last) {
        last.tokens.push(token)
        last.source += token.raw
      } else leading.push(token)
      continue
    }
    groups.push({ source: leading.map((t) => t.raw).join('') + token.raw, tokens: [...leading, token] })
    leading = []
  }
  if (leading.length) groups.push({ source: leading.map((t) => t.raw).join(''), tokens: leading })
  return length === source.length && groups.map((g) => g.source).join('') === source ? groups : null
}

/**
 * How many trailing blocks may still change as text arrives. Not one: the text after a block
 * can join it ("1. a\n2. b\n\n3" is a list and a paragraph until ". c" makes it one loose list;
 * the same for indented code after a blank line), and only a second block after it settles it.
 */
const OPEN_BLOCKS = 2

/** Renders an answer block by block, keeping what is settled. One per text shown. */
export class MarkdownBlocks {
  readonly #renderer: BlockRenderer
  /** Blocks that text arriving later cannot change, and the text they were made from. */
  #settled: MarkdownBlock[] = []
  #settledSource = ''
  /** Link definitions in the settled text, which later blocks may refer to. */
  #links: Links = {}
  #shown: readonly MarkdownBlock[] = []
  /** What #shown was made from. */
  #shownFrom: { text: string; live: boolean } | null = null

  constructor(renderer: BlockRenderer) {
    this.#renderer = renderer
  }

  /**
   * The blocks of `text`. While `live` (text still arriving) only the blocks after the settled
   * ones are parsed and the last is completed for display; otherwise the whole text is parsed
   * again, once, so that what is finally shown is exactly the Markdown. Blocks whose source is
   * unchanged come back as the same objects, with the same html, so their DOM can stay.
   */
  update(input: string, live: boolean): readonly MarkdownBlock[] {
    // marked reads \r\n as \n; block sources must spell the text exactly.
    const text = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input
    // A finished thought is asked for again every frame while its answer arrives.
    if (this.#shownFrom?.text === text && this.#shownFrom.live === live) return this.#shown
    if (!live || !text.startsWith(this.#settledSource)) this.#forget()
    const rest = text.slice(this.#settledSource.length)
    const tokens = this.#renderer.lex(rest, { ...this.#links })
    const groups = groupBlocks(rest, tokens)
    // Should the lexer ever not spell its source, the text is shown whole, as one block.
    if (!groups) return this.#show([this.#block(text, tokens, 0)], text, live)
    // Link definitions count for every block, before them too: with any, nothing shown is kept.
    if (!live && Object.keys(tokens.links).length) this.#shown = []
    const open = Math.max(0, groups.length - OPEN_BLOCKS)
    for (const group of groups.slice(0, open)) {
      this.#settled.push(this.#block(group.source, group.tokens, this.#settled.length))
      this.#settledSource += group.source
      for (const token of group.tokens) {
        if (token.type === 'def') this.#links[token.tag] ??= { href: token.href, title: token.title }
      }
    }
    const blocks = [...this.#settled]
    groups.slice(open).forEach((group, i) => {
      // The last block is still being written unless blank lines have closed it.
      const writing = live && i === groups.length - open - 1 && group.tokens.at(-1)?.type !== 'space'
      const source = writing ? this.#renderer.complete(group.source) : group.source
      const groupTokens = source === group.source ? group.tokens : this.#renderer.lex(source, { ...this.#links })
      blocks.push(this.#block(source, groupTokens, blocks.length))
    })
    return this.#show(blocks, text, live)
  }

  #forget(): void {
    this.#settled = []
    this.#settledSource = ''
    this.#links = {}
  }

  /** The block shown at `index`, if it came from the same source, else a new one. */
  #block(source: string, tokens: Token[], index: number): MarkdownBlock {
    const shown = this.#shown[index]
    if (shown?.source === source) return shown
    return { source, html: this.#renderer.render(tokens) }
  }

  #show(blocks: MarkdownBlock[], text: string, live: boolean): readonly MarkdownBlock[] {
    this.#shown = blocks
    this.#shownFrom = { text, live }
    return blocks
  }
}
