// Text-only models through node-llama-cpp: GPU auto-selection, layer fitting, the
// model's own chat template, prefix reuse across turns.
import {
  LlamaChat,
  type ChatHistoryItem,
  type ChatModelFunctionCall,
  type ChatModelFunctions,
  type GbnfJsonSchema,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp'
import type { AnswerFormat, ToolDefinition } from '../ipc/contract.js'
import type { LoadRequest } from '../ipc/contract.js'
import { contextSizeFor } from '../ipc/defaults.js'
import { AppError } from '../ipc/errors.js'
import type { ModelFileInfo } from './model-files.js'
import type { Backend, BackendGeneration, BackendMessage, BackendResult, Lane } from './types.js'
import { backendName, describeLoadError, loadWithFallback, type GpuLayers } from './gpu.js'
import { nodeLlamaCppSamplers, resolveSampling } from './sampling.js'
import type { TextGuard } from './special-text.js'
import { contextOverflow } from './context-limit.js'
import { GRAMMAR_INTEGER, GRAMMAR_NUMBER, toGbnfJsonSchema } from './json-schema.js'
import { forcedCallSchema, guardStrings, newCallId, parseArguments, parseForcedCall, stopsFor, withToolNote } from './tools.js'
import { earlierThoughts, responseOf, ThoughtText, type EarlierThoughts } from './thought-segments.js'

/** The window and the local API each keep their own sequence, so neither evicts the other's cached prompt; the fit estimate counts them. */
export const LANES: readonly Lane[] = ['ui', 'api']

export async function loadTextBackend(
  llama: Llama,
  file: ModelFileInfo,
  request: LoadRequest,
  threads: number,
  guard: TextGuard,
): Promise<Backend> {
  const started = performance.now()
  const attempts: GpuLayers[] =
    llama.gpu === false
      ? [0]
      : request.gpuLayers === undefined || request.gpuLayers === 'auto'
        ? ['auto', 0]
        : [request.gpuLayers, 'auto', 0]
  const { value: model, fallback } = await loadWithFallback(attempts, (gpuLayers) => llama.loadModel({ modelPath: file.path, gpuLayers }))

  let context: LlamaContext
  try {
    context = await model.createContext({
      // A number is taken as asked (up to the training context); otherwise node-llama-cpp may shrink it to fit free memory.
      contextSize:
        request.contextSize !== undefined
          ? contextSizeFor(model.trainContextSize, request.contextSize)
          : { max: contextSizeFor(model.trainContextSize) },
      // Per sequence: each lane has the whole context size (node-llama-cpp sizes the KV cache for both).
      sequences: LANES.length,
      threads,
      ignoreMemorySafetyChecks: false,
    })
  } catch (error) {
    await model.dispose()
    throw new AppError('model-load-failed', `There is not enough memory for the model's context: ${describeLoadError(error)}`, {
      cause: error,
    })
  }
  const lanes = new Map(
    LANES.map((lane) => {
      const sequence = context.getSequence()
      return [lane, { sequence, chat: new LlamaChat({ contextSequence: sequence }) }] as const
    }),
  )
  const vram = await llama.getVramState()
  const gpuNames = llama.gpu === false ? [] : await llama.getGpuDeviceNames()

  const backend: Backend = {
    info: {
      modelPath: file.path,
      mmprojPath: null,
      binding: 'node-llama-cpp',
      // A GPU build that offloaded nothing (a Vulkan loader with no GPU behind it) runs on the CPU.
      backend: model.gpuLayers > 0 ? backendName(llama.gpu) : 'cpu',
      gpuName: model.gpuLayers > 0 ? (gpuNames[0] ?? null) : null,
      gpuLayers: model.gpuLayers,
      totalLayers: file.totalLayers,
      contextSize: context.contextSize,
      vision: false,
      fallback,
      loadMs: Math.round(performance.now() - started),
      memory: { vramBytes: llama.gpu === false ? 0 : vram.used, ramBytes: model.size + context.stateSize },
    },

    async generate(request: BackendGeneration): Promise<BackendResult> {
      const { messages, sampling, signal, onTokens, lane, tools, parallelToolCalls } = request
      const { sequence, chat } = lanes.get(lane)!
      const forced = tools.kind === 'forced' ? tools.tools : null
      const history = toHistory(forced ? withToolNote(messages, forced) : messages, guard, earlierThoughts(chat.chatWrapper))
      // auto: the chat wrapper documents the functions in the model's own format and parses its calls.
      const functions = tools.kind === 'auto' ? toFunctions(tools.tools, guard) : undefined
      // LlamaChat would drop the oldest history to make room without a word: count the
      // prompt as its chat wrapper lays it out and refuse, with the numbers, what does not fit.
      const prompt = promptTokens(chat, model, history, functions)
      const promptLength = prompt.length
      if (promptLength >= context.contextSize) throw contextOverflow(promptLength, 0, context.contextSize)
      const s = resolveSampling(sampling)
      const limit = Math.min(s.maxTokens, context.contextSize - promptLength)
      const meterBefore = sequence.tokenMeter.getState()
      let tokensOut = 0
      let pendingCount = 0
      // Continuing an answer: node-llama-cpp detokenizes the first new tokens without the
      // prompt before them, which drops a SentencePiece word's leading space ("assi" + "k"
      // where the model said " k"); those tokens are read again with the prompt as context.
      let firstTokens: Token[] | null = history.at(-1)?.type === 'model' ? [] : null
      const format = forced ? ({ type: 'json_schema', schema: forcedCallSchema(forced) } as const) : request.format
      const grammar = format ? await grammarFor(llama, format) : undefined
      // A forced call's JSON is the call, not text for the reader: collected, and only its tokens counted as they come.
      let callText = ''
      const last = history.at(-1)
      const lastPart = last?.type === 'model' ? last.response.at(-1) : undefined
      const thoughtText = new ThoughtText(typeof lastPart === 'object' && lastPart.type === 'segment' && !lastPart.ended)
      const result = await chat.generateResponse(history, {
        ...nodeLlamaCppSamplers(s),
        ...(grammar
          ? { grammar }
          : functions
            ? { functions, documentFunctionParams: true, ...(parallelToolCalls ? {} : { maxParallelFunctionCalls: 1 }) }
            : {}),
        maxTokens: limit,
        customStopTriggers: stopsFor(s.stop, format),
        signal,
        stopOnAbortSignal: true,
        // Text chunks may lag tokens (multi-byte characters, stop-trigger look-ahead),
        // so tokens are counted here and reported with the next text that appears. This
        // counts the answer's tokens; a thought's come with their chunks, below.
        onToken: (tokens) => {
          tokensOut += tokens.length
          pendingCount += tokens.length
          firstTokens?.push(...tokens)
        },
        onResponseChunk: (chunk) => {
          let text = chunk.text
          if (chunk.type === 'segment') {
            tokensOut += chunk.tokens.length
            pendingCount += chunk.tokens.length
          } else if (firstTokens) {
            text = withLeadingSpace(text, model.detokenize(firstTokens, false, prompt.slice(-16)))
            firstTokens = null
          }
          // A forced call is the answer's JSON alone, without a thought before it.
          if (forced && chunk.type !== 'segment') callText += text
          onTokens(forced ? '' : thoughtText.of({ ...chunk, text }), pendingCount)
          pendingCount = 0
        },
      })
      // node-llama-cpp holds back a token that might begin a stop trigger, and drops it when
      // the limit is reached: count from the sequence's meter, and report what was held.
      const meterAfter = sequence.tokenMeter.getState()
      const generated = meterAfter.usedOutputTokens - meterBefore.usedOutputTokens
      pendingCount += Math.max(0, generated - tokensOut)
      tokensOut = Math.max(tokensOut, generated)
      if (pendingCount > 0) onTokens('', pendingCount)
      const stopReason = result.metadata.stopReason
      const forcedCall = forced ? parseForcedCall(callText) : null
      const toolCalls = forcedCall
        ? [forcedCall]
        : (result.functionCalls ?? []).map((call) => ({
            id: newCallId(),
            name: call.functionName,
            arguments: JSON.stringify(call.params ?? {}),
          }))
      return {
        ...(toolCalls.length ? { toolCalls } : {}),
        tokensIn: promptLength,
        // The prompt tokens this sequence did not have to evaluate again.
        cachedTokens: Math.max(0, promptLength - (meterAfter.usedInputTokens - meterBefore.usedInputTokens)),
        tokensOut,
        imageTokens: 0,
        stopReason:
          stopReason === 'abort'
            ? 'cancelled'
            : stopReason === 'maxTokens'
              ? limit < s.maxTokens
                ? 'context-full'
                : 'max-tokens'
              : stopReason === 'customStopTrigger'
                ? 'stop-sequence'
                : 'eos',
      }
    },

    async countTokens(text: string): Promise<number> {
      return model.tokenize(text).length
    },

    async dispose(): Promise<void> {
      for (const { chat } of lanes.values()) chat.dispose()
      await context.dispose()
      await model.dispose()
    },
  }
  return backend
}

/** json: llama.cpp's JSON grammar, whose root is an object; json_schema: node-llama-cpp's builder, on a checked schema. */
async function grammarFor(llama: Llama, format: AnswerFormat): Promise<LlamaGrammar> {
  if (format.type === 'json') return llama.getGrammarFor('json')
  const built = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(toGbnfJsonSchema(format.schema) as GbnfJsonSchema)
  return llama.createGrammar({
    grammar: withSoundNumbers(built.grammar),
    stopGenerationTriggers: built.stopGenerationTriggers,
    trimWhitespaceSuffix: built.trimWhitespaceSuffix,
  })
}

/**
 * node-llama-cpp 3.21 lets an "integer" take an exponent of up to 16 digits, so 5e-3 (no
 * integer) and 1E99999 (Infinity once parsed) pass its grammar: integers get JSON's plain
 * integer syntax of at most 15 digits, and numbers an exponent small enough to stay finite
 * (the rules vision-backend.ts's grammarFor gives llama.cpp's grammar too).
 */
export function withSoundNumbers(grammar: string): string {
  return grammar
    .replace(/^integer-number-rule ::= .*$/m, `integer-number-rule ::= "-"? (${GRAMMAR_INTEGER})`)
    .replace(/^fractional-number-rule ::= .*$/m, `fractional-number-rule ::= ${GRAMMAR_NUMBER}`)
}

/** The first text of a continued answer, with the leading space its tokens have in context. */
export function withLeadingSpace(chunk: string, inContext: string): string {
  return /^\s/.test(inContext) && !/^\s/.test(chunk) && inContext.trimStart().startsWith(chunk.slice(0, 1))
    ? inContext.slice(0, inContext.length - inContext.trimStart().length) + chunk
    : chunk
}

/** The prompt's tokens as LlamaChat lays it out (with the empty answer it appends, whose opening is part of the prompt). */
export function promptTokens(chat: LlamaChat, model: LlamaModel, history: ChatHistoryItem[], functions?: ChatModelFunctions): Token[] {
  const laidOut: ChatHistoryItem[] = history.at(-1)?.type === 'model' ? history : [...history, { type: 'model', response: [] }]
  return chat.chatWrapper
    .generateContextState({ chatHistory: laidOut, ...(functions ? { availableFunctions: functions, documentFunctionParams: true } : {}) })
    .contextText.tokenize(model.tokenizer)
}

/** The tools as node-llama-cpp functions: their descriptions and schemas are client text, guarded like any other. */
function toFunctions(tools: ToolDefinition[], guard: TextGuard): ChatModelFunctions {
  return Object.fromEntries(
    tools.map((t) => [
      t.name,
      {
        ...(t.description ? { description: guard(t.description) } : {}),
        params: toGbnfJsonSchema(guardStrings(t.parameters, guard)) as GbnfJsonSchema,
      },
    ]),
  )
}

/**
 * A conversation ending with the assistant continues that answer: LlamaChat extends a last
 * model response. An answer's thought goes back as a thought segment where the chat wrapper
 * keeps it (thought-segments.ts). An assistant's tool calls become function calls in its response, each with
 * the result its tool message gave (node-llama-cpp keeps a call and its result together), so
 * after the results the model goes on with the same response, as its chat wrapper expects.
 */
export function toHistory(messages: BackendMessage[], guard: TextGuard, thoughts: EarlierThoughts = 'none'): ChatHistoryItem[] {
  const lastUser = messages.findLastIndex((m) => m.role === 'user')
  return messages.flatMap((m, i): ChatHistoryItem[] => {
    if (m.role === 'tool') return []
    if (m.role === 'system') return [{ type: 'system', text: guard(m.text) }]
    if (m.role === 'user') return [{ type: 'user', text: guard(m.text) }]
    // An answer is guarded in its parts (a thought apart from it).
    const response = responseOf(m.text, guard, thoughts, i > lastUser)
    if (!m.toolCalls) return [{ type: 'model', response }]
    const results = resultsAfter(messages, i, guard)
    const calls = m.toolCalls.map((call): ChatModelFunctionCall => ({
      type: 'functionCall',
      name: call.name,
      params: parseArguments(guard(call.arguments)),
      result: results.get(call.id)?.shift() ?? '',
    }))
    return [{ type: 'model', response: [...response.filter((part) => part !== ''), ...calls] }]
  })
}

/**
 * The results given for the calls of the assistant message at index i: the tool messages after
 * it, up to the next assistant message, in order for each id. Ids are the client's and may come
 * again in a later turn (some number each answer's calls from call_0): keyed over the whole
 * conversation, the first call took the last turn's result.
 */
function resultsAfter(messages: BackendMessage[], i: number, guard: TextGuard): Map<string, string[]> {
  const results = new Map<string, string[]>()
  for (const m of messages.slice(i + 1)) {
    if (m.role === 'assistant') break
    if (m.role !== 'tool') continue
    const given = results.get(m.toolCallId!) ?? []
    results.set(m.toolCallId!, [...given, guard(m.text)])
  }
  return results
}
