// The engine's part of the IPC contract: what a load and a generation ask for (zod
// schemas, validated in main) and what the engine reports. The renderer sees the types only.
import { z } from 'zod'
import { LIMITS } from '../ipc/defaults.js'
import { FilePath, Text } from '../ipc/fields.js'

export const ImageInput = z.strictObject({
  /** Original encoded bytes (PNG, JPEG, WebP, GIF, ...); prepared for the model in the engine. */
  bytes: z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected image bytes (Uint8Array)')
    .refine((b) => b.byteLength > 0, 'image is empty')
    .refine((b) => b.byteLength <= LIMITS.imageBytes, `image is larger than ${LIMITS.imageBytes} bytes`),
  name: z.string().max(256).optional(),
})
export type ImageInput = z.infer<typeof ImageInput>

export const Sampling = z.strictObject({
  maxTokens: z.int().min(1).max(LIMITS.maxTokens).optional(),
  temperature: z.number().min(0).max(5).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.int().min(0).max(1000).optional(),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  stop: z.array(z.string().min(1).max(64)).max(8).optional(),
})
export type Sampling = z.infer<typeof Sampling>

/** A response format's or a tool's JSON schema, serialised: far more than any real answer format needs. */
export const SCHEMA_CHARS = 64 * 1024

/** A JSON schema, checked for keywords the grammar can enforce in the engine (json-schema.ts); here only bounded in size. */
export const JsonSchema = z
  .record(z.string(), z.unknown())
  .refine((schema) => serialisedLength(schema) <= SCHEMA_CHARS, `a JSON schema may be at most ${SCHEMA_CHARS} characters`)

/** Infinity for a value too deeply nested to serialise (JSON.stringify overflowed the stack: a 500, not a 400). */
function serialisedLength(value: unknown): number {
  try {
    return JSON.stringify(value).length
  } catch {
    return Infinity
  }
}

/** An answer constrained by a grammar: any JSON object, or JSON valid against a schema. */
export const AnswerFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('json') }),
  z.strictObject({ type: z.literal('json_schema'), schema: JsonSchema }),
])
export type AnswerFormat = z.infer<typeof AnswerFormat>

/** OpenAI's rule for function names, which the chat templates and the call grammar rely on. */
export const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a tool name is 1 to 64 letters, digits, _ or -')
export const MAX_TOOLS = 64
export const MAX_TOOL_CALLS = 16

/** A function the model may call; its parameters are a JSON schema for the arguments object. */
export const ToolDefinition = z.strictObject({
  name: ToolName,
  description: z.string().max(4096).optional(),
  parameters: JsonSchema,
})
export type ToolDefinition = z.infer<typeof ToolDefinition>

/** A call the model made: arguments is the JSON text of the arguments object, as OpenAI sends it. */
export const ToolCall = z.strictObject({
  id: z.string().min(1).max(128),
  name: ToolName,
  arguments: Text,
})
export type ToolCall = z.infer<typeof ToolCall>

/** auto: the model decides; none: it answers in text; required: it calls one of the tools; { name }: it calls that one. */
export const ToolChoice = z.union([z.enum(['auto', 'none', 'required']), z.strictObject({ name: ToolName })])
export type ToolChoice = z.infer<typeof ToolChoice>

/**
 * A turn: an assistant turn may hold the tool calls it made, and a tool turn is one call's
 * result (its text), naming the call it answers.
 */
export const ChatMessage = z
  .strictObject({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    text: Text,
    images: z.array(ImageInput).max(LIMITS.imagesPerMessage).optional(),
    toolCalls: z.array(ToolCall).min(1).max(MAX_TOOL_CALLS).optional(),
    toolCallId: z.string().min(1).max(128).optional(),
  })
  .refine((m) => !m.toolCalls || m.role === 'assistant', 'only an assistant message holds tool calls')
  .refine((m) => (m.role === 'tool') === (m.toolCallId !== undefined), 'a tool message, and only a tool message, names its tool call')
export type ChatMessage = z.infer<typeof ChatMessage>

export const GenerateRequest = z.strictObject({
  messages: z.array(ChatMessage).min(1).max(LIMITS.messages),
  sampling: Sampling.optional(),
  format: AnswerFormat.optional(),
  tools: z.array(ToolDefinition).min(1).max(MAX_TOOLS).optional(),
  /** Absent: auto when there are tools. */
  toolChoice: ToolChoice.optional(),
  /** Absent or true: the model may make several calls in one answer where its template allows. */
  parallelToolCalls: z.boolean().optional(),
})
export type GenerateRequest = z.infer<typeof GenerateRequest>

/** How much of an image the model is shown: fewer image tokens and a faster answer, or finer detail. */
export const ImageDetail = z.enum(['low', 'balanced', 'high'])
export type ImageDetail = z.infer<typeof ImageDetail>
const Threads = z.int().min(1).max(1024)

export const LoadRequest = z.strictObject({
  modelPath: FilePath,
  mmprojPath: FilePath.optional(),
  /** 'auto' lets the engine fit layers to free VRAM; a number forces that many. */
  gpuLayers: z.union([z.literal('auto'), z.int().min(0).max(1000)]).optional(),
  contextSize: z.int().min(256).max(1_048_576).optional(),
  gpu: z.union([z.literal('auto'), z.literal(false)]).optional(),
  /** CPU threads; absent: the engine's default, one per physical core. */
  threads: Threads.optional(),
  /** Absent: 'balanced'. */
  imageDetail: ImageDetail.optional(),
})
export type LoadRequest = z.infer<typeof LoadRequest>

/**
 * What the window asks for: a model and its projector. Threads, CPU only and image detail come
 * from Settings, which bounds them (engine-settings.ts); layers and context are the engine's to
 * fit. A renderer that sent them went past those limits (1024 threads, a million-token context).
 */
export const LoadModel = LoadRequest.pick({ modelPath: true, mmprojPath: true })
export type LoadModel = z.infer<typeof LoadModel>

/** Engine settings the user controls; they apply from the next model load. */
export const EngineSettings = z.strictObject({
  /** Never use a GPU, even when one is found. */
  cpuOnly: z.boolean(),
  /** 'auto': the engine's default, one per physical core. */
  threads: z.union([z.literal('auto'), Threads]),
  imageDetail: ImageDetail,
  /** The text layer: read the text on images and give it to the model beside them. */
  screenText: z.enum(['auto', 'always', 'never']),
})
export type EngineSettings = z.infer<typeof EngineSettings>

export interface EngineSettingsView {
  settings: EngineSettings
  /** What 'auto' means on this computer, and the most threads it accepts (logicalCores). */
  cpu: { logicalCores: number; physicalCores: number; autoThreads: number }
}

export type Backend = 'cpu' | 'cuda' | 'vulkan' | 'metal'

export interface EngineInfo {
  modelPath: string
  mmprojPath: string | null
  /**
   * Which binding serves this model: node-llama-cpp for text; for a model with an mmproj,
   * llama-server (a child process) where there is a build for this platform and the model
   * runs on the CPU, or on a GPU its Vulkan build lists, else llama.node.
   */
  binding: 'node-llama-cpp' | 'llama.node' | 'llama-server'
  /**
   * Set when a model runs in process (llama.node, node-llama-cpp) instead of on llama-server,
   * and why (a vision model's follow-ups then re-read earlier images).
   */
  bindingReason?: string
  backend: Backend
  gpuName: string | null
  gpuLayers: number
  totalLayers: number
  contextSize: number
  vision: boolean
  /** Set when the model runs with fewer GPU layers than it could have, or on the CPU where a GPU was passed over, and why. */
  fallback: string | null
  loadMs: number
  memory: { vramBytes: number; ramBytes: number }
}

export type EngineState =
  | { state: 'idle' }
  | { state: 'loading'; modelPath: string }
  | { state: 'ready'; info: EngineInfo }
  | { state: 'crashed'; message: string; restarting: boolean }
  | { state: 'error'; message: string }

export interface GenerationStats {
  /** Prompt tokens: cachedTokens of them were already in the context, the rest were evaluated. */
  tokensIn: number
  cachedTokens?: number
  tokensOut: number
  imageTokens: number
  timeToFirstTokenMs: number | null
  tokensPerSecond: number | null
  totalMs: number
  /** Oldest turns left out so the conversation fits the context (conversations only). */
  droppedTurns?: number
  /** max-tokens: the longest answer was reached; context-full: the context had no room for more. */
  stopReason: 'eos' | 'max-tokens' | 'context-full' | 'stop-sequence' | 'cancelled' | 'engine-crashed'
}

/** done carries the tool calls the answer made, if any: the bindings parse them from the whole answer. */
export type GenerateChunk =
  { kind: 'tokens'; text: string; count: number } | { kind: 'done'; stats: GenerationStats; toolCalls?: ToolCall[] }

/** The engine's request/response channels. */
export const engineInvoke = {
  'engine:status': { request: z.undefined() },
  'engine:load': { request: LoadModel },
  'engine:unload': { request: z.undefined() },
  'engine:cancel-load': { request: z.undefined() },
  'engineSettings:get': { request: z.undefined() },
  'engineSettings:set': { request: EngineSettings },
} as const

export interface EngineResponses {
  'engine:status': EngineState
  'engine:load': EngineInfo
  'engine:unload': EngineState
  /** Where the engine stands once the load under way is stopped (engine:state follows as the earlier model comes back). */
  'engine:cancel-load': EngineState
  'engineSettings:get': EngineSettingsView
  'engineSettings:set': EngineSettingsView
}

/** Streaming: an answer from the loaded model, without a conversation around it. */
export const engineStream = {
  'chat:generate': { request: GenerateRequest },
} as const

export interface EngineChunks {
  'chat:generate': GenerateChunk
}
