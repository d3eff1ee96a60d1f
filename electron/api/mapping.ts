// The OpenAI request as the engine's (messages, images, response_format, tools) and the
// engine's answer as OpenAI's (tool calls, finish reason, usage).
import { LIMITS, type AnswerFormat, type ChatMessage, type GenerateRequest, type GenerationStats, type ToolCall } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { checkJsonSchema, fromClientSchema } from '../engine/json-schema.js'
import { imageBytes, type ImageUrlRules } from './image-url.js'
import { ApiError, type ChatCompletionRequest, type FinishReason, type ResponseFormat, type Tool, type ToolChoice } from './openai-types.js'
import { withThought } from './reasoning.js'

export interface MessageRules extends ImageUrlRules {
  imagesPerRequest: number
}

/** The request's messages as the engine's, images read and every limit checked, naming the field that breaks one. */
export async function toMessages(input: ChatCompletionRequest['messages'], rules: MessageRules): Promise<ChatMessage[]> {
  let images = 0
  const out: ChatMessage[] = []
  for (const [i, m] of input.entries()) {
    const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : (m.content ?? [])
    const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n')
    const bytes: Uint8Array[] = []
    for (const part of parts) {
      if (part.type !== 'image_url') continue
      if (++images > rules.imagesPerRequest)
        throw new ApiError(
          400,
          `Too many images: at most ${rules.imagesPerRequest} per request.`,
          'invalid_request_error',
          'too_many_images',
          `messages.${i}.content`,
        )
      bytes.push(await imageBytes(part.image_url.url, `messages.${i}.content`, rules))
    }
    if (text.length > LIMITS.textChars)
      throw new ApiError(
        400,
        `Message ${i} is longer than ${LIMITS.textChars} characters.`,
        'invalid_request_error',
        'string_above_max_length',
        `messages.${i}.content`,
      )
    const role = m.role === 'developer' ? 'system' : m.role
    if ((role === 'tool') !== Boolean(m.tool_call_id))
      throw new ApiError(
        400,
        `Message ${i}: a tool message, and only a tool message, has a tool_call_id.`,
        'invalid_request_error',
        'invalid_value',
        `messages.${i}.tool_call_id`,
      )
    if (m.tool_calls?.length && role !== 'assistant')
      throw new ApiError(
        400,
        `Message ${i}: only an assistant message holds tool_calls.`,
        'invalid_request_error',
        'invalid_value',
        `messages.${i}.tool_calls`,
      )
    const calls = role === 'assistant' && m.tool_calls?.length ? m.tool_calls : null
    // The engines lay out a tool result and a call as text alone: an image there was dropped unsaid.
    if (bytes.length && (role === 'tool' || calls))
      throw new ApiError(
        400,
        `Message ${i}: ${role === 'tool' ? 'a tool result' : 'an assistant message with tool_calls'} takes text only; send the image in a user message.`,
        'invalid_request_error',
        'invalid_value',
        `messages.${i}.content`,
      )
    // A thought sent back goes in as the engine holds one, before the answer between its tags,
    // so each binding hands it to the template apart (Qwen3's keeps the current turn's: a
    // thought before a tool call stays with the call's results).
    const thought = role === 'assistant' && m.reasoning_content ? withThought(m.reasoning_content, text) : null
    if (thought && thought.length > LIMITS.textChars)
      throw new ApiError(
        400,
        `Message ${i}'s thought and text are longer than ${LIMITS.textChars} characters.`,
        'invalid_request_error',
        'string_above_max_length',
        `messages.${i}.reasoning_content`,
      )
    out.push({
      role,
      text: thought ?? text,
      ...(bytes.length ? { images: bytes.map((b) => ({ bytes: b })) } : {}),
      ...(calls ? { toolCalls: calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) } : {}),
      ...(role === 'tool' ? { toolCallId: m.tool_call_id! } : {}),
    })
  }
  return out
}

/**
 * response_format as the engine's answer format. The schema is checked here, before the
 * queue, so a keyword the grammar cannot enforce is refused naming the field it came in; the
 * openai client's helpers' dialect is read first (fromClientSchema).
 */
export function answerFormat(format: ResponseFormat | null | undefined): AnswerFormat | null {
  if (!format || format.type === 'text') return null
  const sent = format.type === 'json_schema' ? format.json_schema.schema : null
  if (!sent) return { type: 'json' }
  const schema = fromClientSchema(sent)
  try {
    checkJsonSchema(schema)
  } catch (error) {
    if (error instanceof AppError) throw new ApiError(400, error.message, 'invalid_request_error', 'invalid_json_schema', 'response_format')
    throw error
  }
  return { type: 'json_schema', schema }
}

/**
 * tools, tool_choice and parallel_tool_calls as the engine's fields. Each tool's parameters
 * are checked here so a keyword the grammar cannot enforce is refused naming the tool's place;
 * a tool without parameters takes none.
 */
export function toolsFor(
  tools: Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined,
): Pick<GenerateRequest, 'tools' | 'toolChoice' | 'parallelToolCalls'> {
  if (!tools?.length) {
    if (choice && choice !== 'none' && choice !== 'auto')
      throw new ApiError(400, 'tool_choice needs tools to choose from.', 'invalid_request_error', 'invalid_value', 'tool_choice')
    return {}
  }
  const definitions = tools.map((tool, i) => {
    const parameters = fromClientSchema(tool.function.parameters ?? { type: 'object', properties: {} })
    try {
      if (parameters.type !== 'object') throw new AppError('invalid-payload', 'The parameters must be a JSON schema with "type": "object".')
      checkJsonSchema(parameters)
    } catch (error) {
      if (error instanceof AppError)
        throw new ApiError(400, error.message, 'invalid_request_error', 'invalid_json_schema', `tools.${i}.function.parameters`)
      throw error
    }
    return { name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), parameters }
  })
  return {
    tools: definitions,
    ...(choice ? { toolChoice: typeof choice === 'string' ? choice : { name: choice.function.name } } : {}),
    ...(parallel === false ? { parallelToolCalls: false } : {}),
  }
}

/** The engine's calls in OpenAI's shape: arguments stay the JSON text the model wrote. */
export function openAiToolCalls(calls: ToolCall[]): { id: string; type: 'function'; function: { name: string; arguments: string } }[] {
  return calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }))
}

/** OpenAI says length for an answer cut short by a limit, the context's included. */
export function finishReason(stats: GenerationStats | null): FinishReason {
  return stats?.stopReason === 'max-tokens' || stats?.stopReason === 'context-full' ? 'length' : 'stop'
}

/** OpenAI's usage, with the prompt tokens the engine reused from its cache as cached_tokens. */
export function usage(stats: GenerationStats | null): {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number }
} {
  const prompt = stats?.tokensIn ?? 0
  const completion = stats?.tokensOut ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: stats?.cachedTokens ?? 0 },
  }
}

// In a Unicode pattern a surrogate pair is one code point: only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Where the body holds a string (or a key) with a lone UTF-16 surrogate, as a dotted path, or
 * null. JSON.parse takes "\ud800", but the engines' JSON parsers refuse it: a 500 mid-request.
 * Walked without recursion: a body may nest as deep as JSON.parse allows.
 */
export function illFormedText(body: unknown): string | null {
  const stack: [unknown, string][] = [[body, '']]
  while (stack.length > 0) {
    const [value, at] = stack.pop()!
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return at
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const path = at ? `${at}.${key}` : key
        if (LONE_SURROGATE.test(key)) return path
        stack.push([child, path])
      }
    }
  }
  return null
}

/**
 * An answer the engine's crash cut off ends as an error (an SSE error event once streaming,
 * else a 503 to retry), not as a finished answer: OpenAI has no finish_reason that says so,
 * and "stop" passed the cut text off as whole.
 */
export function cutOff(stats: GenerationStats | null): void {
  if (stats?.stopReason === 'engine-crashed')
    throw new AppError('engine-crashed', 'The engine stopped in the middle of this answer; what came before the stop was sent.')
}
