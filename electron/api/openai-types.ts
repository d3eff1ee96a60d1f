// The slice of OpenAI's chat completions API the local server accepts, as zod schemas.
// Unknown fields are ignored (clients send many), known ones are checked. Every optional
// field also accepts null: OpenAI and llama-server do, and clients send it for "unset".
import { z } from 'zod'
import { LIMITS } from '../ipc/contract.js'
import { JsonSchema } from '../engine/contract.js'

const TextPart = z.object({ type: z.literal('text'), text: z.string().max(LIMITS.textChars) })
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().max(LIMITS.imageBytes * 1.4), detail: z.string().nullish() }),
})

/** Structured output: any JSON object, or JSON valid against a schema (enforced by a grammar whether or not strict is set). */
const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().max(LIMITS.textChars).nullish(),
      schema: JsonSchema.nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
])
export type ResponseFormat = z.infer<typeof ResponseFormat>

export const ChatCompletionRequest = z.object({
  model: z.string().min(1).max(256),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.union([
          z.string().max(LIMITS.textChars),
          z.array(z.union([TextPart, ImagePart])).max(LIMITS.imagesPerMessage + 16),
          z.null(),
        ]),
      }),
    )
    .min(1)
    .max(LIMITS.messages),
  response_format: ResponseFormat.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.int().min(1).max(LIMITS.maxTokens).nullish(),
  max_completion_tokens: z.int().min(1).max(LIMITS.maxTokens).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stop: z.union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).max(4)]).nullish(),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullish(),
  n: z.literal(1).nullish(),
})
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>

export type FinishReason = 'stop' | 'length'

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Extra response headers, such as Allow on a 405 or Retry-After on a 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}
