// What llama-server answers, read as the engine reports it (server-backend.ts): streamed tool
// call deltas merged into calls, and its context refusal said with the numbers, as on llama.node.
import { AppError } from '../ipc/errors.js'
import type { ToolCallDelta } from '../remote/completion.js'
import { RemoteHttpError } from '../remote/http.js'
import { contextOverflow } from './context-limit.js'

/** Streamed call deltas: the first names the call, later ones add to its arguments. */
export function mergeCall(calls: ToolCallDelta[], delta: ToolCallDelta): void {
  const index = delta.index ?? calls.length
  const call = (calls[index] ??= { index, function: { name: '', arguments: '' } })
  if (delta.id) call.id = delta.id
  if (delta.function?.name) call.function!.name = (call.function!.name ?? '') + delta.function.name
  if (delta.function?.arguments) call.function!.arguments = (call.function!.arguments ?? '') + delta.function.arguments
}

/** The server's "exceeds the available context size" refusal, with the numbers, as the engine says it on llama.node. */
export async function overflowOrError(
  error: unknown,
  countImages: (total: number) => Promise<number>,
  contextSize: number,
): Promise<unknown> {
  if (!(error instanceof RemoteHttpError) || error.status !== 400) return error
  const m = /\((\d+) tokens\) exceeds the available context size \((\d+) tokens\)/.exec(error.serverMessage ?? '')
  if (!m) return new AppError('internal', `llama-server refused the request: ${error.serverMessage ?? error.message}`)
  const needed = Number(m[1])
  return contextOverflow(needed, await countImages(needed).catch(() => 0), Number(m[2]) || contextSize)
}
