import { AppError } from '../ipc/errors.js'

/** The prompt does not fit: say how many tokens it needs and how many the context holds. */
export function contextOverflow(needed: number, imageTokens: number, contextSize: number): AppError {
  const images = imageTokens > 0 ? ` (${imageTokens} for images)` : ''
  return new AppError(
    'context-overflow',
    `The conversation needs ${needed} tokens${images}; the context holds ${contextSize}. Start a new conversation, remove images or shorten the text.`,
  )
}

/** What a refusal of contextOverflow's says. */
export interface OverflowNumbers {
  needed: number
  imageTokens: number
  contextSize: number
}

/**
 * The numbers of contextOverflow's refusal, read back from its message: an error crosses the
 * engine process's boundary as a code and a sentence, and the conversation needs them to know
 * how much to leave out. An inference server's own refusal is read too (serverOverflowNumbers).
 * Null for any other message.
 */
export function overflowNumbers(message: string): OverflowNumbers | null {
  const m = /^The conversation needs (\d+) tokens(?: \((\d+) for images\))?; the context holds (\d+)\./.exec(message)
  return m ? { needed: Number(m[1]), imageTokens: Number(m[2] ?? 0), contextSize: Number(m[3]) } : serverOverflowNumbers(message)
}

/**
 * How servers word a prompt longer than their context, each with the prompt's tokens (not the
 * prompt and the answer's room together: the conversation keeps that room itself) and the context:
 * - llama-server (tools/server/server-context.cpp): "request (N tokens) exceeds the available
 *   context size (M tokens), try increasing it", and with context shift on, "input (N tokens) is
 *   larger than the max context size (M tokens). skipping".
 * - vLLM, which says it differently from one version to the next, always after "This model's
 *   maximum context length is M tokens": "... you requested O output tokens and your prompt
 *   contains [at least] N input tokens" (0.11 on), "However, your request has N input tokens",
 *   "... you requested T tokens (N in the messages, O in the completion)" (before 0.10),
 *   "'max_tokens' or 'max_completion_tokens' is too large: O. ... and your request has N input
 *   tokens (O > M - N)". OpenAI's older "However, your messages resulted in N tokens" is read too.
 */
const SERVER_WORDINGS: { pattern: RegExp; needed: number; context: number }[] = [
  {
    pattern: /(?:request|input) \((\d+) tokens\) (?:exceeds the available|is larger than the max) context size \((\d+) tokens\)/i,
    needed: 1,
    context: 2,
  },
  { pattern: /maximum context length is (\d+) tokens\b.*?\bprompt contains (?:at least )?(\d+) input tokens/is, needed: 2, context: 1 },
  { pattern: /maximum context length is (\d+) tokens\b.*?\brequest has (\d+) input tokens/is, needed: 2, context: 1 },
  { pattern: /maximum context length is (\d+) tokens\b.*?\brequested \d+ tokens \((\d+) in the messages/is, needed: 2, context: 1 },
  { pattern: /maximum context length is (\d+) tokens\b.*?\brequested (\d+) tokens in the messages/is, needed: 2, context: 1 },
  { pattern: /maximum context length is (\d+) tokens\b.*?\bmessages resulted in (\d+) tokens/is, needed: 2, context: 1 },
]

/** The prompt's tokens and the context, as an inference server words its refusal; null when it says no numbers. */
export function serverOverflowNumbers(message: string): OverflowNumbers | null {
  for (const { pattern, needed, context } of SERVER_WORDINGS) {
    const m = pattern.exec(message)
    if (m) return { needed: Number(m[needed]), imageTokens: 0, contextSize: Number(m[context]) }
  }
  return null
}
