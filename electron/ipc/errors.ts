import type { ErrorCode, WireError } from './contract.js'

/** An error meant for the user: a stable code and a sentence that says what to do. */
export class AppError extends Error {
  /** The request field the error is about, where one is (the local API names it as OpenAI's param). */
  readonly field: string | null

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options)
    this.name = 'AppError'
    this.field = options?.field ?? null
  }
}

export function toWireError(error: unknown): WireError {
  if (error instanceof AppError) return { code: error.code, message: error.message }
  const message = error instanceof Error ? error.message : String(error)
  return { code: 'internal', message: message || 'unexpected error' }
}

export function fromWireError(error: WireError): AppError {
  return new AppError(error.code, error.message)
}
