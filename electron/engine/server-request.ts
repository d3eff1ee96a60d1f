// What the engine sends llama-server beside the stream (server-backend.ts): OpenAI's message
// shape, and the prompt the server's own template lays out, to count an answer's image tokens.
import type { AnswerFormat } from '../ipc/contract.js'
import type { PreparedImage } from '../images/prepare.js'
import { parseJson } from '../remote/completion.js'
import type { TextGuard } from './special-text.js'
import { finishedThought } from './thinking.js'
import type { BackendMessage } from './types.js'

type ServerPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }
export interface ServerMessage {
  role: BackendMessage['role']
  content: string | ServerPart[]
  /** An earlier answer's thought, apart from it: the template lays it out or leaves it out (Qwen3's keeps only the last turn's). */
  reasoning_content?: string
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[]
  tool_call_id?: string
}

export type Post = (path: string, body: unknown, signal?: AbortSignal) => Promise<Response>

const dataUrl = (img: PreparedImage): string => `data:${img.mime};base64,${img.data.toString('base64')}`

/**
 * OpenAI's message shape, every text guarded so only the template adds special tokens; images
 * first, as llama.node gets them, each at urlOf (by default inline, as a data: URL).
 */
export function toServerMessage(m: BackendMessage, guard: TextGuard, urlOf: (img: PreparedImage) => string = dataUrl): ServerMessage {
  if (m.role === 'tool') return { role: 'tool', content: guard(m.text), tool_call_id: m.toolCallId! }
  // An earlier answer's <think> would reach the template guarded, as text: Qwen3's could not find
  // it to leave it out, and the model would read its old thoughts again as part of its answers.
  // A thought still open (an answer to continue) stays in the text the model goes on from.
  const apart = m.role === 'assistant' ? finishedThought(m.text) : null
  const text = guard(apart ? apart.answer : m.text)
  const reasoning = apart ? { reasoning_content: guard(apart.thought) } : {}
  if (m.toolCalls)
    return {
      role: m.role,
      content: text,
      ...reasoning,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: guard(c.arguments) } })),
    }
  if (m.images.length === 0) return { role: m.role, content: text, ...reasoning }
  return {
    role: m.role,
    content: [
      ...m.images.map((img) => ({
        type: 'image_url' as const,
        image_url: { url: urlOf(img) },
      })),
      { type: 'text' as const, text },
    ],
    ...reasoning,
  }
}

const imageParts = (m: ServerMessage): { type: 'image_url'; image_url: { url: string } }[] =>
  Array.isArray(m.content) ? m.content.filter((p) => p.type === 'image_url') : []

export const hasMedia = (messages: ServerMessage[]): boolean => messages.some((m) => imageParts(m).length > 0)

// Laying out a prompt only decodes an image's base64 (never the picture): a byte stands in.
const PLACEHOLDER = 'data:image/png;base64,AA=='

/**
 * The prompt the server's own chat template makes of these messages, a media marker where each
 * image goes. With the request's tools: a template that lays them out (Qwen3's) counted their
 * tokens as the images', and remembered that count for the image.
 */
export async function templatePrompt(messages: ServerMessage[], toolFields: object, post: Post, signal?: AbortSignal): Promise<string> {
  const light = messages.map((m) =>
    Array.isArray(m.content)
      ? {
          ...m,
          content: m.content.map((p) => (p.type === 'image_url' ? { type: 'image_url' as const, image_url: { url: PLACEHOLDER } } : p)),
        }
      : m,
  )
  const prompt = (
    parseJson(await (await post('/apply-template', { messages: light, ...toolFields }, signal)).text()) as { prompt?: unknown } | undefined
  )?.prompt
  if (typeof prompt !== 'string') throw new Error('llama-server did not lay out the prompt (/apply-template)')
  return prompt
}

/**
 * The prompt's text tokens: the templated prompt tokenized piece by piece between the media
 * markers, as mtmd tokenizes it. The image tokens are the prompt's total less these; the
 * server reports only the total.
 */
export async function textTokenCount(prompt: string, post: Post, marker: string): Promise<number> {
  const pieces = prompt.split(marker)
  const counts = await Promise.all(
    pieces.map(async (piece, i) => {
      if (!piece && i > 0) return 0
      const res = await post('/tokenize', { content: piece, add_special: i === 0, parse_special: true })
      const tokens = (parseJson(await res.text()) as { tokens?: unknown[] } | undefined)?.tokens
      return Array.isArray(tokens) ? tokens.length : 0
    }),
  )
  return counts.reduce((a, b) => a + b, 0)
}

/** An answer format in the request: the exact grammar where the engine builds one, else OpenAI's response_format. */
export async function formatFields(
  format: AnswerFormat,
  grammarFor: ((format: AnswerFormat) => Promise<string>) | undefined,
): Promise<Record<string, unknown>> {
  if (grammarFor) return { grammar: await grammarFor(format) }
  const schema = format.type === 'json' ? { type: 'object' } : format.schema
  return { response_format: { type: 'json_schema', json_schema: { schema, strict: true } } }
}
