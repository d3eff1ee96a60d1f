// A reasoning model's thinking, told apart from its answer: the window folds it away, the local
// API returns it apart (reasoning_content), and earlier turns' thoughts go back to the model the
// way its template wants them. Every engine leaves a thought in the text as <think>…</think>
// before the answer: the llama-server child and llama.node write it so, node-llama-cpp's
// thought segments and a remote server's separate reasoning are put there. Where a template
// opens the thought in the prompt itself (DeepSeek-R1's and its distillations', Qwen3's
// thinking-only ones) the model writes only the closing tag; the local engines write the
// opening for it, but an answer stored before they did, or a remote server's raw text, has
// only the closing tag.

export interface Thinking {
  /** The thought, without its tags; null when the text has none. */
  thought: string | null
  /** Whether the thought is still open: no closing tag yet. */
  open: boolean
  /** What follows the thought: the answer proper. */
  answer: string
}

export const THINK_OPEN = '<think>'
export const THINK_CLOSE = '</think>'

export function splitThinking(text: string): Thinking {
  const start = text.length - text.trimStart().length
  if (text.startsWith(THINK_OPEN, start)) {
    const from = start + THINK_OPEN.length
    const end = text.indexOf(THINK_CLOSE, from)
    if (end < 0) return { thought: text.slice(from).trim(), open: true, answer: '' }
    return { thought: text.slice(from, end).trim(), open: false, answer: text.slice(end + THINK_CLOSE.length).trimStart() }
  }
  // Only a closing tag: the template opened the thought, and the model ends it on a line of its
  // own. An answer that merely mentions the tag does so within a line, inside a code block, or
  // after an opening one: none of those is taken for a thought.
  const end = text.indexOf(THINK_CLOSE)
  const before = text.slice(0, end)
  if (end > 0 && /\n[ \t]*$/.test(before) && !before.includes(THINK_OPEN) && (before.split('```').length - 1) % 2 === 0) {
    return { thought: before.trim(), open: false, answer: text.slice(end + THINK_CLOSE.length).trimStart() }
  }
  return { thought: null, open: false, answer: text }
}

/**
 * An earlier answer's finished thought and the answer after it, to go back to a model apart;
 * null where there is no thought, or it is still open (an answer to continue: the text the
 * model goes on from).
 */
export function finishedThought(text: string): { thought: string; answer: string } | null {
  const { thought, open, answer } = splitThinking(text)
  return thought !== null && !open ? { thought, answer } : null
}
