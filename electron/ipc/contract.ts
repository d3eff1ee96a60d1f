// The one IPC contract: channel names, payload schemas and types shared by main,
// preload and renderer. Main validates every renderer payload against these schemas.
import { z } from 'zod'

export const LIMITS = {
  textChars: 100_000,
  messages: 1_000,
  imagesPerMessage: 8,
  /** Encoded image size accepted over IPC; decoding limits live in the image pipeline. */
  imageBytes: 40 * 1024 * 1024,
  pathChars: 4_096,
  maxTokens: 32_768,
} as const

const Text = z.string().max(LIMITS.textChars)
const FilePath = z.string().min(1).max(LIMITS.pathChars)
export const StreamId = z.uuid()

export const ImageInput = z.strictObject({
  /** Original encoded bytes (PNG, JPEG, WebP, GIF, ...); prepared for the model in the engine. */
  bytes: z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected image bytes (Uint8Array)')
    .refine((b) => b.byteLength > 0, 'image is empty').refine((b) => b.byteLength <= LIMITS.imageBytes, `image is larger than ${LIMITS.imageBytes} bytes`),
  name: z.string().max(256).optional(),
})
export type ImageInput = z.infer<typeof ImageInput>

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  text: Text,
  images: z.array(ImageInput).max(LIMITS.imagesPerMessage).optional(),
})
export type ChatMessage = z.infer<typeof ChatMessage>

export const Sampling = z.strictObject({
  maxTokens: z.int().min(1).max(LIMITS.maxTokens).optional(),
  temperature: z.number().min(0).max(5).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.int().min(0).max(1000).optional(),
  seed: z.int().min(0).max(2 ** 32 - 1).optional(),
  stop: z.array(z.string().min(1).max(64)).max(8).optional(),
})
export type Sampling = z.infer<typeof Sampling>

export const GenerateRequest = z.strictObject({
  messages: z.array(ChatMessage).min(1).max(LIMITS.messages),
  sampling: Sampling.optional(),
})
export type GenerateRequest = z.infer<typeof GenerateRequest>

export const LoadRequest = z.strictObject({
  modelPath: FilePath,
  mmprojPath: FilePath.optional(),
  /** 'auto' lets the engine fit layers to free VRAM; a number forces that many. */
  gpuLayers: z.union([z.literal('auto'), z.int().min(0).max(1000)]).optional(),
  contextSize: z.int().min(256).max(1_048_576).optional(),
  gpu: z.union([z.literal('auto'), z.literal(false)]).optional(),
})
export type LoadRequest = z.infer<typeof LoadRequest>

/** Ids the renderer may name: strict formats, so none can reach outside its folder. */
export const ChatId = z.uuid()
export const MessageId = z.uuid()
export const ImageId = z.string().regex(/^[0-9a-f]{32}$/, 'not an image id')

export const ChatSend = z.strictObject({
  chatId: ChatId,
  text: Text.min(1, 'the message is empty'),
  images: z.array(ImageInput).max(LIMITS.imagesPerMessage).optional(),
  /** Attach the screenshot main holds, without sending its bytes through the renderer. */
  captureId: z.uuid().optional(),
  sampling: Sampling.optional(),
})
export const ChatRegenerate = z.strictObject({ chatId: ChatId, messageId: MessageId, sampling: Sampling.optional() })
export const ChatEdit = z.strictObject({ chatId: ChatId, messageId: MessageId, text: Text.min(1, 'the message is empty'), sampling: Sampling.optional() })

export interface StoredImage {
  id: string
  mime: string
  width: number
  height: number
  bytes: number
  name: string | null
}

export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'cut-off' | 'error'

export interface StoredMessage {
  id: string
  role: 'user' | 'assistant'
  text: string
  images: StoredImage[]
  createdAt: string
  status: MessageStatus
  stats: GenerationStats | null
  error: string | null
  /** The model file that wrote an answer. */
  model: string | null
}

export interface RecentModel {
  name: string
  modelPath: string
  mmprojPath: string | null
  vision: boolean
  lastUsed: string
}

/** The model a conversation was last answered by, to offer it back when the conversation is opened. */
export interface ConversationModel {
  modelPath: string
  mmprojPath: string | null
}

export interface ChatSettings {
  maxTokens: number
  temperature: number
}

export const DEFAULT_CHAT_SETTINGS: ChatSettings = { maxTokens: 1024, temperature: 0.7 }

export interface Conversation {
  version: 1
  id: string
  title: string
  createdAt: string
  updatedAt: string
  systemPrompt: string
  settings: ChatSettings
  model: ConversationModel | null
  messages: StoredMessage[]
}

export interface ChatSummary {
  id: string
  title: string
  updatedAt: string
  messageCount: number
  preview: string
}

export type ChatChunk =
  | { kind: 'message'; message: StoredMessage }
  | { kind: 'tokens'; messageId: string; text: string; count: number }
  | { kind: 'done'; message: StoredMessage }

export type Backend = 'cpu' | 'cuda' | 'vulkan' | 'metal'

export interface EngineInfo {
  modelPath: string
  mmprojPath: string | null
  /** Which binding serves this model: node-llama-cpp for text, llama.node when an mmproj is paired. */
  binding: 'node-llama-cpp' | 'llama.node'
  backend: Backend
  gpuName: string | null
  gpuLayers: number
  totalLayers: number
  contextSize: number
  vision: boolean
  /** Set when the engine had to offload fewer layers than asked, and why. */
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
  tokensIn: number
  tokensOut: number
  imageTokens: number
  timeToFirstTokenMs: number | null
  tokensPerSecond: number | null
  totalMs: number
  stopReason: 'eos' | 'max-tokens' | 'stop-sequence' | 'cancelled' | 'engine-crashed'
}

export type GenerateChunk =
  | { kind: 'tokens'; text: string; count: number }
  | { kind: 'done'; stats: GenerationStats }

export interface ApiStatus {
  enabled: boolean
  running: boolean
  port: number
  /** Base URL for OpenAI clients, while running. */
  url: string | null
  /** The bearer token for this install. */
  token: string
  allowFileUrls: boolean
  error: string | null
}

export interface CaptureInfo {
  id: string
  /** Physical pixels. */
  width: number
  height: number
  displayId: number
  scaleFactor: number
}

/** An application window that can be captured instead of the whole display. */
export interface WindowSource {
  sourceId: string
  name: string
  /** A small PNG of the window, to recognise it by. */
  thumbnail: Uint8Array
}

export const Selection = z.strictObject({ x1: z.number().finite(), y1: z.number().finite(), x2: z.number().finite(), y2: z.number().finite() })

export interface AppInfo {
  name: string
  version: string
  platform: string
  electron: string | null
}

/** Request/response channels (renderer → main, awaited). */
export const invokeChannels = {
  'app:info': { request: z.undefined() },
  'engine:status': { request: z.undefined() },
  'engine:load': { request: LoadRequest },
  'engine:unload': { request: z.undefined() },
  'chats:list': { request: z.strictObject({ query: z.string().max(200).optional() }) },
  'chats:get': { request: z.strictObject({ id: ChatId }) },
  'chats:create': { request: z.strictObject({ title: z.string().max(200).optional(), systemPrompt: z.string().max(LIMITS.textChars).optional() }) },
  'chats:update': {
    request: z.strictObject({
      id: ChatId,
      title: z.string().trim().min(1).max(200).optional(),
      systemPrompt: z.string().max(LIMITS.textChars).optional(),
      settings: z.strictObject({ maxTokens: z.int().min(1).max(LIMITS.maxTokens), temperature: z.number().min(0).max(2) }).optional(),
    }),
  },
  'chats:delete': { request: z.strictObject({ id: ChatId }) },
  'chats:image': { request: z.strictObject({ chatId: ChatId, imageId: ImageId }) },
  'api:status': { request: z.undefined() },
  'api:configure': { request: z.strictObject({ enabled: z.boolean(), port: z.int().min(1024).max(65535), allowFileUrls: z.boolean() }) },
  'models:recent': { request: z.undefined() },
  'capture:latest': { request: z.undefined() },
  'capture:bytes': { request: z.strictObject({ id: z.uuid() }) },
  'capture:preview': { request: z.strictObject({ id: z.uuid() }) },
  'capture:region': { request: z.strictObject({ id: z.uuid(), selection: Selection }) },
  'capture:cancel': { request: z.undefined() },
  'capture:start-region': { request: z.undefined() },
  'capture:windows': { request: z.undefined() },
  'capture:window': { request: z.strictObject({ sourceId: z.string().min(1).max(200) }) },
  'quick:hide': { request: z.undefined() },
  'quick:open-in-chat': { request: z.strictObject({ chatId: ChatId }) },
} as const

export interface InvokeResponses {
  'app:info': AppInfo
  'engine:status': EngineState
  'engine:load': EngineInfo
  'engine:unload': EngineState
  'chats:list': ChatSummary[]
  'chats:get': Conversation
  'chats:create': Conversation
  'chats:update': Conversation
  'chats:delete': null
  'chats:image': Uint8Array
  'api:status': ApiStatus
  'api:configure': ApiStatus
  'models:recent': RecentModel[]
  'capture:latest': CaptureInfo | null
  'capture:bytes': Uint8Array
  'capture:preview': Uint8Array
  'capture:region': CaptureInfo
  'capture:cancel': null
  'capture:start-region': null
  'capture:windows': WindowSource[]
  'capture:window': CaptureInfo
  'quick:hide': null
  'quick:open-in-chat': null
}

/** Streaming channels: the renderer names a fresh stream id, main answers with events on STREAM_EVENT. */
export const streamChannels = {
  'chat:generate': { request: GenerateRequest },
  'chats:send': { request: ChatSend },
  'chats:regenerate': { request: ChatRegenerate },
  'chats:edit': { request: ChatEdit },
} as const

export interface StreamChunks {
  'chat:generate': GenerateChunk
  'chats:send': ChatChunk
  'chats:regenerate': ChatChunk
  'chats:edit': ChatChunk
}

/** Events main pushes to the renderer unasked. */
export interface PushEvents {
  'engine:state': EngineState
  /** A new screenshot is ready (the quick-ask window shows it). */
  'capture:new': CaptureInfo
  /** Open this conversation in the chat window (from quick-ask). */
  'chat:open': { chatId: string }
}

export const STREAM_START = 'stream:start'
export const STREAM_CANCEL = 'stream:cancel'
export const STREAM_EVENT = 'stream:event'
export const pushChannels = ['engine:state', 'capture:new', 'chat:open'] as const satisfies readonly (keyof PushEvents)[]

export type InvokeChannel = keyof typeof invokeChannels
export type StreamChannel = keyof typeof streamChannels
export type PushChannel = keyof PushEvents
export type InvokeRequest<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]['request']>
export type StreamRequest<C extends StreamChannel> = z.infer<(typeof streamChannels)[C]['request']>

export const StreamStart = z.strictObject({
  channel: z.string().max(64),
  streamId: StreamId,
  request: z.unknown(),
})
export const StreamCancel = z.strictObject({ streamId: StreamId })

export type ErrorCode =
  | 'invalid-payload'
  | 'unknown-channel'
  | 'untrusted-sender'
  | 'duplicate-stream'
  | 'no-model'
  | 'no-vision'
  | 'model-load-failed'
  | 'bad-model-file'
  | 'mmproj-mismatch'
  | 'bad-image'
  | 'context-overflow'
  | 'engine-crashed'
  | 'busy'
  | 'not-found'
  | 'storage'
  | 'permission-denied'
  | 'internal'

export interface WireError {
  code: ErrorCode
  message: string
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError }

export type StreamEvent =
  | { streamId: string; type: 'chunk'; chunk: unknown }
  | { streamId: string; type: 'end' }
  | { streamId: string; type: 'error'; error: WireError }

export const isInvokeChannel = (c: unknown): c is InvokeChannel => typeof c === 'string' && Object.hasOwn(invokeChannels, c)
export const isStreamChannel = (c: unknown): c is StreamChannel => typeof c === 'string' && Object.hasOwn(streamChannels, c)

/** Turns a zod failure into one readable line: where, and what was wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ')
}

/**
 * What the preload exposes as `window.assistant`. Only values contextBridge can copy
 * cross it (no symbols, no class instances), so async iteration and typed errors are
 * built on top of it in the renderer (renderer/src/lib/assistant.ts).
 */
export interface AssistantBridge {
  invoke(channel: InvokeChannel, request?: unknown): Promise<Envelope<unknown>>
  /** Starts a stream; events for it arrive on onEvent until 'end' or 'error'. */
  stream(channel: StreamChannel, streamId: string, request: unknown, onEvent: (event: StreamEvent) => void): Promise<Envelope<null>>
  cancel(streamId: string): Promise<Envelope<null>>
  on(channel: PushChannel, listener: (event: unknown) => void): () => void
}
