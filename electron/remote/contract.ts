// Remote engines' part of the IPC contract: inference servers elsewhere (llama-server,
// vLLM, Ollama, LM Studio) that the user adds in Settings and picks per conversation.
import { z } from 'zod'
import { LIMITS } from '../ipc/defaults.js'
import { BAD_KEY_CHARACTERS, KEY_CHARACTERS } from './api-key.js'

export const EngineId = z.uuid()

const Name = z.string().trim().min(1, 'give the engine a name').max(LIMITS.engineNameChars)
/** Checked as a URL (scheme, host, encryption) in the service, where the sentence can say why. */
const BaseUrl = z.string().trim().min(1, 'enter the server’s address').max(LIMITS.engineAddressChars)
const ApiKey = z.string().trim().max(4096).regex(KEY_CHARACTERS, BAD_KEY_CHARACTERS)
const ModelName = z.string().min(1).max(256)

export const RemoteEngineInput = z.strictObject({
  name: Name,
  baseUrl: BaseUrl,
  /** Empty or absent: the server needs no key. */
  apiKey: ApiKey.optional(),
  /** The model to use from the server's /models; absent: the first it lists. */
  model: ModelName.optional(),
  /** http:// to an address that is not loopback or private: the user said yes to sending in the clear. */
  allowUnencrypted: z.boolean(),
})
export type RemoteEngineInput = z.infer<typeof RemoteEngineInput>

export const RemoteEngineUpdate = z.strictObject({
  id: EngineId,
  name: Name,
  baseUrl: BaseUrl,
  /** Absent: keep the stored key; empty: remove it. */
  apiKey: ApiKey.optional(),
  model: ModelName.optional(),
  allowUnencrypted: z.boolean(),
})
export type RemoteEngineUpdate = z.infer<typeof RemoteEngineUpdate>

/** Which engine answers a conversation: absent or null, the one on this computer. */
export const EngineChoice = z.strictObject({ id: EngineId, model: ModelName })
export type EngineChoice = z.infer<typeof EngineChoice>

export type ImageSupport = 'accepted' | 'refused' | 'unknown'
/** What a test or a conversation found out about a model's images. */
export type KnownImages = Exclude<ImageSupport, 'unknown'>

/** Where API keys are kept: the system's keychain (safeStorage), or, where it has none, memory only until the app quits. */
export type KeyStorage = 'encrypted' | 'session'

export interface RemoteEngineView {
  id: string
  name: string
  baseUrl: string
  model: string | null
  allowUnencrypted: boolean
  hasKey: boolean
  /** What is known of the saved model's images; 'refused': it is used text-only (the text layer still helps). */
  images: ImageSupport
  /**
   * The same, model by model, for the models anything is known of (a model absent: unknown, and
   * sent images). A server serves several models, and the one tested says nothing of the others.
   */
  imagesByModel: Partial<Record<string, KnownImages>>
  /** The models the server listed at the last test. */
  models: string[]
}

export interface RemoteEnginesView {
  engines: RemoteEngineView[]
  keyStorage: KeyStorage
  /** The engine new conversations (and quick-ask) use; null: the one on this computer. */
  defaultEngine: EngineChoice | null
}

export interface ConnectionReport {
  latencyMs: number
  models: string[]
  images: ImageSupport
  /** The model the test asked, or null when the server lists none. */
  model: string | null
}

export const enginesInvoke = {
  'engines:list': { request: z.undefined() },
  'engines:add': { request: RemoteEngineInput },
  'engines:update': { request: RemoteEngineUpdate },
  'engines:remove': { request: z.strictObject({ id: EngineId }) },
  /** Tests a stored engine (its models, latency, whether it takes images) and keeps what it learned. */
  'engines:test': { request: z.strictObject({ id: EngineId }) },
  'engines:set-default': { request: z.strictObject({ engine: EngineChoice.nullable() }) },
} as const

export interface EnginesResponses {
  'engines:list': RemoteEnginesView
  'engines:add': RemoteEngineView
  'engines:update': RemoteEngineView
  'engines:remove': null
  'engines:test': ConnectionReport
  'engines:set-default': RemoteEnginesView
}
