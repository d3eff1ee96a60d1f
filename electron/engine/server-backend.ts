// Models through a llama-server child process, built from the llama.cpp that node-llama-cpp
// ships (the way Jan runs llama.cpp). Chosen where there is a binary and the engine runs on the
// CPU. For a model with an mmproj, over llama.node: llama-server matches a prompt's chunks
// against its slot, images by their hash, so a follow-up about earlier images evaluates only
// what is new, where llama.node re-reads every image. For a text model, over node-llama-cpp:
// llama-server's C++ loop decodes without a JavaScript step per token (issue 12: node-llama-cpp
// ran at 0.57 of llama-server's tokens/s on the same model).
// The HTTP and SSE reading is the remote engine's (electron/remote), pointed at loopback.
import type { AnswerFormat, LoadRequest, ToolCall } from '../ipc/contract.js'
import { contextSizeFor } from '../ipc/defaults.js'
import { AppError } from '../ipc/errors.js'
import { isProjectorBudget } from '../images/budget.js'
import { exchange, RemoteHttpError, type RemoteEndpoint } from '../remote/http.js'
import { parseJson, readCompletion, type ToolCallDelta } from '../remote/completion.js'
import { SseDecoder, type SseEvent } from '../remote/sse.js'
import { readProps } from '../remote/server-facts.js'
import type { JsonSchema } from './json-schema.js'
import type { ModelFileInfo } from './model-files.js'
import { resolveSampling } from './sampling.js'
import { serverArgs, serverSamplers, SLOT, slotsFor } from './server-args.js'
import { lastLines, startServerProcess, type ServerProcess } from './server-process.js'
import type { TextGuard } from './special-text.js'
import { forcedCallSchema, guardStrings, newCallId, parseForcedCall, stopsFor, withToolNote } from './tools.js'
import { refOf } from '../images/prepared-cache.js'
import { createMediaFolder, withMediaFiles, type MediaLease } from './server-media.js'
import { ImageTokenCounts } from './image-token-counts.js'
import { mergeCall, overflowOrError } from './server-response.js'
import { formatFields, hasMedia, templatePrompt, textTokenCount, toServerMessage } from './server-request.js'
import type { Backend, BackendGeneration, BackendResult } from './types.js'

export interface ServerBackendOptions {
  binary: string
  threads: number
  guard: TextGuard
  /**
   * The exact grammar for an answer format (node-llama-cpp's builder, as the text path uses):
   * llama-server's own response_format wraps the schema in the template's opening and a
   * ```json fence for its parser. Without it, response_format is passed on.
   */
  grammarFor?: (format: AnswerFormat) => Promise<string>
  /** llama.cpp's log output (the engine process's stderr, as with the in-process bindings). */
  onOutput?: (text: string) => void
  /** Model loading on a slow disk takes minutes for a large model. */
  readyTimeoutMs?: number
  /** The GPU the Vulkan build offloads these layers to; absent, the model runs on the CPU. */
  gpu?: { name: string; layers: number }
  /** Why it runs with fewer GPU layers than asked (earlier attempts failed), for the engine info. */
  fallback?: string | null
}

/** llama.cpp's load log says how many layers went to the GPU: "load_tensors: offloaded 29/29 layers to GPU". */
export function offloadedLayers(log: string): number | null {
  const m = /offloaded (\d+)\/(\d+) layers to GPU/.exec(log)
  return m ? Number(m[1]) : null
}

/** A local server answers within the time it takes to evaluate the prompt, which on a CPU can be minutes. */
const HEADERS_TIMEOUT_MS = 60 * 60 * 1000
/** Reads a body to its end, whatever it holds; a failure there is nobody's concern. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // the connection is closed instead of reused
  }
}

/** The context of one slot, as the server says (GET /props); null when it does not say. */
function slotContextSize(endpoint: RemoteEndpoint): Promise<number | null> {
  return readProps(endpoint, '/props', { timeoutMs: 10_000, fetch }).then(
    (props) => props.contextSize,
    () => null,
  )
}

export async function loadServerBackend(
  model: ModelFileInfo,
  mmproj: ModelFileInfo | null,
  request: LoadRequest,
  options: ServerBackendOptions,
): Promise<Backend & { lost: Promise<string>; server: ServerProcess }> {
  const started = performance.now()
  const asked = contextSizeFor(model.trainContextSize, request.contextSize)
  const imageMaxTokens = mmproj?.imageBudget && isProjectorBudget(mmproj.imageBudget) ? mmproj.imageBudget.mtmdImageMaxTokens : null
  const what = mmproj ? 'vision model' : 'model'
  // Where images go to the server as files; without one (an unwritable temp folder) they go inline.
  const media = mmproj ? await createMediaFolder().catch(() => null) : null
  let server: ServerProcess
  try {
    server = await startServerProcess({
      binary: options.binary,
      args: serverArgs({
        model: model.path,
        mmproj: mmproj?.path ?? null,
        contextSize: asked,
        threads: options.threads,
        imageMaxTokens,
        mediaPath: media?.dir ?? null,
        gpuLayers: options.gpu?.layers ?? 0,
      }),
      readyTimeoutMs: options.readyTimeoutMs ?? 10 * 60 * 1000,
      onOutput: options.onOutput,
    })
  } catch (error) {
    await media?.dispose()
    throw new AppError('model-load-failed', `The ${what} could not be started in llama-server: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const endpoint: RemoteEndpoint = { baseUrl: server.url, apiKey: server.apiKey, allowUnencrypted: true }
  let disposed = false
  // Its files go with it, however it ends (a restart makes a new folder).
  void server.exited.then(() => media?.dispose())
  // Resolves only when the server ended on its own: the engine reloads then.
  const lost = server.exited.then((reason) => (disposed ? new Promise<string>(() => undefined) : reason))
  const crashed = (): AppError =>
    new AppError(
      'engine-crashed',
      `The ${mmproj ? 'vision engine' : 'engine'} (llama-server) ${server.exitReason() ?? 'stopped answering'}; it is being restarted, try again. ${lastLines(server.log(), 2)}`.trim(),
    )
  const post = async (path: string, body: unknown, signal?: AbortSignal): Promise<Response> => {
    if (server.exitReason()) throw crashed()
    try {
      const ex = await exchange(endpoint, {
        method: 'POST',
        path,
        body,
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        signal,
        fetch,
        resendOnClosedSocket: true,
      })
      return ex.response
    } catch (error) {
      throw await whenDead(error, signal)
    }
  }
  /** A failed request to a server that has just died is the death, said as such. */
  const whenDead = async (error: unknown, signal?: AbortSignal): Promise<unknown> => {
    // A cancel is not a death: waiting to tell them apart kept a cancelled answer, and the engine, half a second longer.
    if (error instanceof RemoteHttpError || signal?.aborted) return error
    const reason = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), 500))])
    return reason ? crashed() : error
  }

  // The context a slot really holds: llama.cpp rounds it up to a multiple of 256 (per slot, then
  // the whole), so a context of 200 asked for holds 256. The engine info, the room an answer has
  // and the overflow message all use this one, or they disagreed (200 said, 256 refused at).
  const contextSize = (await slotContextSize(endpoint)) ?? asked
  // What the server did, from its log, rather than what it was asked: a build can offload fewer.
  const gpuLayers = options.gpu ? (offloadedLayers(server.log()) ?? options.gpu.layers) : 0
  const allLayers = model.totalLayers + 1 // +1: the output layer
  const info = {
    modelPath: model.path,
    mmprojPath: mmproj?.path ?? null,
    binding: 'llama-server' as const,
    backend: gpuLayers > 0 ? ('vulkan' as const) : ('cpu' as const),
    gpuName: gpuLayers > 0 ? options.gpu!.name : null,
    gpuLayers,
    totalLayers: model.totalLayers,
    contextSize,
    vision: mmproj !== null,
    fallback: options.fallback ?? null,
    loadMs: Math.round(performance.now() - started),
    // As llama.node's info estimates it: the offloaded share of the weights, and the projector with them.
    memory:
      gpuLayers > 0
        ? {
            vramBytes: Math.round((model.weightBytes * gpuLayers) / allLayers + (mmproj?.weightBytes ?? 0)),
            ramBytes: Math.round((model.weightBytes * (allLayers - gpuLayers)) / allLayers),
          }
        : { vramBytes: 0, ramBytes: model.weightBytes + (mmproj?.weightBytes ?? 0) },
  }

  // Each image's prompt tokens, by its content (see image-token-counts.ts).
  const imageCounts = new ImageTokenCounts()

  /** One answer, its images read from the lease's files where there is one, else sent inline. */
  const answer = async (generation: BackendGeneration, lease: MediaLease | null): Promise<BackendResult> => {
    const { sampling, signal, onTokens, tools, parallelToolCalls, lane } = generation
    const forced = tools.kind === 'forced' ? tools.tools : null
    const messages = (forced ? withToolNote(generation.messages, forced) : generation.messages).map((m) =>
      toServerMessage(m, options.guard, lease?.url),
    )
    const format = forced ? ({ type: 'json_schema', schema: forcedCallSchema(forced) } as const) : generation.format
    const s = resolveSampling(sampling)
    if (signal.aborted) return { tokensIn: 0, tokensOut: 0, imageTokens: 0, stopReason: 'cancelled' }
    const media = hasMedia(messages)
    const images = generation.messages.flatMap((m) => m.images).map((image) => refOf(image.data))
    const knownSum = imageCounts.sum(images)
    const toolFields =
      tools.kind === 'auto'
        ? {
            tools: tools.tools.map((t) => ({
              type: 'function',
              function: {
                name: t.name,
                description: options.guard(t.description ?? ''),
                parameters: guardStrings(t.parameters, options.guard) as JsonSchema,
              },
            })),
            tool_choice: 'auto',
            parallel_tool_calls: parallelToolCalls,
          }
        : {}
    // The prompt's text tokens, counted beside the answer once its first token is out (the
    // HTTP threads do it, not the slot); the image tokens are the rest of the prompt. Not
    // counted when every image's tokens are already known (see ImageTokenCounts).
    let textTokens: Promise<number | null> | null = null
    const countText = (): Promise<number | null> =>
      (textTokens ??=
        media && knownSum === null
          ? templatePrompt(messages, toolFields, post).then((p) => textTokenCount(p, post, server.mediaMarker))
          : Promise.resolve(null))
    const countImages = async (total: number): Promise<number> => {
      if (media && knownSum !== null) return knownSum
      const text = await countText().catch(() => null)
      if (text === null) return 0
      const counted = Math.max(0, total - text)
      imageCounts.learn(images, counted)
      return counted
    }

    let response: Response
    try {
      response = await post(
        '/v1/chat/completions',
        {
          messages,
          stream: true,
          stream_options: { include_usage: true },
          // The final event then says why it stopped (a stop word or the end of the answer), which OpenAI's finish_reason does not.
          verbose: true,
          response_fields: ['stop_type', 'stopping_word', 'truncated'],
          // The prompt's size and what was reused come in the first event, not only in the last
          // one's usage: an answer stopped before its end still says what it was asked with.
          return_progress: true,
          cache_prompt: true,
          ...(slotsFor(mmproj !== null) > 1 ? { id_slot: SLOT[lane] } : {}),
          max_tokens: s.maxTokens,
          ...serverSamplers(s),
          ...(stopsFor(s.stop, format) ? { stop: s.stop } : {}),
          ...(format ? await formatFields(format, options.grammarFor) : {}),
          ...toolFields,
        },
        signal,
      )
    } catch (error) {
      if (signal.aborted) return { tokensIn: 0, tokensOut: 0, imageTokens: 0, stopReason: 'cancelled' }
      throw await overflowOrError(error, countImages, contextSize)
    }
    let counted = 0
    let callText = ''
    const calls: ToolCallDelta[] = []
    let finish: string | null = null
    let stopType: string | null = null
    let usage: { promptTokens?: number; completionTokens?: number; cacheN?: number } = {}
    let progress: { total?: number; cache?: number } = {}
    let opening = ''
    const stopped = (): BackendResult => ({
      tokensIn: usage.promptTokens ?? progress.total ?? 0,
      cachedTokens: usage.cacheN ?? progress.cache ?? 0,
      tokensOut: counted,
      // Counting them would mean more requests after a stop; known ones cost nothing.
      imageTokens: media ? (knownSum ?? 0) : 0,
      stopReason: 'cancelled',
    })
    let done = false
    /** One event; false once the stream says it is over. */
    const take = (event: SseEvent): boolean => {
      if (event.data === '[DONE]') return false
      const value = parseJson(event.data)
      const part = readCompletion(value, 'delta')
      if (!part) return true
      if (part.error) throw new AppError('internal', `llama-server: ${part.error}`)
      const { progressTotal, progressCache, ...counts } = part.counts
      if (progressTotal !== undefined) {
        progress = { total: progressTotal, cache: progressCache }
        // A progress event carries no token, but its text can hold what the template opened (a
        // thought's opening, an answer being continued): it goes out with the first token, as
        // it did before progress was asked for, so it is neither counted nor timed as one.
        opening += part.content
        return true
      }
      if (part.content || part.toolCalls.length) {
        counted++
        const text = opening + part.content
        opening = ''
        if (forced) {
          callText += text
          onTokens('', 1)
        } else onTokens(text, 1)
        // Only once the first token is out: the role event comes just before it, and
        // starting two requests there delayed a follow-up's first token by about half a
        // millisecond on the fixture (bench:followup, 1-8 earlier images).
        if (counted === 1) void countText().catch(() => null)
      }
      for (const delta of part.toolCalls) mergeCall(calls, delta)
      finish = part.finishReason ?? finish
      const verbose = (value as { __verbose?: { stop_type?: unknown } }).__verbose
      if (typeof verbose?.stop_type === 'string') stopType = verbose.stop_type
      if (counts.promptTokens !== undefined || counts.cacheN !== undefined) usage = { ...usage, ...counts }
      return true
    }
    try {
      // The events of each network chunk are taken in one synchronous pass: one await per
      // chunk, not per token, on the path every token takes.
      const decoder = new SseDecoder()
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      for (;;) {
        const { value, done: ended } = await reader.read()
        if (ended) break
        for (const event of decoder.push(value)) {
          if (!take(event)) {
            done = true
            break
          }
        }
        if (done) {
          // What follows [DONE] is the end of the chunked body: read, not cancelled, so the
          // connection goes back to the pool. Cancelled, it was closed after every answer and
          // the next request paid for a new one.
          void drain(reader)
          break
        }
      }
      if (!done) decoder.end()
    } catch (error) {
      if (signal.aborted) return stopped()
      throw await whenDead(error)
    }
    if (signal.aborted) return stopped()
    // No token came after it (the answer ended at once): the opening is still the answer's.
    if (opening) {
      if (forced) callText += opening
      else onTokens(opening, 0)
    }
    // Tokens held back (a possible stop word, a partial character) stream as one event: the count comes from the server.
    const tokensOut = Math.max(counted, usage.completionTokens ?? 0)
    if (tokensOut > counted) onTokens('', tokensOut - counted)
    const tokensIn = usage.promptTokens ?? 0
    const room = contextSize - tokensIn
    const stopReason: BackendResult['stopReason'] =
      stopType === 'word'
        ? 'stop-sequence'
        : finish === 'length' || stopType === 'limit'
          ? tokensOut < s.maxTokens && tokensOut + 1 >= room
            ? 'context-full'
            : 'max-tokens'
          : 'eos'
    const forcedCall = forced ? parseForcedCall(callText) : null
    const toolCalls: ToolCall[] = forcedCall
      ? [forcedCall]
      : calls
          .filter((c) => c.function?.name)
          .map((c) => ({ id: c.id || newCallId(), name: c.function!.name!, arguments: c.function?.arguments ?? '' }))
    return {
      ...(toolCalls.length ? { toolCalls } : {}),
      tokensIn,
      cachedTokens: usage.cacheN ?? 0,
      tokensOut,
      imageTokens: await countImages(tokensIn),
      stopReason,
    }
  }

  return {
    info,
    lost,
    server,

    generate(generation: BackendGeneration): Promise<BackendResult> {
      const images = generation.messages.flatMap((m) => m.images)
      if (!media || !images.length) return answer(generation, null)
      return withMediaFiles(media, images, generation.signal, (lease) => answer(generation, lease), options.onOutput)
    },

    async countTokens(text: string): Promise<number> {
      const response = await post('/tokenize', { content: text, add_special: false })
      const tokens = (parseJson(await response.text()) as { tokens?: unknown[] } | undefined)?.tokens
      return Array.isArray(tokens) ? tokens.length : 0
    },

    async forgetImages(imageIds: string[]): Promise<void> {
      await media?.removeFilesOf(imageIds)
    },

    async dispose(): Promise<void> {
      disposed = true
      await server.stop()
      await media?.dispose()
    },
  }
}
