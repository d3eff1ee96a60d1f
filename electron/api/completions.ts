// POST /v1/chat/completions: the request checked and mapped to the engine's, queued on the
// scheduler, and its answer sent whole or as SSE. A conversation that ends with an assistant
// message goes to the engine as it is: the engine continues that answer (prefill), and the
// response holds only the continuation, as llama-server's does.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ChatMessage, EngineState, GenerateRequest, GenerationStats, ToolCall } from '../ipc/contract.js'
import { describeIssues, issuePath } from '../ipc/schemas.js'
import type { TextLayerUse } from '../ocr/text-layer.js'
import { screenTextBudget, withImageText } from '../ocr/prompt.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { checkRequest } from '../engine/request-checks.js'
import { STOPPING, serverStopping, stopIfStopping } from './api-errors.js'
import { describeFailure, modelId, notReady, RETRY_SOON, settledEngineState, type EngineStateSource } from './engine-state.js'
import { readJson, sendJson, sse } from './http-io.js'
import type { ApiLimits } from './limits.js'
import { answerFormat, cutOff, finishReason, illFormedText, openAiToolCalls, toMessages, toolsFor, usage } from './mapping.js'
import { ApiError, ChatCompletionRequest, refusedField, type FinishReason } from './openai-types.js'
import { ReasoningStream, splitAnswer, type ReasoningParts } from './reasoning.js'

/** What startApiServer's options give the completions: the engine behind the scheduler, and its observers. */
export interface CompletionOptions extends EngineStateSource {
  scheduler: GenerationScheduler
  /** Reads the text on images sent to the API and gives it to the model (see text_layer). */
  textLayer?: TextLayerUse
  /** Called when a completion ends, however it ends (tests and logs). */
  onFinished?: (event: { id: string; stats: GenerationStats | null; disconnected: boolean; at: number }) => void
}

export interface CompletionContext {
  options: CompletionOptions
  limits: ApiLimits
  /** Whether file:// image URLs are allowed now: a running server's settings change (ApiServer.update). */
  allowFileUrls: () => boolean
}

/**
 * Answers POST /v1/chat/completions, streamed or whole. The controller aborts the generation:
 * the client going away aborts it here, and the server's closing aborts it with STOPPING.
 */
export async function answerCompletion(
  req: IncomingMessage,
  res: ServerResponse,
  controller: AbortController,
  context: CompletionContext,
): Promise<void> {
  const { options, limits } = context
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
  const state = await settledEngineState(options, limits.modelWaitMs, controller.signal)
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
  const messages = await withText(
    options.textLayer,
    await toMessages(request.messages, {
      imagesPerRequest: limits.imagesPerRequest,
      imagePixels: limits.imagePixels,
      allowFileUrls: context.allowFileUrls(),
    }),
    request.text_layer,
    state,
    controller.signal,
  )
  stopIfStopping(controller.signal)
  const format = answerFormat(request.response_format)
  const tools = toolsFor(request.tools, request.tool_choice, request.parallel_tool_calls)

  const id = `chatcmpl-${randomUUID()}`
  const created = Math.floor(Date.now() / 1000)
  const stop = request.stop === undefined || request.stop === null ? undefined : Array.isArray(request.stop) ? request.stop : [request.stop]
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
  // queue; its AppError becomes the 400 the engine's path gives (toApiError, in server.ts's handle).
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
    const failure = controller.signal.reason === STOPPING ? serverStopping() : describeFailure(error, options.engineState())
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
  use: TextLayerUse | undefined,
  messages: ChatMessage[],
  wanted: boolean | null | undefined,
  state: EngineState,
  signal: AbortSignal,
): Promise<ChatMessage[]> {
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
