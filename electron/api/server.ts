// A local OpenAI-compatible API (GET /v1/models, POST /v1/chat/completions with SSE
// streaming and images as data URLs) on 127.0.0.1 only, behind a bearer token. It shares
// the engine with the window through the scheduler; a client that disconnects cancels
// its generation. Requests that arrive while the engine reloads its model after a crash
// wait for the reload instead of failing. A conversation that ends with an assistant
// message goes to the engine as it is: the engine continues that answer (prefill), and
// the response holds only the continuation, as llama-server's does.
//
// Every request passes one gate first: its Host header must name this server on loopback
// (a web page on another name that resolves to 127.0.0.1, DNS rebinding, sends its own
// name), a browser's Origin must be one the user allowed (CORS is off until then), and
// everything but a CORS preflight needs the key.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename } from 'node:path'
import sharp from 'sharp'
import {
  LIMITS,
  type AnswerFormat,
  type ChatMessage,
  type EngineState,
  type ErrorCode,
  type GenerateRequest,
  type GenerationStats,
  type ToolCall,
} from '../ipc/contract.js'
import { describeIssues, issuePath } from '../ipc/schemas.js'
import { AppError } from '../ipc/errors.js'
import { MAX_INPUT_PIXELS } from '../images/budget.js'
import type { TextLayerUse } from '../ocr/text-layer.js'
import { screenTextBudget, withImageText } from '../ocr/prompt.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { checkJsonSchema, fromClientSchema } from '../engine/json-schema.js'
import { checkRequest } from '../engine/request-checks.js'
import {
  ApiError,
  ChatCompletionRequest,
  type ResponseFormat,
  type Tool,
  type ToolChoice,
  refusedField,
  type FinishReason,
} from './openai-types.js'
import { readFileImage } from './file-image.js'
import { originAllowed } from './origins.js'
import { ReasoningStream, splitAnswer, withThought, type ReasoningParts } from './reasoning.js'

export interface ApiLimits {
  bodyBytes: number
  imagesPerRequest: number
  imagePixels: number
  /** How long a request waits for the engine to finish loading or reloading a model before it fails. */
  modelWaitMs: number
  /**
   * How long a new connection may stay silent before its first request. Node times out a
   * request whose headers are slow, but never a connection that sends nothing: about a
   * thousand of them used up the main process's file handles, and chats could not be read.
   */
  firstRequestMs: number
  /** Connections held at once; more are closed as they come. */
  maxConnections: number
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  bodyBytes: 32 * 1024 * 1024,
  imagesPerRequest: 8,
  imagePixels: MAX_INPUT_PIXELS,
  modelWaitMs: 60_000,
  firstRequestMs: 10_000,
  maxConnections: 256,
}

/** A body over the limit is still read, and thrown away, up to this many times the limit (see readBody). */
const DISCARD_FACTOR = 2
/** ...and for at most this long. */
const DISCARD_MS = 10_000

/**
 * What a preflight from an allowed origin is told: the methods the routes answer, the
 * headers a client sends (the key, JSON, and the platform headers OpenAI's JS client adds,
 * so that client works from an allowed page), and how long the browser may remember it.
 */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': [
    'authorization',
    'content-type',
    'x-stainless-arch',
    // The client's helpers (chat.completions.parse, .stream, runTools) name themselves in it.
    'x-stainless-helper-method',
    'x-stainless-lang',
    'x-stainless-os',
    'x-stainless-package-version',
    'x-stainless-retry-count',
    'x-stainless-runtime',
    'x-stainless-runtime-version',
    'x-stainless-timeout',
  ].join(', '),
  'access-control-max-age': '600',
}

/** Each known path and the one method it answers; others get 405 with this as Allow. */
const ROUTES = new Map([
  ['/v1/models', 'GET'],
  ['/v1/chat/completions', 'POST'],
])

export interface ApiServerOptions {
  scheduler: GenerationScheduler
  engineState: () => EngineState
  /** Calls the listener with every later engine state until the returned function is called. */
  watchEngineState: (listener: (state: EngineState) => void) => () => void
  token: string
  port: number
  /** Accept file:// image URLs (off unless the user allows it). */
  allowFileUrls?: boolean
  /** Web pages that may call the API from a browser (see origins.ts); none unless the user lists some. */
  allowedOrigins?: readonly string[]
  limits?: Partial<ApiLimits>
  /** Reads the text on images sent to the API and gives it to the model (see text_layer). */
  textLayer?: TextLayerUse
  /** Called when a completion ends, however it ends (tests and logs). */
  onFinished?: (event: { id: string; stats: GenerationStats | null; disconnected: boolean; at: number }) => void
}

/** What a running server takes without a restart: a restart would cut every answer in progress. */
export interface ApiServerUpdate {
  token: string
  allowFileUrls: boolean
  allowedOrigins: readonly string[]
}

export interface ApiServer {
  readonly port: number
  readonly url: string
  /** Applies to every request from now on (a new key refuses the old one at once); requests in progress keep going. */
  update(change: ApiServerUpdate): void
  /** Stops listening; answers in progress end with an error that says the server stopped, then the connections close. */
  close(): Promise<void>
}

export interface EngineStateFeed {
  publish(state: EngineState): void
  watch(listener: (state: EngineState) => void): () => void
}

/** EngineClient reports its states to one onState callback; this passes them on to startApiServer's watchEngineState. */
export function engineStateFeed(): EngineStateFeed {
  const listeners = new Set<(state: EngineState) => void>()
  return {
    publish: (state) => listeners.forEach((listener) => listener(state)),
    watch: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/** The id clients name the loaded model by: its file name without .gguf. */
export function modelId(state: EngineState): string | null {
  return state.state === 'ready' ? basename(state.info.modelPath).replace(/\.gguf$/i, '') : null
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const limits = { ...DEFAULT_API_LIMITS, ...options.limits }
  let expectedToken = sha256(options.token)

  let allowedOrigins = options.allowedOrigins ?? []
  let allowFileUrls = options.allowFileUrls ?? false
  /** Each completion in progress, by its controller, and the promise that settles when it has answered. */
  const inFlight = new Map<AbortController, Promise<void>>()
  /** The Host values that name this server, lower case; known once it listens (port 0 picks one). */
  let ownHosts = new Set<string>()

  // Node would answer a request with no Host header itself, with a bare 400: the gate answers it, saying why.
  const server: Server = createServer({ requireHostHeader: false }, (req, res) => {
    const controller = new AbortController()
    const answered = handle(req, res, controller).catch((error: unknown) => sendError(res, toApiError(error)))
    inFlight.set(controller, answered)
    void answered.finally(() => inFlight.delete(controller))
  })
  server.maxConnections = limits.maxConnections
  // With no 'timeout' listener on the server, Node destroys a socket that times out.
  server.on('connection', (socket) => socket.setTimeout(limits.firstRequestMs))
  // Once a request has come the bound is lifted: an image's prompt or a long answer can be
  // quiet for longer, and Node's own timeouts (headers, request body, keep-alive) take over.
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0))

  /** The auth scheme is case-insensitive (RFC 9110); comparing fixed-length digests keeps the check constant-time whatever the length sent. */
  function authorized(header: string | undefined): boolean {
    const bearer = /^bearer +(\S+)$/i.exec(header ?? '')
    return bearer !== null && timingSafeEqual(sha256(bearer[1]!), expectedToken)
  }

  async function handle(req: IncomingMessage, res: ServerResponse, controller: AbortController): Promise<void> {
    const host = req.headers.host
    if (host === undefined || !ownHosts.has(host.toLowerCase()))
      throw new ApiError(
        421,
        `This server answers only requests addressed to ${[...ownHosts].join(', ')}; the Host header was ${host === undefined ? 'missing' : `'${host}'`}.`,
        'invalid_request_error',
        'invalid_host',
      )
    // Every answer depends on the Origin sent: caches must keep them apart.
    res.setHeader('vary', 'Origin')
    const origin = req.headers.origin
    if (origin !== undefined) {
      if (!originAllowed(origin, allowedOrigins))
        throw new ApiError(
          403,
          `Web pages from ${origin} may not use this API; the app’s settings list the origins that may.`,
          'invalid_request_error',
          'origin_not_allowed',
        )
      res.setHeader('access-control-allow-origin', origin)
      // A preflight carries no key (browsers never send one with it): it is answered before the key is checked.
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        res.writeHead(204, PREFLIGHT_HEADERS)
        return void res.end()
      }
    }
    if (!authorized(req.headers.authorization)) {
      throw new ApiError(
        401,
        'Missing or wrong API key. Use the key shown in the app’s settings as a Bearer token.',
        'authentication_error',
        'invalid_api_key',
      )
    }
    const path = pathOf(req.url ?? '/')
    const method = ROUTES.get(path)
    if (!method) throw new ApiError(404, `Unknown endpoint: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url')
    if (req.method !== method)
      throw new ApiError(405, `Use ${method} for ${path}.`, 'invalid_request_error', 'method_not_allowed', null, { allow: method })
    if (path === '/v1/models') return sendJson(res, 200, listModels())
    return completions(req, res, controller)
  }

  function listModels(): unknown {
    const id = modelId(options.engineState())
    return { object: 'list', data: id ? [{ id, object: 'model', created: 0, owned_by: 'local' }] : [] }
  }

  /** The engine is getting a model ready: reloading it after a crash, or loading one. */
  function settling(state: EngineState): boolean {
    return state.state === 'loading' || (state.state === 'crashed' && state.restarting)
  }

  /** The engine's state once it has settled, or when the wait runs out or the client leaves. */
  function settledEngineState(signal: AbortSignal): Promise<EngineState> {
    const now = options.engineState()
    if (!settling(now)) return Promise.resolve(now)
    return new Promise((resolve) => {
      const done = (state: EngineState = options.engineState()): void => {
        clearTimeout(timer)
        stopWatching()
        signal.removeEventListener('abort', abort)
        resolve(state)
      }
      const abort = (): void => done()
      const timer = setTimeout(done, limits.modelWaitMs)
      const stopWatching = options.watchEngineState((state) => {
        if (!settling(state)) done(state)
      })
      signal.addEventListener('abort', abort, { once: true })
    })
  }

  /** Why there is no model to answer with, in words that say what happened. */
  function notReady(state: EngineState): ApiError {
    if (state.state === 'crashed' && state.restarting) return engineRestarting()
    if (state.state === 'loading')
      return new ApiError(503, 'A model is still loading in the app; try again shortly.', 'server_error', 'model_loading', null, RETRY_SOON)
    if (state.state === 'error')
      return new ApiError(503, `${state.message} Load a model in the app, then try again.`, 'server_error', 'model_not_loaded')
    return new ApiError(503, 'No model is loaded in the app. Load one, then try again.', 'server_error', 'model_not_loaded')
  }

  /**
   * A request lost to an engine crash, which the engine client has already retried once in
   * the fresh process: while the model is back or on its way, that is a crash to try again
   * after, not a server fault.
   */
  function describeFailure(error: unknown): ApiError {
    if (!(error instanceof AppError && error.code === 'engine-crashed')) return toApiError(error)
    const state = options.engineState()
    return state.state === 'ready' || settling(state) ? engineRestarting() : notReady(state)
  }

  async function completions(req: IncomingMessage, res: ServerResponse, controller: AbortController): Promise<void> {
    let finished = false
    let disconnected = false
    // The response closing before we ended it means the client went away: stop waiting or generating.
    res.on('close', () => {
      if (!finished) {
        disconnected = true
        controller.abort()
      }
    })
    const body = await readJson(req, limits.bodyBytes)
    stopIfStopping(controller.signal)
    const illFormed = illFormedText(body)
    if (illFormed !== null)
      throw new ApiError(
        400,
        `Invalid request: ${illFormed || 'the body'} holds text that is not well-formed Unicode (a lone surrogate).`,
        'invalid_request_error',
        'invalid_value',
        illFormed || null,
      )
    const refused = refusedField(body)
    if (refused) throw refused
    const parsed = ChatCompletionRequest.safeParse(body)
    if (!parsed.success)
      throw new ApiError(
        400,
        `Invalid request: ${describeIssues(parsed.error)}`,
        'invalid_request_error',
        'invalid_value',
        // An error about the body itself (not an object) has no field to name.
        issuePath(parsed.error) || null,
      )
    const request = parsed.data
    // OpenAI refuses it, in these words: the options shape a stream, and were silently dropped.
    if (request.stream_options && !request.stream)
      throw new ApiError(
        400,
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        'invalid_request_error',
        'invalid_value',
        'stream_options',
      )
    const state = await settledEngineState(controller.signal)
    stopIfStopping(controller.signal)
    const loaded = modelId(state)
    if (!loaded) throw notReady(state)
    if (request.model !== loaded)
      throw new ApiError(
        404,
        `The model '${request.model}' is not loaded; the loaded model is '${loaded}'.`,
        'invalid_request_error',
        'model_not_found',
        'model',
      )
    const messages = await withText(await toMessages(request.messages), request.text_layer, state, controller.signal)
    stopIfStopping(controller.signal)
    const format = answerFormat(request.response_format)
    const tools = toolsFor(request.tools, request.tool_choice, request.parallel_tool_calls)

    const id = `chatcmpl-${randomUUID()}`
    const created = Math.floor(Date.now() / 1000)
    const stop =
      request.stop === undefined || request.stop === null ? undefined : Array.isArray(request.stop) ? request.stop : [request.stop]
    const generation: GenerateRequest = {
      messages,
      sampling: {
        maxTokens: request.max_completion_tokens ?? request.max_tokens ?? 512,
        temperature: request.temperature ?? 1,
        ...(request.top_p ? { topP: request.top_p } : {}),
        ...(request.seed !== undefined && request.seed !== null ? { seed: request.seed } : {}),
        ...(stop ? { stop } : {}),
      },
      ...(format ? { format } : {}),
      ...tools,
    }
    // What the loaded model cannot answer is refused here, naming the field, not after the
    // queue; its AppError becomes the 400 the engine's path gives (toApiError, in handle).
    checkRequest(generation, state.state === 'ready' && state.info.vision)
    const stream = options.scheduler.generate(
      'api',
      generation,
      controller.signal,
      // The model is checked again when the request's turn comes: a model loaded in the app while
      // it waited would otherwise answer it, under the name of the one it asked for.
      () => {
        const now = modelId(options.engineState())
        if (now !== loaded)
          throw new ApiError(
            503,
            `The app switched models while this request waited: '${loaded}' is no longer loaded${now ? `; '${now}' is` : ''}.`,
            'server_error',
            'model_changed',
            'model',
            RETRY_SOON,
          )
      },
    )

    let text = ''
    const reasoningApart = request.reasoning_format !== 'none'
    let stats: GenerationStats | null = null
    let toolCalls: ToolCall[] = []
    // A limit that cut the answer wins over its calls: the last call's arguments may be cut with it,
    // and clients run the calls of a "tool_calls" answer (llama-server says "length" too).
    const finish = (): FinishReason => {
      const reason = finishReason(stats)
      return reason === 'stop' && toolCalls.length ? 'tool_calls' : reason
    }
    const chunk = (delta: Record<string, unknown>, finish: FinishReason | null): unknown => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: loaded,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
    try {
      if (request.stream) {
        // The first event waits for the queue and the prompt, so errors before it still get a status code.
        let started = false
        const begin = (): void => {
          if (started) return
          started = true
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
          sse(res, chunk({ role: 'assistant', content: '' }, null))
        }
        const split = reasoningApart ? new ReasoningStream() : null
        const send = (parts: ReasoningParts): void => {
          if (parts.reasoning) sse(res, chunk({ reasoning_content: parts.reasoning }, null))
          if (parts.content) sse(res, chunk({ content: parts.content }, null))
        }
        for await (const c of stream) {
          if (c.kind === 'tokens') {
            begin()
            if (c.text) send(split ? split.push(c.text) : { reasoning: '', content: c.text })
          } else {
            stats = c.stats
            toolCalls = c.toolCalls ?? []
          }
        }
        stopIfStopping(controller.signal)
        cutOff(stats)
        begin()
        if (split) send(split.end())
        // The bindings parse calls from the whole answer, so each call comes whole, in one delta.
        openAiToolCalls(toolCalls).forEach((call, index) => sse(res, chunk({ tool_calls: [{ index, ...call }] }, null)))
        sse(res, chunk({}, finish()))
        if (request.stream_options?.include_usage)
          sse(res, { id, object: 'chat.completion.chunk', created, model: loaded, choices: [], usage: usage(stats) })
        res.write('data: [DONE]\n\n')
        finished = true
        res.end()
      } else {
        for await (const c of stream) {
          if (c.kind === 'tokens') text += c.text
          else {
            stats = c.stats
            toolCalls = c.toolCalls ?? []
          }
        }
        stopIfStopping(controller.signal)
        cutOff(stats)
        const { reasoning, content } = reasoningApart ? splitAnswer(text) : { reasoning: null, content: text }
        const message = {
          role: 'assistant',
          content: toolCalls.length ? content || null : content,
          ...(reasoning !== null ? { reasoning_content: reasoning } : {}),
          ...(toolCalls.length ? { tool_calls: openAiToolCalls(toolCalls) } : {}),
        }
        finished = true
        sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model: loaded,
          choices: [{ index: 0, message, finish_reason: finish(), logprobs: null }],
          usage: usage(stats),
        })
      }
    } catch (error) {
      finished = true
      const failure = controller.signal.reason === STOPPING ? serverStopping() : describeFailure(error)
      if (res.headersSent) {
        // Mid-stream: OpenAI's clients read an error event.
        sse(res, failure.body())
        res.end()
      } else throw failure
    } finally {
      options.onFinished?.({ id, stats, disconnected, at: performance.now() })
    }
  }

  /** The text layer on the request's images, as the chat window applies it. */
  async function withText(
    messages: ChatMessage[],
    wanted: boolean | null | undefined,
    state: EngineState,
    signal: AbortSignal,
  ): Promise<ChatMessage[]> {
    const use = options.textLayer
    if (!use || wanted === false || !messages.some((m) => m.images?.length)) return messages
    const set = use.mode()
    const mode = wanted === true && set === 'never' ? 'auto' : set
    if (mode === 'never') return messages
    const canSee = state.state !== 'ready' || state.info.vision
    const budget = screenTextBudget(state.state === 'ready' ? state.info.contextSize : null)
    return Promise.all(
      messages.map(async (m) => {
        if (m.role !== 'user' || !m.images?.length) return m
        const texts = await Promise.all(m.images.map((image) => use.layer.read(image.bytes, { signal })))
        return withImageText(m, texts, { mode, canSee, budget }).message
      }),
    )
  }

  async function toMessages(input: ChatCompletionRequest['messages']): Promise<ChatMessage[]> {
    let images = 0
    const out: ChatMessage[] = []
    for (const [i, m] of input.entries()) {
      const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : (m.content ?? [])
      const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n')
      const bytes: Uint8Array[] = []
      for (const part of parts) {
        if (part.type !== 'image_url') continue
        if (++images > limits.imagesPerRequest)
          throw new ApiError(
            400,
            `Too many images: at most ${limits.imagesPerRequest} per request.`,
            'invalid_request_error',
            'too_many_images',
            `messages.${i}.content`,
          )
        bytes.push(await imageBytes(part.image_url.url, `messages.${i}.content`))
      }
      if (text.length > LIMITS.textChars)
        throw new ApiError(
          400,
          `Message ${i} is longer than ${LIMITS.textChars} characters.`,
          'invalid_request_error',
          'string_above_max_length',
          `messages.${i}.content`,
        )
      const role = m.role === 'developer' ? 'system' : m.role
      if ((role === 'tool') !== Boolean(m.tool_call_id))
        throw new ApiError(
          400,
          `Message ${i}: a tool message, and only a tool message, has a tool_call_id.`,
          'invalid_request_error',
          'invalid_value',
          `messages.${i}.tool_call_id`,
        )
      if (m.tool_calls?.length && role !== 'assistant')
        throw new ApiError(
          400,
          `Message ${i}: only an assistant message holds tool_calls.`,
          'invalid_request_error',
          'invalid_value',
          `messages.${i}.tool_calls`,
        )
      const calls = role === 'assistant' && m.tool_calls?.length ? m.tool_calls : null
      // The engines lay out a tool result and a call as text alone: an image there was dropped unsaid.
      if (bytes.length && (role === 'tool' || calls))
        throw new ApiError(
          400,
          `Message ${i}: ${role === 'tool' ? 'a tool result' : 'an assistant message with tool_calls'} takes text only; send the image in a user message.`,
          'invalid_request_error',
          'invalid_value',
          `messages.${i}.content`,
        )
      // A thought sent back goes in as the engine holds one, before the answer between its tags,
      // so each binding hands it to the template apart (Qwen3's keeps the current turn's: a
      // thought before a tool call stays with the call's results).
      const thought = role === 'assistant' && m.reasoning_content ? withThought(m.reasoning_content, text) : null
      if (thought && thought.length > LIMITS.textChars)
        throw new ApiError(
          400,
          `Message ${i}'s thought and text are longer than ${LIMITS.textChars} characters.`,
          'invalid_request_error',
          'string_above_max_length',
          `messages.${i}.reasoning_content`,
        )
      out.push({
        role,
        text: thought ?? text,
        ...(bytes.length ? { images: bytes.map((b) => ({ bytes: b })) } : {}),
        ...(calls ? { toolCalls: calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) } : {}),
        ...(role === 'tool' ? { toolCallId: m.tool_call_id! } : {}),
      })
    }
    return out
  }

  async function imageBytes(url: string, param: string): Promise<Uint8Array> {
    let bytes: Uint8Array
    // Media-type parameters (;charset=utf-8, ;name=a.png) are valid data: URL syntax: skipped.
    const data = /^data:image\/[a-z0-9.+-]+(?:;[a-z0-9!#$&^_.+-]+=[^;,]*)*;base64,(.*)$/is.exec(url)
    if (data) bytes = new Uint8Array(Buffer.from(data[1]!, 'base64'))
    else if (url.startsWith('file:')) {
      if (!allowFileUrls)
        throw new ApiError(
          400,
          'Local file URLs are turned off; send the image as a data URL, or allow file URLs in the app’s settings.',
          'invalid_request_error',
          'file_urls_disabled',
          param,
        )
      const read = await readFileImage(url, LIMITS.imageBytes)
      if (!read.ok && read.reason === 'remote')
        throw new ApiError(
          400,
          'A file URL must name a file on this computer (file:///path/to/image.png); one with a host would reach out to that host over the network.',
          'invalid_request_error',
          'invalid_image_url',
          param,
        )
      if (!read.ok) throw unreadableFile(url, param)
      bytes = read.bytes
    } else
      throw new ApiError(
        400,
        'Images must be data URLs (data:image/png;base64,…); this server fetches nothing from the network.',
        'invalid_request_error',
        'invalid_image_url',
        param,
      )
    if (bytes.byteLength === 0 || bytes.byteLength > LIMITS.imageBytes)
      throw new ApiError(
        400,
        `An image must be between 1 byte and ${LIMITS.imageBytes} bytes.`,
        'invalid_request_error',
        'invalid_image',
        param,
      )
    const meta = await sharp(bytes, { limitInputPixels: false })
      .metadata()
      .catch(() => {
        // A file that is there but no image gets the answer a missing one gets (see unreadableFile).
        if (url.startsWith('file:')) throw unreadableFile(url, param)
        throw new ApiError(400, 'An image_url does not hold an image that can be read.', 'invalid_request_error', 'invalid_image', param)
      })
    if ((meta.width ?? 0) * (meta.height ?? 0) > limits.imagePixels) {
      throw new ApiError(
        400,
        `An image is too large: ${meta.width}x${meta.height}; the limit is ${limits.imagePixels} pixels.`,
        'invalid_request_error',
        'image_too_large',
        param,
      )
    }
    return bytes
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Loopback only: other machines on the network can never reach it.
    server.listen(options.port, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  ownHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
  return {
    port,
    url: `http://127.0.0.1:${port}/v1`,
    update(change) {
      expectedToken = sha256(change.token)
      allowedOrigins = [...change.allowedOrigins]
      allowFileUrls = change.allowFileUrls
    },
    async close() {
      // No new connections, and idle ones close now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Each answer in progress stops and says why (an SSE error event, or a 503) rather than
      // being cut off mid-stream, which clients read as a network fault or a finished answer.
      const answering = [...inFlight.values()]
      for (const controller of inFlight.keys()) controller.abort(STOPPING)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(answering), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))])
      clearTimeout(timer)
      server.closeAllConnections()
      await closed
    },
  }
}

/**
 * Every way a file URL fails (no such file, no permission, a folder, a device, too large, not
 * an image) gets this one answer: distinct ones told a caller which files exist.
 */
function unreadableFile(url: string, param: string): ApiError {
  return new ApiError(
    400,
    `Cannot read ${url} as an image: a file URL must name an image file on this computer of at most ${LIMITS.imageBytes} bytes that the app may read.`,
    'invalid_request_error',
    'invalid_image_url',
    param,
  )
}

/** The abort reason of requests stopped because the server is closing. */
const STOPPING = Symbol('api server stopping')

/** How long close() waits for answers in progress to send their error before it cuts the connections. */
const CLOSE_GRACE_MS = 2_000

/** A request the server's closing stopped: the answer says so before the connection goes. */
function stopIfStopping(signal: AbortSignal): void {
  if (signal.reason === STOPPING) throw serverStopping()
}

function serverStopping(): ApiError {
  return new ApiError(
    503,
    'The API server stopped before this answer was finished: it was turned off, moved to another port, or the app is closing.',
    'server_error',
    'server_stopping',
    null,
    { connection: 'close' },
  )
}

/** Clients that retry (OpenAI's do, on 503) should come back shortly when the model is on its way. */
const RETRY_SOON = { 'retry-after': '2' }

function engineRestarting(): ApiError {
  return new ApiError(
    503,
    'The engine crashed and the model is reloading; try again.',
    'server_error',
    'engine_restarting',
    null,
    RETRY_SOON,
  )
}

/**
 * response_format as the engine's answer format. The schema is checked here, before the
 * queue, so a keyword the grammar cannot enforce is refused naming the field it came in; the
 * openai client's helpers' dialect is read first (fromClientSchema).
 */
function answerFormat(format: ResponseFormat | null | undefined): AnswerFormat | null {
  if (!format || format.type === 'text') return null
  const sent = format.type === 'json_schema' ? format.json_schema.schema : null
  if (!sent) return { type: 'json' }
  const schema = fromClientSchema(sent)
  try {
    checkJsonSchema(schema)
  } catch (error) {
    if (error instanceof AppError) throw new ApiError(400, error.message, 'invalid_request_error', 'invalid_json_schema', 'response_format')
    throw error
  }
  return { type: 'json_schema', schema }
}

/**
 * tools, tool_choice and parallel_tool_calls as the engine's fields. Each tool's parameters
 * are checked here so a keyword the grammar cannot enforce is refused naming the tool's place;
 * a tool without parameters takes none.
 */
function toolsFor(
  tools: Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined,
): Pick<GenerateRequest, 'tools' | 'toolChoice' | 'parallelToolCalls'> {
  if (!tools?.length) {
    if (choice && choice !== 'none' && choice !== 'auto')
      throw new ApiError(400, 'tool_choice needs tools to choose from.', 'invalid_request_error', 'invalid_value', 'tool_choice')
    return {}
  }
  const definitions = tools.map((tool, i) => {
    const parameters = fromClientSchema(tool.function.parameters ?? { type: 'object', properties: {} })
    try {
      if (parameters.type !== 'object') throw new AppError('invalid-payload', 'The parameters must be a JSON schema with "type": "object".')
      checkJsonSchema(parameters)
    } catch (error) {
      if (error instanceof AppError)
        throw new ApiError(400, error.message, 'invalid_request_error', 'invalid_json_schema', `tools.${i}.function.parameters`)
      throw error
    }
    return { name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), parameters }
  })
  return {
    tools: definitions,
    ...(choice ? { toolChoice: typeof choice === 'string' ? choice : { name: choice.function.name } } : {}),
    ...(parallel === false ? { parallelToolCalls: false } : {}),
  }
}

/** The engine's calls in OpenAI's shape: arguments stay the JSON text the model wrote. */
function openAiToolCalls(calls: ToolCall[]): { id: string; type: 'function'; function: { name: string; arguments: string } }[] {
  return calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }))
}

/** OpenAI says length for an answer cut short by a limit, the context's included. */
function finishReason(stats: GenerationStats | null): FinishReason {
  return stats?.stopReason === 'max-tokens' || stats?.stopReason === 'context-full' ? 'length' : 'stop'
}

/** OpenAI's usage, with the prompt tokens the engine reused from its cache as cached_tokens. */
function usage(stats: GenerationStats | null): {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details: { cached_tokens: number }
} {
  const prompt = stats?.tokensIn ?? 0
  const completion = stats?.tokensOut ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: stats?.cachedTokens ?? 0 },
  }
}

/** The request's path; a request line whose URL cannot be read (a bad host in its absolute form) is a 400, not a 500. */
function pathOf(url: string): string {
  try {
    return new URL(url, 'http://localhost').pathname.replace(/\/+$/, '')
  } catch {
    throw new ApiError(400, 'The request URL cannot be read.', 'invalid_request_error', 'invalid_url')
  }
}

// In a Unicode pattern a surrogate pair is one code point: only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Where the body holds a string (or a key) with a lone UTF-16 surrogate, as a dotted path, or
 * null. JSON.parse takes "\ud800", but the engines' JSON parsers refuse it: a 500 mid-request.
 * Walked without recursion: a body may nest as deep as JSON.parse allows.
 */
function illFormedText(body: unknown): string | null {
  const stack: [unknown, string][] = [[body, '']]
  while (stack.length > 0) {
    const [value, at] = stack.pop()!
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return at
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const path = at ? `${at}.${key}` : key
        if (LONE_SURROGATE.test(key)) return path
        stack.push([child, path])
      }
    }
  }
  return null
}

/**
 * An answer the engine's crash cut off ends as an error (an SSE error event once streaming,
 * else a 503 to retry), not as a finished answer: OpenAI has no finish_reason that says so,
 * and "stop" passed the cut text off as whole.
 */
function cutOff(stats: GenerationStats | null): void {
  if (stats?.stopReason === 'engine-crashed')
    throw new AppError('engine-crashed', 'The engine stopped in the middle of this answer; what came before the stop was sent.')
}

function sse(res: ServerResponse, data: unknown): void {
  res.write(`data: ${JSON.stringify(data)}\n\n`)
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  // A refused body may not have been read to its end: close the connection rather than read the rest.
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(status === 413 ? { connection: 'close' } : {}),
  })
  res.end(text)
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) return void res.end()
  sendJson(res, error.status, error.body(), error.headers)
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes)
  if (!body) throw new ApiError(413, `The request body is larger than ${maxBytes} bytes.`, 'invalid_request_error', 'request_too_large')
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new ApiError(400, `The request body is not valid JSON (${(error as Error).message}).`, 'invalid_request_error', 'invalid_json')
  }
}

/**
 * The body, or null when it is larger than maxBytes. A client that sends a large body reads
 * the response only after it has written the body, so closing the connection on it at once
 * gives it a broken pipe instead of the 413: a body over the limit is read on and thrown
 * away, up to DISCARD_FACTOR times the limit and DISCARD_MS, and the 413 closes the
 * connection after that.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const discardBytes = DISCARD_FACTOR * maxBytes
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > discardBytes) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let discardTimer: NodeJS.Timeout | undefined
    const overLimit = (): void => {
      chunks.length = 0
      discardTimer = setTimeout(() => finish(null), DISCARD_MS)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > discardBytes) return finish(null)
      if (discardTimer) return
      if (size > maxBytes) overLimit()
      else chunks.push(chunk)
    }
    const onEnd = (): void => finish(discardTimer ? null : Buffer.concat(chunks))
    const finish = (body: Buffer | null): void => {
      clearTimeout(discardTimer)
      // The error listener stays: a client that goes away later must not make an unhandled error.
      req.off('data', onData).off('end', onEnd)
      resolve(body)
    }
    req.on('data', onData).on('end', onEnd).on('error', reject)
    if (declared > maxBytes) overLimit()
  })
}

/** How engine errors reach clients: the HTTP status, and OpenAI's code and param where it has them. */
const ENGINE_ERRORS: Partial<Record<ErrorCode, { status: number; code?: string; param?: string }>> = {
  'no-model': { status: 503, code: 'model_not_loaded' },
  'no-vision': { status: 400 },
  'bad-image': { status: 400 },
  'context-overflow': { status: 400, code: 'context_length_exceeded', param: 'messages' },
  // The engine's own name for a request it refuses is no OpenAI code: clients read invalid_value.
  'invalid-payload': { status: 400, code: 'invalid_value' },
  busy: { status: 429 },
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof AppError) {
    const known = ENGINE_ERRORS[error.code]
    const status = known?.status ?? 500
    return new ApiError(
      status,
      error.message,
      status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
      known?.code ?? error.code,
      known?.param ?? error.field,
    )
  }
  return new ApiError(500, error instanceof Error ? error.message : String(error), 'server_error')
}
