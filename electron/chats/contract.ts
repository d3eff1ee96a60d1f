// Conversations' part of the IPC contract: ids the renderer may name, what it sends, and
// the conversations, messages and stream chunks main answers with.
import { z } from 'zod'
import { LIMITS } from '../ipc/defaults.js'
import { Text } from '../ipc/fields.js'
import { AnswerFormat, ImageInput, Sampling, type GenerationStats } from '../engine/contract.js'
import type { ScreenText } from '../ocr/types.js'
import { EngineChoice } from '../remote/contract.js'

/** Ids the renderer may name: strict formats, so none can reach outside its folder. */
export const ChatId = z.uuid()
export const MessageId = z.uuid()
export const ImageId = z.string().regex(/^[0-9a-f]{32}$/, 'not an image id')

/**
 * This answer only: leave out the oldest turns if the conversation no longer fits the context,
 * though it is set to stop and ask (the user answered the asking); its setting stays.
 */
const LeaveOutOldest = z.literal('drop-oldest').optional()

export const ChatSend = z.strictObject({
  chatId: ChatId,
  text: Text.min(1, 'the message is empty'),
  images: z.array(ImageInput).max(LIMITS.imagesPerMessage).optional(),
  /** Attach the screenshot main holds, without sending its bytes through the renderer. */
  captureId: z.uuid().optional(),
  sampling: Sampling.optional(),
  contextFull: LeaveOutOldest,
})
export const ChatRegenerate = z.strictObject({
  chatId: ChatId,
  messageId: MessageId,
  sampling: Sampling.optional(),
  contextFull: LeaveOutOldest,
})
export const ChatEdit = z.strictObject({
  chatId: ChatId,
  messageId: MessageId,
  text: Text.min(1, 'the message is empty'),
  sampling: Sampling.optional(),
  contextFull: LeaveOutOldest,
})

export interface StoredImage {
  id: string
  mime: string
  width: number
  height: number
  bytes: number
  name: string | null
  /** The text layer's reading of the image; absent while unread (the text layer off, or a conversation from before it). */
  text?: ScreenText
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
  /** The remote engine that wrote an answer (its name as it was then); absent: this computer. */
  engine?: string
  /** What the user should know about how an answer was made (text on screen cut to fit, not read in time, a model that cannot see). */
  notes?: string[]
}

/** The model a conversation was last answered by, to offer it back when the conversation is opened. */
export interface ConversationModel {
  modelPath: string
  mmprojPath: string | null
}

export interface ChatSettings {
  maxTokens: number
  temperature: number
  /** How answers are written: absent, in text; else JSON, or JSON matching a schema (a grammar holds the model to it). */
  format?: AnswerFormat
  /** When the conversation outgrows the context: leave out its oldest turns (absent, the default), or stop and say so. */
  contextFull?: 'drop-oldest' | 'stop'
}

/** A conversation's settings as the renderer sends them; a JSON schema is bounded in size like any answer format. */
export const ChatSettingsUpdate = z.strictObject({
  maxTokens: z.int().min(1).max(LIMITS.maxTokens),
  temperature: z.number().min(0).max(2),
  format: AnswerFormat.optional(),
  contextFull: z.enum(['drop-oldest', 'stop']).optional(),
})

export interface Conversation {
  version: 1
  id: string
  title: string
  createdAt: string
  updatedAt: string
  systemPrompt: string
  settings: ChatSettings
  model: ConversationModel | null
  /** The remote engine and model that answer this conversation; absent or null: the engine on this computer. */
  engine?: EngineChoice | null
  messages: StoredMessage[]
}

export interface ChatSummary {
  id: string
  title: string
  updatedAt: string
  messageCount: number
  preview: string
}

/** A conversation folder that could not be read at start: not listed, kept on disk as it was. */
export interface DamagedConversation {
  /** Its folder's name (a conversation's id, or whatever the folder is called). */
  id: string
  reason: string
}

export type ChatChunk =
  | { kind: 'message'; message: StoredMessage }
  | { kind: 'tokens'; messageId: string; text: string; count: number }
  | { kind: 'done'; message: StoredMessage }

/** Request/response channels for conversations. */
export const chatsInvoke = {
  'chats:list': { request: z.strictObject({ query: z.string().max(200).optional() }) },
  'chats:get': { request: z.strictObject({ id: ChatId }) },
  'chats:create': {
    request: z.strictObject({
      title: z.string().max(LIMITS.titleChars).optional(),
      systemPrompt: z.string().max(LIMITS.textChars).optional(),
    }),
  },
  'chats:update': {
    request: z.strictObject({
      id: ChatId,
      title: z.string().trim().min(1).max(LIMITS.titleChars).optional(),
      systemPrompt: z.string().max(LIMITS.textChars).optional(),
      settings: ChatSettingsUpdate.optional(),
      /** null: back to the engine on this computer. */
      engine: EngineChoice.nullable().optional(),
    }),
  },
  'chats:delete': { request: z.strictObject({ id: ChatId }) },
  'chats:image': { request: z.strictObject({ chatId: ChatId, imageId: ImageId }) },
  /** Reads an image's text now (the text layer was off, or the reading failed), and keeps it with the image. */
  'chats:image-text': { request: z.strictObject({ chatId: ChatId, imageId: ImageId }) },
  'chats:damaged': { request: z.strictObject({}) },
  /** Shows a damaged conversation's file in the system's file manager; only one of 'chats:damaged'. */
  'chats:reveal-damaged': { request: z.strictObject({ id: z.string().min(1).max(255) }) },
} as const

export interface ChatsResponses {
  'chats:list': ChatSummary[]
  'chats:get': Conversation
  'chats:create': Conversation
  'chats:update': Conversation
  'chats:delete': null
  'chats:image': Uint8Array
  'chats:image-text': ScreenText
  'chats:damaged': DamagedConversation[]
  'chats:reveal-damaged': null
}

/** Streaming: a question or an edit in a conversation, and its answer as it is saved. */
export const chatsStream = {
  'chats:send': { request: ChatSend },
  'chats:regenerate': { request: ChatRegenerate },
  'chats:edit': { request: ChatEdit },
} as const

export interface ChatsChunks {
  'chats:send': ChatChunk
  'chats:regenerate': ChatChunk
  'chats:edit': ChatChunk
}
