import { AppError } from '../ipc/errors.js'

/** The prompt does not fit: say how many tokens it needs and how many the context holds. */
export function contextOverflow(needed: number, imageTokens: number, contextSize: number): AppError {
  const images = imageTokens > 0 ? ` (${imageTokens} for images)` : ''
  return new AppError(
    'context-overflow',
    `The conversation needs ${needed} tokens${images}; the context holds ${contextSize}. Start a new conversation, remove images or shorten the text.`,
  )
}
