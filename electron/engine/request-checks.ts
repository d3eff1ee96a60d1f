// What makes a request one the engine can answer, checked before it waits for the engine: the
// local API runs these at its boundary, so a request that can never be answered gets its 400,
// naming the field, at once rather than after the queue (9 s behind another answer, measured).
// The engine runs them again for every caller.
import type { ChatMessage, GenerateRequest } from '../ipc/contract.js'
import { MESSAGES } from '../ipc/defaults.js'
import { AppError } from '../ipc/errors.js'
import { checkJsonSchema } from './json-schema.js'
import { checkTools } from './tools.js'

/** A request as the window, the API or the engine process holds it: only how many images a message has matters here. */
export type CheckedRequest = Omit<GenerateRequest, 'messages'> & {
  messages: readonly (Omit<ChatMessage, 'images'> & { images?: readonly unknown[] })[]
}

/**
 * Throws AppError('invalid-payload', or 'no-vision' for images to a model that cannot see,
 * with the field) for the first thing the loaded model cannot answer.
 */
export function checkRequest(request: CheckedRequest, vision: boolean): void {
  checkTurns(request.messages)
  checkFormat(request)
  checkTools(request)
  if (!vision && request.messages.some((m) => (m.images?.length ?? 0) > 0))
    throw new AppError('no-vision', MESSAGES.noVision, { field: 'messages' })
}

/**
 * A grammar constrains the whole answer from its first token, so it cannot pick up in the
 * middle of an answer given to continue; and its schema must hold only keywords it enforces.
 */
function checkFormat(request: CheckedRequest): void {
  if (!request.format) return
  if (request.messages.at(-1)?.role === 'assistant')
    throw new AppError('invalid-payload', 'A JSON answer cannot continue an assistant message; end the conversation with the user.', {
      field: 'response_format',
    })
  if (request.format.type === 'json_schema') {
    try {
      checkJsonSchema(request.format.schema)
    } catch (error) {
      if (error instanceof AppError) throw new AppError(error.code, error.message, { field: 'response_format' })
      throw error
    }
  }
}

/** A conversation ends with the user or a tool result, or with an assistant answer to continue right after the user. */
function checkTurns(messages: CheckedRequest['messages']): void {
  const last = messages.at(-1)
  const before = messages.at(-2)
  // After tool results the model answers, with text or more calls.
  if (last?.role === 'user' || last?.role === 'tool') return
  if (last?.role === 'assistant' && before?.role === 'user') {
    if (last.images?.length)
      throw new AppError('invalid-payload', 'An answer to continue cannot hold images.', {
        field: `messages.${messages.length - 1}.content`,
      })
    return
  }
  throw new AppError(
    'invalid-payload',
    'The conversation must end with a user message or a tool result, or with an assistant message right after a user message to continue that answer.',
    { field: 'messages' },
  )
}
