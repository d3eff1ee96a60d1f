// The IPC contract's index: every channel's name, the types of what crosses it, and the
// defaults main and the renderer share. Nothing here pulls in zod: the preload and the
// renderer import this file, and only main validates, with the schemas that each domain
// keeps beside its service (engine/, chats/, models/, capture/, api/ `contract.ts`), put
// together per channel in ./schemas.ts.
import type { z } from 'zod'
import type { ApiResponses } from '../api/contract.js'
import type { CaptureInfo, CaptureResponses } from '../capture/contract.js'
import type { ChatsChunks, ChatsResponses } from '../chats/contract.js'
import type { EngineChunks, EngineResponses, EngineState } from '../engine/contract.js'
import type { DownloadJob, ModelsResponses } from '../models/contract.js'
import type { OcrLanguagesView, OcrResponses } from '../ocr/contract.js'
import type { EnginesResponses } from '../remote/contract.js'
import type { invokeChannels, streamChannels } from './schemas.js'

export type * from '../api/contract.js'
export type * from '../capture/contract.js'
export type * from '../chats/contract.js'
export type * from '../engine/contract.js'
export type * from '../models/contract.js'
export type * from '../ocr/contract.js'
export type * from '../remote/contract.js'
export type { OcrBlock, OcrBox, OcrLine, OcrResult, ScreenText, ScreenTextMode } from '../ocr/types.js'
export { DEFAULT_API_PORT, DEFAULT_CHAT_SETTINGS, DEFAULT_CONTEXT_SIZE, LIMITS, MESSAGES, formatBytes, tooLongText } from './defaults.js'
// The window asks the user before plain http leaves the local network, by main's own rule.
export { isPrivateHost } from '../remote/private-host.js'
// The engine form refuses a key main would refuse, with a sentence beside the field.
export { apiKeyProblem } from '../remote/api-key.js'
// Settings refuses a shortcut as it is recorded, with main's own sentence.
export { validateAccelerator } from '../capture/hotkey.js'
// Settings refuses an origin to allow as it is added, with main's own sentence.
export { MAX_ALLOWED_ORIGINS, originListProblem, originProblem } from '../api/origins.js'
// The region overlay shows a capture and sizes a selection as main will crop it, by main's own mapping.
export { selectionToCrop, shownImage, type DisplayInfo } from '../capture/region.js'
// The window folds a thought away, and copies the answer without it, by the engine's own split.
export { splitThinking, type Thinking } from '../engine/thinking.js'

export interface AppInfo {
  name: string
  version: string
  platform: string
  electron: string | null
}

/** Request/response channels (renderer → main, awaited): one map per domain. */
export interface InvokeResponses
  extends EngineResponses, ChatsResponses, ApiResponses, ModelsResponses, CaptureResponses, EnginesResponses, OcrResponses {
  'app:info': AppInfo
}

/** Streaming channels: the renderer names a fresh stream id, main answers with events on STREAM_EVENT. */
export interface StreamChunks extends EngineChunks, ChatsChunks {}

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
  /** The text layer's language changed: chosen, downloaded, deleted, or fallen back from a damaged pack. */
  'ocr:changed': OcrLanguagesView
}

export type InvokeChannel = keyof InvokeResponses
export type StreamChannel = keyof StreamChunks
export type PushChannel = keyof PushEvents
export type InvokeRequest<C extends InvokeChannel> = z.infer<(typeof invokeChannels)[C]['request']>
export type StreamRequest<C extends StreamChannel> = z.infer<(typeof streamChannels)[C]['request']>

/**
 * The channel names at run time, for the preload's allow-list. Type-checked against the
 * channel maps both ways, so a channel cannot be added to one and forgotten in the other.
 */
export const invokeChannelNames = [
  'app:info',
  'engine:status',
  'engine:load',
  'engine:unload',
  'engine:cancel-load',
  'engineSettings:get',
  'engineSettings:set',
  'chats:list',
  'chats:get',
  'chats:create',
  'chats:update',
  'chats:delete',
  'chats:image',
  'chats:image-text',
  'chats:damaged',
  'chats:reveal-damaged',
  'api:status',
  'api:configure',
  'api:regenerate-key',
  'models:recent',
  'models:library',
  'models:catalog',
  'models:import',
  'models:delete',
  'models:reveal',
  'models:search',
  'models:repo',
  'downloads:list',
  'downloads:start',
  'downloads:pause',
  'downloads:resume',
  'downloads:cancel',
  'downloads:dismiss',
  'capture:latest',
  'capture:bytes',
  'capture:preview',
  'capture:region',
  'capture:cancel',
  'capture:text',
  'capture:start-region',
  'capture:windows',
  'capture:window',
  'quick:hide',
  'quick:open-in-chat',
  'hotkey:get',
  'hotkey:set',
  'engines:list',
  'engines:add',
  'engines:update',
  'engines:remove',
  'engines:test',
  'engines:set-default',
  'ocr:languages',
  'ocr:set-language',
  'ocr:delete-language',
] as const satisfies readonly InvokeChannel[]
export const streamChannelNames = [
  'chat:generate',
  'chats:send',
  'chats:regenerate',
  'chats:edit',
] as const satisfies readonly StreamChannel[]
export const pushChannels = [
  'engine:state',
  'capture:new',
  'chat:open',
  'downloads:changed',
  'models:changed',
  'ocr:changed',
] as const satisfies readonly PushChannel[]
type Unlisted =
  | Exclude<InvokeChannel, (typeof invokeChannelNames)[number]>
  | Exclude<StreamChannel, (typeof streamChannelNames)[number]>
  | Exclude<PushChannel, (typeof pushChannels)[number]>
/** A compile error here names a channel missing from the lists above. */
export const everyChannelListed: [Unlisted] extends [never] ? true : Unlisted = true

export const STREAM_START = 'stream:start'
export const STREAM_CANCEL = 'stream:cancel'
export const STREAM_EVENT = 'stream:event'

export type ErrorCode =
  | 'invalid-payload'
  | 'unknown-channel'
  | 'untrusted-sender'
  | 'duplicate-stream'
  | 'no-model'
  | 'no-vision'
  | 'model-load-failed'
  /** The user stopped a load under way (Stop loading): nothing to report as a failure. */
  | 'load-cancelled'
  | 'bad-model-file'
  | 'mmproj-mismatch'
  | 'bad-image'
  /** Main sent an image by reference that the engine no longer holds prepared: main sends it again, whole. */
  | 'image-not-held'
  | 'context-overflow'
  | 'engine-crashed'
  | 'busy'
  | 'not-found'
  | 'storage'
  | 'permission-denied'
  | 'network'
  /** A remote engine (an inference server elsewhere) refused or failed a request; the message says how. */
  | 'remote'
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

export const isInvokeChannel = (c: unknown): c is InvokeChannel =>
  typeof c === 'string' && (invokeChannelNames as readonly string[]).includes(c)
export const isStreamChannel = (c: unknown): c is StreamChannel =>
  typeof c === 'string' && (streamChannelNames as readonly string[]).includes(c)

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
