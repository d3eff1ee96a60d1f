// How failures reach the API's clients: engine errors as OpenAI error bodies, and the answer
// a request gets when the server's closing stops it.
import type { ErrorCode } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { ApiError } from './openai-types.js'

/** The abort reason of requests stopped because the server is closing. */
export const STOPPING = Symbol('api server stopping')

/** A request the server's closing stopped: the answer says so before the connection goes. */
export function stopIfStopping(signal: AbortSignal): void {
  if (signal.reason === STOPPING) throw serverStopping()
}

export function serverStopping(): ApiError {
  return new ApiError(
    503,
    'The API server stopped before this answer was finished: it was turned off, moved to another port, or the app is closing.',
    'server_error',
    'server_stopping',
    null,
    { connection: 'close' },
  )
}

/** How engine errors reach clients: the HTTP status, and OpenAI's code and param where it has them. */
const ENGINE_ERRORS: Partial<Record<ErrorCode, { status: number; code?: string; param?: string }>> = {
  'no-model': { status: 503, code: 'model_not_loaded' },
  'no-vision': { status: 400 },
  'bad-image': { status: 400 },
  'context-overflow': { status: 400, code: 'context_length_exceeded', param: 'messages' },
  // The engine's own name for a request it refuses is no OpenAI code: clients read invalid_value.
  'invalid-payload': { status: 400, code: 'invalid_value' },
  busy: { status: 429 },
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof AppError) {
    const known = ENGINE_ERRORS[error.code]
    const status = known?.status ?? 500
    return new ApiError(
      status,
      error.message,
      status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
      known?.code ?? error.code,
      known?.param ?? error.field,
    )
  }
  return new ApiError(500, error instanceof Error ? error.message : String(error), 'server_error')
}
