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
 * how much to leave out. Null for any other message (a remote server's says no numbers).
 */
export function overflowNumbers(message: string): OverflowNumbers | null {
  const m = /^The conversation needs (\d+) tokens(?: \((\d+) for images\))?; the context holds (\d+)\./.exec(message)
  return m ? { needed: Number(m[1]), imageTokens: Number(m[2] ?? 0), contextSize: Number(m[3]) } : null
}
