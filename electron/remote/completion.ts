// The shapes an OpenAI-compatible server answers with, read loosely and by hand: only the
// fields the app uses, each optional where some server leaves it out. Hand-written because a
// stream's chunks are read hundreds of times a second and a schema library costs more than the
// rest of the reading together.
import { z } from 'zod'

/** A model list, or a whole non-streamed answer, is read only this far. */
export const JSON_BODY_BYTES = 16 * 1024 * 1024
export const ModelList = z.object({ data: z.array(z.object({ id: z.string().min(1) })) })

export interface ToolCallDelta {
  index?: number
  id?: string
  function?: { name?: string; arguments?: string }
}

export interface Counts {
  /** OpenAI's usage: prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens. */
  promptTokens?: number
  completionTokens?: number
  cachedTokens?: number
  /** llama-server's timings: prompt_n (evaluated), cache_n (reused), predicted_n, predicted_per_second. */
  promptN?: number
  cacheN?: number
  predictedN?: number
  predictedPerSecond?: number
  /**
   * llama-server's prompt_progress (sent when asked with return_progress): the prompt's tokens and
   * those reused, known before the first token, so an answer stopped early can still say them.
   */
  progressTotal?: number
  progressCache?: number
}

/** One streamed chunk (its delta) or a whole answer (its message), reduced to what the engine uses. */
export interface CompletionPart {
  content: string
  /**
   * The model's thinking, where the server streams it apart from the answer: llama-server's
   * default, DeepSeek's and vLLM's reasoning_content, or reasoning as OpenRouter and Ollama name it.
   */
  reasoning: string
  toolCalls: ToolCallDelta[]
  finishReason: string | null
  counts: Counts
  /** The server's error, when it reported one in the stream. */
  error: string | null
  /** Whether it had a choices array: an OpenAI chunk, not just any JSON. */
  hasChoices: boolean
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null)
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function toolCalls(v: unknown): ToolCallDelta[] {
  if (!Array.isArray(v)) return []
  return v.flatMap((item): ToolCallDelta[] => {
    const call = obj(item)
    if (!call) return []
    const fn = obj(call.function)
    return [
      {
        index: num(call.index),
        id: str(call.id),
        ...(fn ? { function: { name: str(fn.name), arguments: str(fn.arguments) } } : {}),
      },
    ]
  })
}

function counts(root: Json): Counts {
  const usage = obj(root.usage)
  const timings = obj(root.timings)
  const out: Counts = {}
  if (usage) {
    out.promptTokens = num(usage.prompt_tokens)
    out.completionTokens = num(usage.completion_tokens)
    out.cachedTokens = num(obj(usage.prompt_tokens_details)?.cached_tokens)
  }
  if (timings) {
    out.promptN = num(timings.prompt_n)
    out.cacheN = num(timings.cache_n)
    out.predictedN = num(timings.predicted_n)
    out.predictedPerSecond = num(timings.predicted_per_second)
  }
  const progress = obj(root.prompt_progress)
  if (progress) {
    out.progressTotal = num(progress.total)
    out.progressCache = num(progress.cache)
  }
  return out
}

/** Reads a chunk (via 'delta') or a whole answer (via 'message'); null when it is not a JSON object. */
export function readCompletion(value: unknown, via: 'delta' | 'message'): CompletionPart | null {
  const root = obj(value)
  if (!root) return null
  const choices = Array.isArray(root.choices) ? root.choices : null
  const choice = obj(choices?.[0])
  const part = obj(choice?.[via])
  const error =
    root.error === undefined || root.error === null
      ? null
      : (str(root.error) ?? (str(obj(root.error)?.message) || JSON.stringify(root.error).slice(0, 300)))
  return {
    content: str(part?.content) ?? '',
    reasoning: str(part?.reasoning_content) ?? str(part?.reasoning) ?? '',
    toolCalls: toolCalls(part?.tool_calls),
    finishReason: str(choice?.finish_reason) ?? null,
    counts: root.usage || root.timings || root.prompt_progress ? counts(root) : {},
    error,
    hasChoices: choices !== null,
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
