import type { Llama } from 'node-llama-cpp'
import type {
  AnswerFormat,
  ChatMessage,
  EngineInfo,
  GenerateChunk,
  GenerationStats,
  LoadRequest,
  Sampling,
  GenerateRequest,
  LibraryScan,
  ToolCall,
} from '../ipc/contract.js'
import type { ToolMode } from './tools.js'
import type { PreparedImage } from '../images/prepare.js'

/** A prepared image as the engine gives it to a binding. */
export interface BackendImage extends PreparedImage {
  /** The content key (refOf) of the picture it was prepared from, by which its copies are forgotten (Engine.forgetImages). */
  source?: string
}

export interface BackendMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  text: string
  images: BackendImage[]
  /** An assistant turn's calls. */
  toolCalls?: ToolCall[]
  /** A tool turn: the call whose result text is. */
  toolCallId?: string
}

/**
 * An image as the engine takes it: its bytes (ref, when given, is their SHA-256, refOf in
 * images/prepared-cache.ts), or from main only the ref of one the engine has prepared before,
 * so a follow-up does not move every earlier screenshot into the engine process again.
 */
export type EngineImage = { bytes: Uint8Array; ref?: string; name?: string } | { bytes?: undefined; ref: string; name?: string }
export type EngineMessage = Omit<ChatMessage, 'images'> & { images?: EngineImage[] }
/** A generation as the engine takes it: a GenerateRequest, whose images may come by reference. */
export type EngineRequest = Omit<GenerateRequest, 'messages'> & { messages: EngineMessage[] }

/** Who asks: the app's windows or the local API. Each keeps its own cached prompt where the binding allows. */
export type Lane = 'ui' | 'api'

export interface BackendGeneration {
  messages: BackendMessage[]
  sampling: Sampling
  /** A grammar-constrained answer; the engine has checked the schema (json-schema.ts). */
  format?: AnswerFormat
  /** The engine has checked the tools (tools.ts). */
  tools: ToolMode
  /** False: at most one call per answer. */
  parallelToolCalls: boolean
  lane: Lane
  signal: AbortSignal
  /** Called as text arrives; count is how many tokens produced it. */
  onTokens(text: string, count: number): void
}

export type BackendResult = Omit<GenerationStats, 'timeToFirstTokenMs' | 'tokensPerSecond' | 'totalMs'> & {
  /** The calls the answer made; its text then streamed only what was not a call. */
  toolCalls?: ToolCall[]
}

/** One loaded model in one binding. The engine picks the binding; callers see only Engine. */
export interface Backend {
  readonly info: EngineInfo
  generate(request: BackendGeneration): Promise<BackendResult>
  countTokens(text: string): Promise<number>
  /** Removes the copies it keeps on disk of these pictures (by content key); absent where it keeps none. */
  forgetImages?(imageIds: string[]): Promise<void>
  dispose(): Promise<void>
}

/** auto: llama-server where it can serve the model (engine.ts says when), else llama.node. */
export type VisionBinding = 'auto' | 'llama.node' | 'llama-server'
/** auto: llama-server where it can serve the model (engine.ts says when), else node-llama-cpp. */
export type TextBinding = 'auto' | 'node-llama-cpp' | 'llama-server'

export interface EngineOptions {
  /** Which binding serves vision models; absent: ENGINE_VISION_BINDING, else auto. Tests of the llama.node path force it. */
  visionBinding?: VisionBinding
  /** Which binding serves text models; absent: ENGINE_TEXT_BINDING, else auto. Tests of the node-llama-cpp path force it. */
  textBinding?: TextBinding
  /** CPU threads for generation; default leaves one core for the UI. */
  threads?: number
  log?: (line: string) => void
  /** The loaded model now runs otherwise than its load said (a GPU llama-server that kept dying, restarted on the CPU). */
  onInfo?: (info: EngineInfo) => void
  /** The loaded model is gone: its llama-server died and could not be started again (the message says why). */
  onLost?: (message: string) => void
  /** node-llama-cpp's loader; tests pass one that fails to prove the vision binding does not depend on it. */
  getLlama?: (gpu: 'auto' | false) => Promise<Llama>
}

/** How the Models page's fit estimates are made. */
export interface LibraryOptions {
  /** Settings' CPU only: estimate as the load will run, with no layer on a GPU. */
  cpuOnly?: boolean
}

export interface Engine {
  load(request: LoadRequest): Promise<EngineInfo>
  unload(): Promise<void>
  generate(request: EngineRequest, signal?: AbortSignal, lane?: Lane): AsyncIterable<GenerateChunk>
  countTokens(text: string): Promise<number>
  /**
   * Removes the loaded model's copies of these pictures (a deleted conversation's), by their
   * content keys or the chat store's ids (the keys' first 32 digits).
   */
  forgetImages(imageIds: string[]): Promise<void>
  info(): EngineInfo | null
  /** The models folder (and files linked from elsewhere): metadata, pairs, fit on this machine. */
  library(root: string | null, linked: string[], options?: LibraryOptions): Promise<LibraryScan>
}
