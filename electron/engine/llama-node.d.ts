// The part of @fugood/llama.node this app uses. The package ships its TypeScript
// sources rather than declarations, and they do not compile under our strict settings,
// so tsconfig maps the module here (copied from its lib/binding.ts, v1.7.15).
declare module '@fugood/llama.node' {
  export type LibVariant = 'default' | 'vulkan' | 'cuda' | 'snapdragon'

  export interface MessagePart {
    type: string
    text?: string
    image_url?: { url?: string }
  }
  export interface ToolCall {
    type: 'function'
    function: { name: string; arguments: string }
    id?: string
  }
  export interface Tool {
    type: 'function'
    function: { name: string; description: string; parameters: Record<string, unknown> }
  }
  export interface ChatMessage {
    role: string
    content?: string | MessagePart[]
    tool_calls?: ToolCall[]
    tool_call_id?: string
  }
  export interface GrammarTrigger {
    type: number
    value: string
    token?: number
  }

  export interface LlamaModelOptions {
    model: string
    n_ctx?: number
    n_batch?: number
    n_threads?: number
    n_gpu_layers?: number
    n_parallel?: number
    use_mmap?: boolean
    lib_variant?: LibVariant
  }

  /** A grammar for the answer: any JSON object, or JSON valid against the schema. */
  export interface CompletionResponseFormat {
    type: 'text' | 'json_object' | 'json_schema'
    json_schema?: { strict?: boolean; schema: Record<string, unknown> }
  }

  export interface LlamaCompletionOptions {
    prompt?: string
    messages?: ChatMessage[]
    media_paths?: string | string[]
    n_predict?: number
    temperature?: number
    top_k?: number
    top_p?: number
    min_p?: number
    typical_p?: number
    xtc_probability?: number
    xtc_threshold?: number
    dry_multiplier?: number
    mirostat?: number
    top_n_sigma?: number
    penalty_last_n?: number
    penalty_repeat?: number
    penalty_freq?: number
    penalty_present?: number
    seed?: number
    stop?: string[]
    ignore_eos?: boolean
    grammar?: string
    grammar_lazy?: boolean
    grammar_triggers?: GrammarTrigger[]
    preserved_tokens?: string[]
    /** From jinja formatting with tools: how the slot parses the answer into content and tool calls. */
    chat_format?: number
    chat_parser?: string
    generation_prompt?: string
  }

  export interface LlamaCompletionResult {
    text: string
    /** With a chat parser: the answer without tool-call markup. */
    content?: string
    tool_calls?: ToolCall[]
    tokens_predicted: number
    tokens_evaluated: number
    truncated: boolean
    context_full: boolean
    interrupted?: boolean
    stopped_eos?: boolean
    stopped_word?: boolean
    stopped_limit?: boolean
    timings: {
      prompt_n: number
      prompt_ms: number
      predicted_n: number
      predicted_ms: number
      predicted_per_second: number
      cache_n?: number
    }
  }

  /** The slot manager's request queue (lib/parallel.ts): no per-context busy flag to get stuck. */
  export interface LlamaParallelAPI {
    enable(config?: { n_parallel?: number; n_batch?: number }): Promise<boolean>
    completion(
      options: LlamaCompletionOptions,
      onToken?: (requestId: number, data: LlamaCompletionToken) => void,
    ): Promise<{ requestId: number; promise: Promise<LlamaCompletionResult>; stop: () => void }>
  }

  export interface LlamaCompletionToken {
    token: string
    /** With a chat parser: the answer's content so far, without tool-call markup. */
    content?: string
  }

  export interface TokenizeResult {
    tokens: Int32Array
    has_media: boolean
    chunk_pos?: number[]
    chunk_pos_media?: number[]
  }

  export interface FormattedChat {
    type: 'jinja' | 'llama-chat'
    prompt: string
    /** Jinja formatting only: the grammar for a response_format or tools (empty when none), and how to parse the answer. */
    grammar?: string
    grammar_lazy?: boolean
    grammar_triggers?: GrammarTrigger[]
    preserved_tokens?: string[]
    additional_stops?: string[]
    chat_format?: number
    chat_parser?: string
    generation_prompt?: string
    has_media: boolean
    media_paths?: string[]
  }

  export interface BackendDeviceInfo {
    backend: string
    type: string
    deviceName: string
    maxMemorySize: number
  }

  export interface LlamaContext {
    getFormattedChat(
      messages: ChatMessage[],
      template?: string,
      params?: {
        jinja?: boolean
        add_generation_prompt?: boolean
        response_format?: CompletionResponseFormat
        tools?: Tool[]
        tool_choice?: string
        parallel_tool_calls?: boolean
      },
    ): FormattedChat
    completion(options: LlamaCompletionOptions, callback?: (token: LlamaCompletionToken) => void): Promise<LlamaCompletionResult>
    stopCompletion(): void
    tokenize(text: string, options?: { media_paths?: string[] }): Promise<TokenizeResult>
    initMultimodal(options: { path: string; use_gpu?: boolean; image_min_tokens?: number; image_max_tokens?: number }): boolean
    getMultimodalSupport(): { vision: boolean; audio: boolean }
    releaseMultimodal(): void
    getUsedDevices(): string[]
    release(): Promise<void>
    readonly parallel: LlamaParallelAPI
  }

  export function loadModel(options: LlamaModelOptions, onProgress?: (progress: number) => void): Promise<LlamaContext>
  export function getBackendDevicesInfo(variant?: LibVariant): Promise<BackendDeviceInfo[]>
}
