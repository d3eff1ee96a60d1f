// The shapes an OpenAI-compatible server answers with, checked loosely: only the fields the
// app reads, each optional where some server leaves it out.
import { z } from 'zod'

/** A model list, or a whole non-streamed answer, is read only this far. */
export const JSON_BODY_BYTES = 16 * 1024 * 1024
export const ModelList = z.object({ data: z.array(z.object({ id: z.string().min(1) })) })

const Usage = z
  .object({
    prompt_tokens: z.number().optional(),
    completion_tokens: z.number().optional(),
    prompt_tokens_details: z.object({ cached_tokens: z.number().optional() }).nullish(),
  })
  .nullish()
/** llama-server's own counts, where the server is llama-server. */
const Timings = z.object({ prompt_n: z.number().optional(), cache_n: z.number().optional(), predicted_n: z.number().optional() }).nullish()
const ToolCallDeltas = z
  .array(
    z.object({
      index: z.number().optional(),
      id: z
        .string()
        .nullish()
        .transform((v) => v ?? undefined),
      function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).optional(),
    }),
  )
  .nullish()
const Choice = z.object({
  finish_reason: z.string().nullish(),
  delta: z.object({ content: z.string().nullish(), tool_calls: ToolCallDeltas }).nullish(),
  message: z.object({ content: z.string().nullish(), tool_calls: ToolCallDeltas }).nullish(),
})
export const Completion = z.object({
  choices: z.array(Choice).optional(),
  usage: Usage,
  timings: Timings,
  error: z.unknown().optional(),
})
export type Completion = z.infer<typeof Completion>

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
