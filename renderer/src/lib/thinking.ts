// A reasoning model's thinking, told apart from its answer so the window can fold it away.
// Local models leave their thoughts in the text (the engine's llama-server child and llama.node
// both do), and the remote engine places a server's separate reasoning there too, so a thought
// arrives as <think>…</think> before the answer. Templates that open the thought in the prompt
// itself (DeepSeek-R1's and its distillations', Qwen3's thinking-only ones) leave the model to
// write only the closing tag.

export interface Thinking {
  /** The thought, without its tags; null when the text has none. */
  thought: string | null
  /** Whether the thought is still open: no closing tag yet. */
  open: boolean
  /** What follows the thought: the answer proper. */
  answer: string
}

const OPEN = '<think>'
const CLOSE = '</think>'

export function splitThinking(text: string): Thinking {
  const start = text.length - text.trimStart().length
  if (text.startsWith(OPEN, start)) {
    const from = start + OPEN.length
    const end = text.indexOf(CLOSE, from)
    if (end < 0) return { thought: text.slice(from).trim(), open: true, answer: '' }
    return { thought: text.slice(from, end).trim(), open: false, answer: text.slice(end + CLOSE.length).trimStart() }
  }
  // Only a closing tag: the template opened the thought, and the model ends it on a line of its
  // own. An answer that merely mentions the tag does so within a line, inside a code block, or
  // after an opening one: none of those is taken for a thought.
  const end = text.indexOf(CLOSE)
  const before = text.slice(0, end)
  if (end > 0 && /\n[ \t]*$/.test(before) && !before.includes(OPEN) && (before.split('```').length - 1) % 2 === 0) {
    return { thought: before.trim(), open: false, answer: text.slice(end + CLOSE.length).trimStart() }
  }
  return { thought: null, open: false, answer: text }
}
