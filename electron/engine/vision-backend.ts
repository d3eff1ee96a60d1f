// Models with an mmproj, through @fugood/llama.node, which exposes llama.cpp's
// multimodal library (mtmd). node-llama-cpp 3.x has no mmproj API yet (its issue #88);
// when it does, this file is the one to replace.
import { getBackendDevicesInfo, loadModel, type LibVariant, type LlamaCompletionOptions, type LlamaContext } from '@fugood/llama.node'
import type { AnswerFormat, LoadRequest, ToolDefinition } from '../ipc/contract.js'
import { contextSizeFor } from '../ipc/defaults.js'
import { AppError } from '../ipc/errors.js'
import { backendName, describeLoadError, loadWithFallback } from './gpu.js'
import { chooseVisionVariant, probeGpu, type GpuProbeResults } from './gpu-probe.js'
import { isProjectorBudget } from '../images/budget.js'
import type { ModelFileInfo } from './model-files.js'
import { contextOverflow } from './context-limit.js'
import { llamaNodeSamplers, resolveSampling } from './sampling.js'
import type { TextGuard } from './special-text.js'
import { forcedCallSchema, guardStrings, newCallId, parseForcedCall, stopsFor, withToolNote } from './tools.js'
import { GRAMMAR_INTEGER, GRAMMAR_NUMBER, type JsonSchema } from './json-schema.js'
import type { Backend, BackendGeneration, BackendMessage, BackendResult } from './types.js'
import { toServerMessage } from './server-request.js'
import { THINK_OPEN } from './thinking.js'

// Probed once per engine process: nvidia-smi and the library search take tens of ms.
let probes: Promise<GpuProbeResults> | null = null

/**
 * The llama.node build to load: the probe's choice (CUDA only where its libraries load and
 * its kernels cover the GPU, then Vulkan, then the CPU), confirmed by the build itself
 * listing a GPU. reason says, for the engine info and the UI, why a better one was passed over.
 */
async function pickVariant(
  useGpu: boolean,
): Promise<{ variant: LibVariant; gpuName: string | null; backend: 'cuda' | 'vulkan' | 'metal' | 'cpu'; reason: string | null }> {
  if (!useGpu) return { variant: 'default', gpuName: null, backend: 'cpu', reason: null }
  probes ??= probeGpu(process.platform, process.arch)
  const choice = chooseVisionVariant(await probes, process.platform, process.arch, { cpuOnly: false })
  if (choice.backend === 'cpu') return { variant: 'default', gpuName: null, backend: 'cpu', reason: choice.reason }
  const devices = await getBackendDevicesInfo(choice.variant).catch(() => [])
  const gpu = devices.find((d) => d.type === 'gpu' || d.type === 'igpu')
  if (gpu) return { variant: choice.variant, gpuName: gpu.deviceName, backend: choice.backend, reason: choice.reason }
  return { variant: 'default', gpuName: null, backend: 'cpu', reason: `Running on CPU: llama.node's ${choice.variant} build found no GPU.` }
}

export async function loadVisionBackend(
  model: ModelFileInfo,
  mmproj: ModelFileInfo,
  request: LoadRequest,
  threads: number,
  guard: TextGuard,
): Promise<Backend> {
  const started = performance.now()
  const device = await pickVariant(request.gpu !== false)
  const allLayers = model.totalLayers + 1 // +1: the output layer
  const contextSize = contextSizeFor(model.trainContextSize, request.contextSize)
  const wanted =
    device.backend === 'cpu' ? 0 : request.gpuLayers === undefined || request.gpuLayers === 'auto' ? allLayers : request.gpuLayers
  // Out of memory on load: halve the offloaded layers, then run on the CPU, and say so.
  const loadedWith = await loadWithFallback([wanted, Math.floor(wanted / 2), 0], (layers) =>
    loadModel({
      model: model.path,
      n_ctx: contextSize,
      n_gpu_layers: Number(layers),
      n_threads: threads,
      n_parallel: 1,
      lib_variant: device.variant,
    }),
  )
  const loaded = loadedWith.value
  const gpuLayers = Number(loadedWith.layers)
  const fallback = [device.reason, loadedWith.fallback].filter(Boolean).join(' ') || null

  let ok = false
  let lastError: unknown = null
  try {
    // Room for the highest detail level, so the detail setting never needs a reload;
    // the prepared image's size decides the tokens each image actually takes.
    const maxTokens = mmproj.imageBudget && isProjectorBudget(mmproj.imageBudget) ? mmproj.imageBudget.mtmdImageMaxTokens : null
    ok = loaded.initMultimodal({ path: mmproj.path, use_gpu: gpuLayers > 0, ...(maxTokens ? { image_max_tokens: maxTokens } : {}) })
  } catch (error) {
    lastError = error
  }
  if (!ok || !loaded.getMultimodalSupport().vision) {
    await loaded.release()
    throw new AppError(
      'model-load-failed',
      `The vision projector ${mmproj.path} could not be initialised for this model${lastError ? ` (${describeLoadError(lastError)})` : ''}.`,
    )
  }
  // Completions go through llama.node's slot manager rather than completion(): its plain
  // completion() keeps a busy flag that a fast or failed completion can leave set for good
  // ("Another completion is in progress"), while the slot manager queues requests and
  // finishes each one, cancelled or failed, on its own thread. One slot: the manager picks
  // slots least-recently-used and cannot be told which, so two slots would alternate and a
  // conversation's follow-up would land on the slot that does not hold its history.
  if (!(await loaded.parallel.enable({ n_parallel: 1 }))) {
    await loaded.release()
    throw new AppError('model-load-failed', 'The vision model loaded, but llama.node could not start its request queue.')
  }
  const totalMs = Math.round(performance.now() - started)

  return {
    info: {
      modelPath: model.path,
      mmprojPath: mmproj.path,
      binding: 'llama.node',
      backend: gpuLayers > 0 ? backendName(device.backend) : 'cpu',
      gpuName: gpuLayers > 0 ? device.gpuName : null,
      gpuLayers,
      totalLayers: model.totalLayers,
      contextSize,
      vision: true,
      fallback,
      loadMs: totalMs,
      memory: {
        vramBytes: gpuLayers > 0 ? Math.round((model.weightBytes * gpuLayers) / allLayers + mmproj.weightBytes) : 0,
        ramBytes:
          gpuLayers > 0 ? Math.round((model.weightBytes * (allLayers - gpuLayers)) / allLayers) : model.weightBytes + mmproj.weightBytes,
      },
    },

    async generate(generation: BackendGeneration): Promise<BackendResult> {
      const { messages, sampling, signal, onTokens, tools, parallelToolCalls } = generation
      const forced = tools.kind === 'forced' ? tools.tools : null
      // auto: the model's jinja template lays out the tools, and llama.node returns the grammar
      // (lazy: it starts at the template's call marker) and the parser for its calls.
      const { prompt, mediaPaths, toolCalling } = formatPrompt(
        loaded,
        forced ? withToolNote(messages, forced) : messages,
        guard,
        tools.kind === 'auto' ? { tools: tools.tools, parallel: parallelToolCalls } : undefined,
      )
      const format = forced ? ({ type: 'json_schema', schema: forcedCallSchema(forced) } as const) : generation.format
      const tokenized = await loaded.tokenize(prompt, { media_paths: mediaPaths })
      const promptTokens = tokenized.tokens.length
      const imageTokens = countMediaTokens(promptTokens, tokenized.chunk_pos ?? [], tokenized.chunk_pos_media ?? [])
      // Refused up front with the numbers, never cut silently: the answer needs at least one token of room.
      if (promptTokens >= contextSize) throw contextOverflow(promptTokens, imageTokens, contextSize)
      const s = resolveSampling(sampling)
      // The longest answer the context has room for; reaching it is "context full", not "max tokens".
      const room = contextSize - promptTokens
      const limit = Math.min(s.maxTokens, room)
      if (signal.aborted) return { tokensIn: 0, tokensOut: 0, imageTokens, stopReason: 'cancelled' }
      // Tokens are counted here, from the callbacks: the slot manager delivers them and then
      // the result in order, but its result's tokens_predicted keeps counting across requests
      // after a cancel (1.7.15), so it is not used. A cancelled request's last tokens can
      // still arrive after it is stopped: the tap is closed then.
      let counted = 0
      let open = true
      // A forced call's JSON is the call, not text for the reader: collected, its tokens counted.
      let callText = ''
      // With the template's tools, the slot parses the answer as it grows: the reader gets its
      // content (token.content, the whole so far) and never the call markup the parser takes out.
      let shown = ''
      // A template that opens the thought itself (Qwen3-Thinking's, DeepSeek-R1's) leaves the
      // model to write only its end: the text gets the opening the prompt had, as llama-server
      // and node-llama-cpp give it, so every engine's answer holds its thought alike.
      let opening = !forced && !format && prompt.trimEnd().endsWith(THINK_OPEN) ? `${THINK_OPEN}\n` : ''
      const request = await loaded.parallel.completion(
        {
          prompt,
          media_paths: mediaPaths,
          n_predict: limit,
          stop: stopsFor(s.stop, format),
          ...llamaNodeSamplers(s),
          ...(format ? { grammar: grammarFor(loaded, format) } : {}),
          ...toolCalling,
          ...(toolCalling?.stop.length ? { stop: [...(s.stop ?? []), ...toolCalling.stop] } : {}),
        },
        (_id, token) => {
          if (!open) return
          counted++
          if (forced) {
            callText += token.token
            return onTokens('', 1)
          }
          if (!toolCalling) {
            onTokens(opening + token.token, 1)
            opening = ''
            return
          }
          const content = token.content ?? ''
          const added = content.startsWith(shown) ? content.slice(shown.length) : ''
          shown += added
          onTokens(added, 1)
        },
      )
      const stop = (): void => request.stop()
      signal.addEventListener('abort', stop, { once: true })
      try {
        // A stopped request rejects at once while the slot finishes on its own thread; the
        // slot manager queues the next request behind it, so nothing here waits or retries.
        const result = await request.promise.catch((error: unknown) => {
          if (signal.aborted) return null
          throw error
        })
        open = false
        if (!result || signal.aborted) return { tokensIn: promptTokens, tokensOut: counted, imageTokens, stopReason: 'cancelled' }
        const tokensOut = counted
        const stopReason: BackendResult['stopReason'] = result.stopped_word
          ? 'stop-sequence'
          : result.context_full || (tokensOut >= limit && limit < s.maxTokens)
            ? 'context-full'
            : tokensOut >= limit
              ? 'max-tokens'
              : 'eos'
        // Content the parser held back until the end (a marker that turned out to be text).
        if (toolCalling && result.content?.startsWith(shown) && result.content.length > shown.length)
          onTokens(result.content.slice(shown.length), 0)
        const forcedCall = forced ? parseForcedCall(callText) : null
        const toolCalls = forcedCall
          ? [forcedCall]
          : (result.tool_calls ?? []).map((call) => ({
              id: call.id || newCallId(),
              name: call.function.name,
              arguments: call.function.arguments,
            }))
        return {
          ...(toolCalls.length ? { toolCalls } : {}),
          tokensIn: promptTokens,
          cachedTokens: result.timings.cache_n ?? 0,
          tokensOut,
          imageTokens,
          stopReason,
        }
      } finally {
        open = false
        signal.removeEventListener('abort', stop)
      }
    },

    async countTokens(text: string): Promise<number> {
      return (await loaded.tokenize(text)).tokens.length
    },

    async dispose(): Promise<void> {
      loaded.releaseMultimodal()
      await loaded.release()
    },
  }
}

/**
 * The prompt as the model's template lays it out, with each image as a media chunk. Message
 * texts go through the guard, so only the template adds special tokens. A conversation that
 * ends with the assistant continues that answer (prefill): the template lays out the turns
 * before it with the assistant's opening, and the answer so far follows as plain text.
 * The engine has checked the order of the turns (checkTurns).
 */
export function formatPrompt(
  ctx: LlamaContext,
  messages: BackendMessage[],
  guard: TextGuard,
  tools?: { tools: ToolDefinition[]; parallel: boolean },
): { prompt: string; mediaPaths: string[]; toolCalling: ToolCallingOptions | null } {
  const prefill = messages.at(-1)?.role === 'assistant' ? messages.at(-1)! : null
  const turns = prefill ? messages.slice(0, -1) : messages
  const formatted = ctx.getFormattedChat(
    // OpenAI's message shape, as llama-server gets it: tool calls, images inline, an earlier thought apart.
    turns.map((m) => toServerMessage(m, guard)),
    undefined,
    {
      jinja: true,
      add_generation_prompt: true,
      ...(tools
        ? {
            tools: tools.tools.map((t) => ({
              type: 'function' as const,
              function: {
                name: t.name,
                description: guard(t.description ?? ''),
                parameters: guardStrings(t.parameters, guard) as JsonSchema,
              },
            })),
            tool_choice: 'auto',
            parallel_tool_calls: tools.parallel,
          }
        : {}),
    },
  )
  const toolCalling: ToolCallingOptions | null = tools
    ? {
        chat_format: formatted.chat_format ?? 0,
        chat_parser: formatted.chat_parser ?? '',
        generation_prompt: formatted.generation_prompt ?? '',
        ...(formatted.grammar
          ? {
              grammar: formatted.grammar,
              grammar_lazy: formatted.grammar_lazy ?? false,
              grammar_triggers: formatted.grammar_triggers ?? [],
              preserved_tokens: formatted.preserved_tokens ?? [],
            }
          : {}),
        stop: formatted.additional_stops ?? [],
      }
    : null
  return { prompt: formatted.prompt + (prefill ? guard(prefill.text) : ''), mediaPaths: formatted.media_paths ?? [], toolCalling }
}

/** What llama.node needs beside a preformatted prompt to constrain and parse the template's tool calls. */
type ToolCallingOptions = Pick<
  LlamaCompletionOptions,
  'chat_format' | 'chat_parser' | 'generation_prompt' | 'grammar' | 'grammar_lazy' | 'grammar_triggers' | 'preserved_tokens'
> & { stop: string[] }

/**
 * The answer's grammar, from llama.cpp's json-schema-to-grammar through llama.node's chat
 * formatting, then made exact: the chat formatter wraps the schema's rule to also accept the
 * assistant's opening and a ```json fence (for output it parses itself; we stream raw text),
 * llama.cpp's number rules take exponents of any length (1E99999 parses as Infinity, which no
 * schema number is), and its integers 16 digits (past 2^53). The root becomes the schema's rule
 * alone, and numbers and integers get the text path's rules (GRAMMAR_NUMBER, GRAMMAR_INTEGER).
 */
export function grammarFor(ctx: LlamaContext, format: AnswerFormat): string {
  const schema = format.type === 'json' ? { type: 'object' } : format.schema
  const formatted = ctx.getFormattedChat([{ role: 'user', content: '' }], undefined, {
    jinja: true,
    response_format: { type: 'json_schema', json_schema: { schema, strict: true } },
  })
  if (!formatted.grammar || !/^response-format ::= /m.test(formatted.grammar))
    throw new Error('llama.node did not build a grammar for this JSON schema in the form the engine expects.')
  return formatted.grammar
    .replace(/^root ::= .*$/m, 'root ::= response-format')
    .replace(/^integral-part ::= .*$/m, `integral-part ::= ${GRAMMAR_INTEGER}`)
    .replace(/^number ::= .*$/m, `number ::= ${GRAMMAR_NUMBER}`)
    .replace(/^json-number ::= .*$/m, `json-number ::= ${GRAMMAR_NUMBER}`)
}

/** chunk_pos lists where each chunk starts; the media chunks' lengths are their image tokens. */
function countMediaTokens(total: number, chunkPos: number[], mediaPos: number[]): number {
  const media = new Set(mediaPos)
  let count = 0
  chunkPos.forEach((start, i) => {
    if (media.has(start)) count += (chunkPos[i + 1] ?? total) - start
  })
  return count
}
