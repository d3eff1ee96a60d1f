// How a stopped reading ends: with the reason the caller aborted with, else an AbortError that
// says so (the text layer's process and its reader tell a stop from a failure by the name).
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error) return reason
  const error = new Error('The text recognition was aborted')
  error.name = 'AbortError'
  return error
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal)
}
