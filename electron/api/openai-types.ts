// The slice of OpenAI's chat completions API the local server accepts, as zod schemas.
// No field is ignored without saying so: refusedField (below) refuses unknown top-level
// fields and OpenAI fields this server does not honour before the schema runs. Every
// optional field also accepts null: OpenAI and llama-server do, and clients send it for "unset".
import { z } from 'zod'
import { LIMITS } from '../ipc/contract.js'
import { JsonSchema, MAX_TOOL_CALLS, MAX_TOOLS } from '../engine/contract.js'

const TextPart = z.object({ type: z.literal('text'), text: z.string().max(LIMITS.textChars) })
const ImagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().max(LIMITS.imageBytes * 1.4), detail: z.string().nullish() }),
})

const ContentPart = z.discriminatedUnion('type', [TextPart, ImagePart], { error: 'a content part is of type "text" or "image_url"' })

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

const FunctionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, _ or -')
const CallId = z.string().min(1).max(128)

/** A function the model may call; no parameters means it takes none. strict is accepted: arguments always follow the schema. */
const Tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: FunctionName,
    description: z.string().max(4096).nullish(),
    parameters: JsonSchema.nullish(),
    strict: z.boolean().nullish(),
  }),
})
export type Tool = z.infer<typeof Tool>

const ToolCall = z.object({
  id: CallId,
  type: z.literal('function'),
  function: z.object({ name: FunctionName, arguments: z.string().max(LIMITS.textChars) }),
})

const ToolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: FunctionName }) }),
])
export type ToolChoice = z.infer<typeof ToolChoice>

export const ChatCompletionRequest = z.object({
  model: z.string().min(1).max(256),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        // An assistant message that only calls tools has no content (null or left out).
        content: z
          .union([z.string().max(LIMITS.textChars), z.array(ContentPart).max(LIMITS.imagesPerMessage + 16)], {
            error: 'content is text, or an array of content parts',
          })
          .nullish(),
        tool_calls: z.array(ToolCall).max(MAX_TOOL_CALLS).nullish(),
        tool_call_id: CallId.nullish(),
        // An answer's thought, as this server returns it: the template decides whether it is kept.
        reasoning_content: z.string().max(LIMITS.textChars).nullish(),
      }),
    )
    .min(1)
    .max(LIMITS.messages),
  response_format: ResponseFormat.nullish(),
  tools: z.array(Tool).max(MAX_TOOLS).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().nullish() }).nullish(),
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
  // This server's own: the text layer (on-device OCR) for this request's images. Absent or true:
  // as the app's Settings say (at least 'auto'); false: the images alone.
  text_layer: z.boolean().nullish(),
  // llama-server's: a reasoning model's thought apart from the answer (reasoning_content; auto
  // and deepseek, the default) or left in the text as the model wrote it (none).
  reasoning_format: z.enum(['auto', 'deepseek', 'none']).nullish(),
  // Accepted and passed to nothing: they name the caller or a cache for OpenAI's own records, and change no answer.
  user: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
})
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>

export type FinishReason = 'stop' | 'length' | 'tool_calls'

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

/**
 * OpenAI request fields this server knows but does not honour, each with the values that ask
 * for nothing (several clients send them by default); null is accepted too, as "unset". Any
 * other value is refused with a 400 naming the field, instead of being silently dropped.
 */
const UNHONOURED: Record<string, { off: (value: unknown) => boolean; why: string }> = {
  n: { off: (v) => v === 1, why: 'this server returns one choice per request; leave n out or send 1' },
  logprobs: { off: (v) => v === false, why: 'this server does not return log probabilities' },
  // 0 asks for none, and OpenAI takes it.
  top_logprobs: { off: (v) => v === 0, why: 'this server does not return log probabilities' },
  logit_bias: { off: (v) => isEmptyObject(v), why: 'the engine has no logit bias' },
  frequency_penalty: { off: (v) => v === 0, why: 'the engine applies no frequency penalty; leave it out or send 0' },
  presence_penalty: { off: (v) => v === 0, why: 'the engine applies no presence penalty; leave it out or send 0' },
  modalities: { off: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text', why: 'answers are text only' },
  audio: { off: () => false, why: 'answers are text only' },
  store: { off: (v) => v === false, why: 'this server stores no completions' },
  metadata: { off: () => false, why: 'this server stores no completions to tag' },
  prediction: { off: () => false, why: 'predicted outputs are not supported' },
  reasoning_effort: { off: () => false, why: 'the loaded model has no reasoning-effort setting here' },
  verbosity: { off: () => false, why: 'the loaded model has no verbosity setting here' },
  web_search_options: { off: () => false, why: 'this server reaches no network' },
  service_tier: { off: (v) => v === 'auto' || v === 'default', why: 'there is one tier: the local engine' },
  prompt_cache_retention: { off: () => false, why: 'the engine keeps its prompt cache in memory as it sees fit' },
  functions: { off: () => false, why: 'the deprecated functions API is not supported' },
  function_call: { off: () => false, why: 'the deprecated functions API is not supported' },
}

/**
 * Why the body cannot be answered as asked: the first OpenAI field it sets that this server
 * does not honour, or every top-level field this server does not know (OpenAI's own codes:
 * unsupported_parameter, unknown_parameter). Null when every field is one the schema checks.
 */
export function refusedField(body: unknown): ApiError | null {
  if (!isObject(body)) return null
  const unknown: string[] = []
  for (const [field, value] of Object.entries(body)) {
    // Own fields only: `in` took `constructor` or `toString` for known ones, and let them pass unchecked.
    if (Object.hasOwn(ChatCompletionRequest.shape, field)) continue
    const rule = Object.hasOwn(UNHONOURED, field) ? UNHONOURED[field] : undefined
    if (!rule) unknown.push(field)
    else if (value !== null && !rule.off(value))
      return new ApiError(400, `Unsupported parameter: '${field}': ${rule.why}.`, 'invalid_request_error', 'unsupported_parameter', field)
  }
  if (unknown.length === 0) return null
  return new ApiError(
    400,
    `Unrecognized request argument${unknown.length > 1 ? 's' : ''} supplied: ${unknown.join(', ')}.`,
    'invalid_request_error',
    'unknown_parameter',
    unknown[0]!,
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isEmptyObject(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0
}
