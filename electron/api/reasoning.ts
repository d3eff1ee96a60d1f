// A reasoning model's thought, returned apart from its answer (reasoning_content), as llama-server
// does by default and as DeepSeek's API, vLLM and LM Studio do: clients such as Open WebUI fold
// it away, and a client that sends the conversation back leaves it out where it should. A
// request may ask for the text as the model wrote it instead (reasoning_format: 'none', as
// llama-server names it). The engine leaves a thought in the text as <think>…</think>
// (electron/engine/thinking.ts); a whole answer is split as the window splits it, a streamed one
// as it comes, holding back only what may still turn out to be a tag.
import { splitThinking, THINK_CLOSE, THINK_OPEN } from '../engine/thinking.js'

export interface ReasoningParts {
  reasoning: string
  content: string
}

/** A whole answer's thought and answer; reasoning is null where there is no thought. */
export function splitAnswer(text: string): { reasoning: string | null; content: string } {
  const { thought, answer } = splitThinking(text)
  return { reasoning: thought, content: answer }
}

/** An assistant message's text with the thought a client sent back apart (reasoning_content), as the engine holds it. */
export function withThought(reasoning: string, content: string): string {
  return `${THINK_OPEN}\n${reasoning}\n${THINK_CLOSE}\n\n${content}`
}

/** How much of text's end may be the start of tag. */
function partialTagAt(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) if (tag.startsWith(text.slice(-n))) return n
  return 0
}

/**
 * A streamed answer, split as it comes: the text of a leading <think> goes to reasoning until
 * its </think>, the rest to content. What may still be part of a tag is held back, and so is
 * the whitespace around a thought (the whole answer's split trims it too). The local engines
 * write the opening of a thought the template opened; text with only a closing tag (a remote
 * server's raw text) cannot be told from an answer before the tag comes, so streamed it stays
 * in content, and the whole answer's split finds it.
 */
export class ReasoningStream {
  private state: 'start' | 'thought' | 'after-thought' | 'answer' = 'start'
  private held = ''
  /** Whether the thought has begun past the whitespace after its tag. */
  private thinking = false

  push(text: string): ReasoningParts {
    this.held += text
    const out: ReasoningParts = { reasoning: '', content: '' }
    if (this.state === 'start') {
      const rest = this.held.trimStart()
      if (rest.length < THINK_OPEN.length && THINK_OPEN.startsWith(rest)) return out
      if (!rest.startsWith(THINK_OPEN)) {
        this.state = 'answer'
      } else {
        this.state = 'thought'
        this.held = rest.slice(THINK_OPEN.length)
      }
    }
    if (this.state === 'thought' && !this.thinking) {
      this.held = this.held.trimStart()
      if (!this.held) return out
      this.thinking = true
    }
    if (this.state === 'thought') {
      const end = this.held.indexOf(THINK_CLOSE)
      if (end < 0) {
        // A partial tag at the end may be its close, and the whitespace before it the thought's
        // last (trimmed): both wait for what comes next.
        const cut = this.held.slice(0, this.held.length - partialTagAt(this.held, THINK_CLOSE)).trimEnd().length
        out.reasoning = this.held.slice(0, cut)
        this.held = this.held.slice(cut)
        return out
      }
      out.reasoning = this.held.slice(0, end).trimEnd()
      this.held = this.held.slice(end + THINK_CLOSE.length)
      this.state = 'after-thought'
    }
    if (this.state === 'after-thought') {
      this.held = this.held.trimStart()
      if (!this.held) return out
      this.state = 'answer'
    }
    out.content = this.held
    this.held = ''
    return out
  }

  /** What was held back, at the end of the answer. */
  end(): ReasoningParts {
    const held = this.held
    this.held = ''
    if (this.state === 'start') return { reasoning: '', content: held }
    if (this.state === 'thought') return { reasoning: held.trimEnd(), content: '' }
    return { reasoning: '', content: '' }
  }
}
