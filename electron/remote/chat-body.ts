// The engine's request in OpenAI's chat-completions shape: images as data URLs, sampling under
// OpenAI's names, formats as response_format, tools and tool turns as OpenAI writes them.
import type { GenerateRequest, ToolCall } from '../engine/contract.js'
import { DEFAULT_BUDGET, prepareImage, type ImageBudget } from '../images/prepare.js'
import { finishedThought } from '../engine/thinking.js'

type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }

export interface OpenAiMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string | ContentPart[] | null
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[]
  tool_call_id?: string
}

/**
 * Builds the chat-completions body. Images go through the same preparation as for the local
 * engine (safe decode, orientation, downscale), so a 4K screenshot is not sent at full size.
 * top_k is not an OpenAI field: it is sent only when asked for, since llama-server, vLLM,
 * LM Studio and Ollama accept it and OpenAI itself would refuse it.
 */
export async function chatBody(
  model: string,
  request: GenerateRequest,
  stream: boolean,
  budget: ImageBudget = DEFAULT_BUDGET,
): Promise<Record<string, unknown>> {
  const messages: OpenAiMessage[] = []
  for (const m of request.messages) {
    const parts: ContentPart[] = []
    for (const image of m.images ?? []) {
      const prepared = await prepareImage(image.bytes, budget)
      parts.push({ type: 'image_url', image_url: { url: `data:${prepared.mime};base64,${prepared.data.toString('base64')}` } })
    }
    // An earlier answer goes without its thought: servers leave earlier thoughts out of the
    // context (DeepSeek's API refuses a reasoning_content sent back, and OpenAI's knows no such
    // field), and in the text they would be read as part of the answer.
    const text = (m.role === 'assistant' ? finishedThought(m.text)?.answer : undefined) ?? m.text
    const message: OpenAiMessage = { role: m.role, content: text }
    if (parts.length > 0) message.content = [...parts, { type: 'text', text }]
    if (m.toolCalls) {
      message.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }))
      if (text === '') message.content = null
    }
    if (m.toolCallId !== undefined) message.tool_call_id = m.toolCallId
    messages.push(message)
  }
  const s = request.sampling ?? {}
  const body: Record<string, unknown> = { model, messages }
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } })
  if (s.maxTokens !== undefined) body.max_tokens = s.maxTokens
  if (s.temperature !== undefined) body.temperature = s.temperature
  if (s.topP !== undefined) body.top_p = s.topP
  if (s.topK !== undefined) body.top_k = s.topK
  if (s.seed !== undefined) body.seed = s.seed
  if (s.stop?.length) body.stop = s.stop
  if (request.format?.type === 'json') body.response_format = { type: 'json_object' }
  if (request.format?.type === 'json_schema') {
    body.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: request.format.schema, strict: true } }
  }
  if (request.tools) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters },
    }))
    const choice = request.toolChoice
    if (choice !== undefined) body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } }
    if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls
  }
  return body
}

interface ToolCallDelta {
  index?: number
  id?: string
  function?: { name?: string; arguments?: string }
}

/**
 * Tool calls arrive in pieces (OpenAI streams a call's id and name first, then its arguments),
 * each piece under its call's index. Ollama sends every call of an answer under index 0
 * (ollama/ollama#15457), so a piece with a new id under an index already taken starts a new
 * call, and the pieces after it without an id continue that one.
 */
export class ToolCallCollector {
  private readonly calls: { id: string; name: string; arguments: string }[] = []
  /** Where each index's pieces go now. */
  private readonly slots = new Map<number, number>()

  add(deltas: readonly ToolCallDelta[]): void {
    for (const [position, d] of deltas.entries()) {
      const index = d.index ?? position
      let slot = this.slots.get(index)
      const taken = slot === undefined ? undefined : this.calls[slot]
      if (slot === undefined || (d.id && taken?.id && d.id !== taken.id)) {
        slot = this.calls.push({ id: '', name: '', arguments: '' }) - 1
        this.slots.set(index, slot)
      }
      const call = this.calls[slot]!
      if (d.id) call.id = d.id
      if (d.function?.name) call.name = d.function.name
      if (d.function?.arguments) call.arguments += d.function.arguments
    }
  }

  result(): ToolCall[] {
    return [...this.calls.entries()]
      .filter(([, c]) => c.name !== '')
      .map(([slot, c]) => ({ id: c.id || `call_${slot}`, name: c.name, arguments: c.arguments || '{}' }))
  }
}
