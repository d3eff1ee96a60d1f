// The line the sidebar shows under a conversation's title: its last words as the window shows
// them, as plain text. An answer is Markdown with, from a reasoning model, a thought before it:
// sliced raw, the preview read "## Part 1: wha" or "<think> The user wants…", the marks and the
// folded-away thought the window never shows.
import { Lexer, type Token, type Tokens } from 'marked'
import { splitThinking, type StoredMessage } from '../ipc/contract.js'

export const PREVIEW_CHARS = 120
/**
 * Only the start of a long answer is read: the preview needs its first line or two. A cut
 * through a code fence or a table only loses marks.
 */
const READ_CHARS = 1000

/**
 * Each message's words, kept while its text stays the same: the list is made again on every
 * refresh and search, and parsing every conversation's last answer each time took 0.4-0.8 ms
 * apiece here (hundreds of milliseconds for 500 conversations).
 */
const wordsOf = new WeakMap<StoredMessage, { text: string; words: string }>()

/** The last message's words (a question that has none, an answer still thinking: the one before), on one line. */
export function previewOf(messages: readonly StoredMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const text = messageWords(messages[i]!)
    if (text) return text.slice(0, PREVIEW_CHARS)
  }
  return ''
}

function messageWords(message: StoredMessage): string {
  const known = wordsOf.get(message)
  if (known?.text === message.text) return known.words
  const words = message.role === 'assistant' ? plainText(splitThinking(message.text).answer) : oneLine(message.text)
  wordsOf.set(message, { text: message.text, words })
  return words
}

/** Markdown as the words it shows: no marks, a link's text without its address, an image by its description. */
export function plainText(markdown: string): string {
  return oneLine(Lexer.lex(markdown.slice(0, READ_CHARS), { gfm: true }).map(words).join(' '))
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim()

function words(token: Token): string {
  switch (token.type) {
    case 'list':
      return (token as Tokens.List).items.map(words).join(' ')
    case 'table': {
      const table = token as Tokens.Table
      return [table.header, ...table.rows].flatMap((row) => row.map((cell) => cell.tokens.map(words).join(''))).join(' ')
    }
    // The window shows HTML in an answer as the text it is (renderer/src/lib/markdown.ts).
    case 'html':
    case 'code':
    case 'codespan':
    case 'escape':
      return (token as Tokens.HTML | Tokens.Code | Tokens.Codespan | Tokens.Escape).text
    case 'image':
      return (token as Tokens.Image).text
    case 'space':
    case 'hr':
    case 'br':
    case 'def':
    case 'checkbox':
      return ' '
  }
  // Blocks hold their own tokens (paragraph, heading, blockquote, list item), as do links and
  // emphasis; plain text is a leaf.
  if ('tokens' in token && token.tokens) {
    const inner = token.tokens.map(words).join('')
    return token.type === 'text' || token.type === 'link' || token.type === 'strong' || token.type === 'em' || token.type === 'del'
      ? inner
      : ` ${inner} `
  }
  return 'text' in token && typeof token.text === 'string' ? token.text : ''
}
