// node-llama-cpp reads a reasoning model's thought as a segment apart from the answer, and its
// onTextChunk leaves segments out: a Qwen3 or DeepSeek-R1 model on the text path answered with
// nothing until its thought was over, and the thought was lost. Here a thought goes into the
// text as the model wrote it, between <think> and </think>, as the llama-server child and
// llama.node leave it (thinking.ts); and an earlier answer's thought goes back to node-llama-cpp
// as a segment, or is left out, as the model's chat wrapper keeps earlier thoughts.
import type { ChatModelResponse, ChatWrapper, LlamaChatResponseChunk } from 'node-llama-cpp'
import { splitThinking, THINK_CLOSE, THINK_OPEN } from './thinking.js'
import type { TextGuard } from './special-text.js'

/** The stream's text for node-llama-cpp's response chunks: a thought's between its tags, the rest as it comes. */
export class ThoughtText {
  /**
   * @param open the answer being continued ends inside a thought (its <think> is already in
   *   the text the caller holds).
   */
  constructor(private open = false) {}

  /** The text to add for this chunk. */
  of(chunk: LlamaChatResponseChunk): string {
    if (chunk.type === 'segment' && chunk.segmentType === 'thought') {
      let text = this.open ? '' : `${THINK_OPEN}\n`
      this.open = true
      text += chunk.text
      if (chunk.segmentEndTime) text += this.close()
      return text
    }
    // The answer, or a comment segment (gpt-oss's commentary, said to the reader): either ends a thought.
    return (this.open ? this.close() : '') + chunk.text
  }

  private close(): string {
    this.open = false
    return `\n${THINK_CLOSE}\n\n`
  }
}

/**
 * What the chat wrapper does with earlier thoughts: none, it knows no thoughts (an answer goes
 * back as its text); all, kept; last, only the current turn's (after the last user message),
 * as Qwen3's and DeepSeek-R1's templates keep them. node-llama-cpp says which (keepOnlyLastThought)
 * but still lays out the others, so they are left out here.
 */
export type EarlierThoughts = 'none' | 'all' | 'last'

/**
 * An assistant turn's response for node-llama-cpp: the thought before the answer as a thought
 * segment (ended unless the turn is cut inside it, to be continued), the answer after; left out
 * where the wrapper keeps no thought for this turn. Both guarded as any text is.
 */
export function responseOf(text: string, guard: TextGuard, thoughts: EarlierThoughts, current = true): ChatModelResponse['response'] {
  const parts = thoughts === 'none' ? null : splitThinking(text)
  if (!parts || parts.thought === null) return [guard(text)]
  const keep = thoughts === 'all' || current
  return [
    ...(keep ? [{ type: 'segment' as const, segmentType: 'thought' as const, text: guard(parts.thought), ended: !parts.open }] : []),
    ...(parts.answer || !keep ? [guard(parts.answer)] : []),
  ]
}

/** Which earlier thoughts this chat wrapper keeps. */
export function earlierThoughts(wrapper: ChatWrapper): EarlierThoughts {
  if (!wrapper.settings.segments?.thought) return 'none'
  return 'keepOnlyLastThought' in wrapper && wrapper.keepOnlyLastThought === true ? 'last' : 'all'
}
