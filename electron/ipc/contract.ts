// The one IPC contract: channel names, payload schemas and types shared by main,
// preload and renderer. Main validates every renderer payload against these schemas.
import { z } from 'zod'
import type { ImageBudget } from '../images/budget.js'

// Shared defaults and sentences, re-exported so the renderer reaches them through @contract.
export { DEFAULT_API_PORT, DEFAULT_CONTEXT_SIZE, MESSAGES } from './defaults.js'

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
  /** Prompt tokens: cachedTokens of them were already in the context, the rest were evaluated. */
  tokensIn: number
  cachedTokens?: number
  tokensOut: number
  imageTokens: number
  timeToFirstTokenMs: number | null
  tokensPerSecond: number | null
  totalMs: number
  /** max-tokens: the longest answer was reached; context-full: the context had no room for more. */
  stopReason: 'eos' | 'max-tokens' | 'context-full' | 'stop-sequence' | 'cancelled' | 'engine-crashed'
}

export type GenerateChunk =
  | { kind: 'tokens'; text: string; count: number }
  | { kind: 'done'; stats: GenerationStats }

/** Sizes the way people read them; main's messages and the renderer share it. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

/** What a GGUF file's header says about it. */
export interface ModelFileInfo {
  path: string
  kind: 'llm' | 'mmproj'
  architecture: string
  name: string | null
  fileBytes: number
  /** Weights in the file (elements of all tensors). */
  parameters: number
  /** e.g. Q4_K_M, Q8_0, F16: from the file type, else from the file name. */
  quantisation: string | null
  /** Sum of the tensors' sizes: how much the weights take in memory. */
  weightBytes: number
  totalLayers: number
  trainContextSize: number | null
  /** LLM: hidden size the projector must produce. mmproj: the size it produces. */
  embeddingSize: number | null
  projectorType: string | null
  /** How the projector's family sizes images, at the default detail; imageBudgetFor() gives other levels. */
  imageBudget: ImageBudget | null
}

export interface Hardware {
  backend: Backend
  gpuName: string | null
  vram: { totalBytes: number; freeBytes: number }
  ram: { totalBytes: number; freeBytes: number }
  /** Apple silicon and some iGPUs: VRAM is the same memory as RAM. */
  unifiedMemory: boolean
}

export interface FitEstimate {
  verdict: 'fits' | 'tight' | 'too-big'
  /** Layers the estimate puts on the GPU; loading uses it as its first try. */
  gpuLayers: number
  totalLayers: number
  contextSize: number
  vramBytes: number
  ramBytes: number
  hardware: Hardware
  summary: string
}

export interface LibraryEntry {
  model: ModelFileInfo
  mmproj: ModelFileInfo | null
  /** Projectors in the same folder that do not fit this model, and why. */
  rejected: { path: string; reason: string }[]
  /** Imported by reference: deleting it only forgets it. */
  linked: boolean
  fit: FitEstimate | null
}

export interface LibraryView {
  root: string
  models: LibraryEntry[]
  /** Projectors no model in their folder can use. */
  orphanProjectors: ModelFileInfo[]
  /** Files that are not usable models (corrupt, truncated, not GGUF, moved away), with the reason. */
  problems: { path: string; reason: string }[]
  hardware: Hardware | null
}

// A file inside a repository: no way out of it, and a file name that is a plain, visible name
// (it becomes a file and a folder name in the models folder).
const HubPath = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[^\\]+\.gguf$/i, 'not a GGUF file path')
  .refine((p) => !p.startsWith('/') && p.split('/').every((part) => part !== '' && part !== '..'), 'not a path inside the repository')
  .refine((p) => /^[\w][\w.+-]*\.gguf$/i.test(p.split('/').pop() ?? ''), 'not a plain file name')
const HubRepo = z.string().regex(/^[A-Za-z0-9][\w.-]{0,95}\/[\w.-]{1,96}$/, 'not a Hugging Face repository name (owner/name)')

export const CatalogFile = z.strictObject({
  /** Path inside the repository. */
  file: HubPath,
  quantisation: z.string().max(32),
  /** Size as published, for showing before the download; the hub's exact size is checked. */
  approxBytes: z.int().positive(),
  /** Pinned SHA-256, when known; otherwise the hub's LFS SHA-256 (for a file kept in git, its git blob SHA-1) is verified. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
})
export const CatalogEntry = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/),
  name: z.string().min(1).max(100),
  description: z.string().max(500),
  repo: HubRepo,
  revision: z.string().min(1).max(64),
  licence: z.string().min(1).max(100),
  licenceUrl: z.url(),
  /** Quantisations of the language model, the recommended one first. */
  models: z.array(CatalogFile).min(1),
  mmproj: CatalogFile,
})
export type CatalogEntry = z.infer<typeof CatalogEntry>
export const Catalog = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  /** The entry a first run offers. */
  recommended: z.string(),
  entries: z.array(CatalogEntry).min(1),
})
export type Catalog = z.infer<typeof Catalog>

export interface HubModel {
  repo: string
  downloads: number
  likes: number
  updatedAt: string
  gated: boolean
}

export interface HubFile {
  path: string
  bytes: number
  /** The LFS object id, which is the file's SHA-256. */
  sha256: string | null
  /** For a file kept in git rather than LFS: its git blob SHA-1 (an LFS file's git id hashes its pointer, not the file). */
  gitBlobSha1: string | null
  quantisation: string | null
}

export interface HubRepoFiles {
  repo: string
  models: HubFile[]
  projectors: HubFile[]
}

export const DownloadStart = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('catalog'), id: z.string().max(64), quantisation: z.string().max(32).optional() }),
  z.strictObject({ source: z.literal('hub'), repo: HubRepo, model: HubPath, mmproj: HubPath.nullable() }),
])
export type DownloadStart = z.infer<typeof DownloadStart>

/** How a downloaded file's bytes are checked against the published file. */
export type DownloadChecksum = 'sha256' | 'git-blob-sha1'

export interface DownloadFileState {
  fileName: string
  role: 'model' | 'mmproj'
  totalBytes: number
  downloadedBytes: number
  done: boolean
  /** null: nothing was published to check it against, so the file is unverified. */
  checksum: DownloadChecksum | null
}

/** A failed attempt being retried with backoff; the bytes downloaded so far are kept. */
export interface DownloadRetry {
  /** 1 for the first retry. */
  attempt: number
  /** Retries allowed before the download fails (it can still be resumed then). */
  of: number
  /** Too little data came for too long: the server went quiet or slowed to a trickle. */
  stalled: boolean
  /** What happened, in words: "no data for 30 s", "the server answered 503". */
  reason: string
}

export interface DownloadJob {
  id: string
  title: string
  /** The catalog entry it came from; null for a file chosen through search. */
  catalogId: string | null
  /** Folder under the models folder the files move into once all are verified. */
  folder: string
  files: DownloadFileState[]
  state: 'queued' | 'downloading' | 'verifying' | 'paused' | 'failed' | 'done'
  totalBytes: number
  downloadedBytes: number
  bytesPerSecond: number | null
  etaSeconds: number | null
  /** While downloading: the retry under way, if the last attempt failed. */
  retry: DownloadRetry | null
  error: string | null
  /** The model file, once the download is done. */
  modelPath: string | null
  mmprojPath: string | null
}

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

/** Engine settings the user controls; they apply from the next model load. */
export const EngineSettings = z.strictObject({
  /** Never use a GPU, even when one is found. */
  cpuOnly: z.boolean(),
  /** 'auto': the engine's default, one per physical core. */
  threads: z.union([z.literal('auto'), Threads]),
  imageDetail: ImageDetail,
})
export type EngineSettings = z.infer<typeof EngineSettings>

export interface EngineSettingsView {
  settings: EngineSettings
  /** What 'auto' means on this computer, and the most threads it accepts (logicalCores). */
  cpu: { logicalCores: number; physicalCores: number; autoThreads: number }
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
  'engineSettings:get': { request: z.undefined() },
  'engineSettings:set': { request: EngineSettings },
  'models:recent': { request: z.undefined() },
  'models:library': { request: z.undefined() },
  'models:catalog': { request: z.undefined() },
  'models:import': { request: z.strictObject({ mode: z.enum(['copy', 'link']) }) },
  'models:delete': { request: z.strictObject({ path: FilePath }) },
  'models:reveal': { request: z.strictObject({ path: FilePath }) },
  'models:search': { request: z.strictObject({ query: z.string().trim().min(2, 'type at least two characters').max(100) }) },
  'models:repo': { request: z.strictObject({ repo: HubRepo }) },
  'downloads:list': { request: z.undefined() },
  'downloads:start': { request: DownloadStart },
  'downloads:pause': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:resume': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:cancel': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:dismiss': { request: z.strictObject({ id: z.uuid() }) },
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
  'engineSettings:get': EngineSettingsView
  'engineSettings:set': EngineSettingsView
  'models:recent': RecentModel[]
  'models:library': LibraryView
  'models:catalog': Catalog
  /** null when the user closed the file picker. */
  'models:import': LibraryView | null
  'models:delete': LibraryView
  'models:reveal': null
  'models:search': HubModel[]
  'models:repo': HubRepoFiles
  'downloads:list': DownloadJob[]
  'downloads:start': DownloadJob
  'downloads:pause': DownloadJob[]
  'downloads:resume': DownloadJob[]
  'downloads:cancel': DownloadJob[]
  'downloads:dismiss': DownloadJob[]
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
  /** Downloads changed: progress (a few times a second at most), state, a new or finished one. */
  'downloads:changed': DownloadJob[]
  /** Files in the library changed (a download finished, an import, a delete). */
  'models:changed': null
}

export const STREAM_START = 'stream:start'
export const STREAM_CANCEL = 'stream:cancel'
export const STREAM_EVENT = 'stream:event'
export const pushChannels = ['engine:state', 'capture:new', 'chat:open', 'downloads:changed', 'models:changed'] as const satisfies readonly (keyof PushEvents)[]

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
  | 'network'
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
