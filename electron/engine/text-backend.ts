// Text-only models through node-llama-cpp: GPU auto-selection, layer fitting, the
// model's own chat template, prefix reuse across turns.
import { LlamaChat, type ChatHistoryItem, type Llama, type LlamaContext } from 'node-llama-cpp'
import type { LoadRequest } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { ModelFileInfo } from './model-files.js'
import type { Backend, BackendGeneration, BackendMessage, BackendResult } from './types.js'
import { backendName, describeLoadError, loadWithFallback, type GpuLayers } from './gpu.js'

export async function loadTextBackend(llama: Llama, file: ModelFileInfo, request: LoadRequest, threads: number): Promise<Backend> {
  const started = performance.now()
  const attempts: GpuLayers[] = llama.gpu === false ? [0] : request.gpuLayers === undefined || request.gpuLayers === 'auto' ? ['auto', 0] : [request.gpuLayers, 'auto', 0]
  const { value: model, fallback } = await loadWithFallback(attempts, (gpuLayers) => llama.loadModel({ modelPath: file.path, gpuLayers }))

  let context: LlamaContext
  try {
    context = await model.createContext({
      contextSize: request.contextSize ? request.contextSize : { max: Math.min(8192, model.trainContextSize) },
      threads,
      ignoreMemorySafetyChecks: false,
    })
  } catch (error) {
    await model.dispose()
    throw new AppError('model-load-failed', `There is not enough memory for the model's context: ${describeLoadError(error)}`, { cause: error })
  }
  const sequence = context.getSequence()
  const chat = new LlamaChat({ contextSequence: sequence })
  const vram = await llama.getVramState()
  const gpuNames = llama.gpu === false ? [] : await llama.getGpuDeviceNames()

  const backend: Backend = {
    info: {
      modelPath: file.path,
      mmprojPath: null,
      binding: 'node-llama-cpp',
      backend: backendName(llama.gpu),
      gpuName: gpuNames[0] ?? null,
      gpuLayers: model.gpuLayers,
      totalLayers: file.totalLayers,
      contextSize: context.contextSize,
      vision: false,
      fallback,
      loadMs: Math.round(performance.now() - started),
      memory: { vramBytes: llama.gpu === false ? 0 : vram.used, ramBytes: model.size + context.stateSize },
    },

    async generate({ messages, sampling, signal, onTokens }: BackendGeneration): Promise<BackendResult> {
      const history = toHistory(messages)
      const meterBefore = sequence.tokenMeter.getState().usedOutputTokens
      let tokensOut = 0
      let pendingCount = 0
      const result = await chat.generateResponse(history, {
        maxTokens: sampling.maxTokens ?? 512,
        temperature: sampling.temperature ?? 0.7,
        topP: sampling.topP,
        topK: sampling.topK,
        seed: sampling.seed,
        customStopTriggers: sampling.stop,
        signal,
        stopOnAbortSignal: true,
        // Text chunks may lag tokens (multi-byte characters, stop-trigger look-ahead),
        // so tokens are counted here and reported with the next text that appears.
        onToken: (tokens) => {
          tokensOut += tokens.length
          pendingCount += tokens.length
        },
        onTextChunk: (chunk) => {
          onTokens(chunk, pendingCount)
          pendingCount = 0
        },
      })
      // node-llama-cpp holds back a token that might begin a stop trigger, and drops it when
      // the limit is reached: count from the sequence's meter, and report what was held.
      const generated = sequence.tokenMeter.getState().usedOutputTokens - meterBefore
      pendingCount += Math.max(0, generated - tokensOut)
      tokensOut = Math.max(tokensOut, generated)
      if (pendingCount > 0) onTokens('', pendingCount)
      const stopReason = result.metadata.stopReason
      return {
        tokensIn: Math.max(0, sequence.nextTokenIndex - tokensOut),
        tokensOut,
        imageTokens: 0,
        stopReason:
          stopReason === 'abort' ? 'cancelled' : stopReason === 'maxTokens' ? 'max-tokens' : stopReason === 'customStopTrigger' ? 'stop-sequence' : 'eos',
      }
    },

    async countTokens(text: string): Promise<number> {
      return model.tokenize(text).length
    },

    async dispose(): Promise<void> {
      chat.dispose()
      await context.dispose()
      await model.dispose()
    },
  }
  return backend
}

function toHistory(messages: BackendMessage[]): ChatHistoryItem[] {
  const last = messages.at(-1)
  if (!last || last.role !== 'user') throw new AppError('invalid-payload', 'The conversation must end with a user message.')
  return messages.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.text }
    if (m.role === 'user') return { type: 'user', text: m.text }
    return { type: 'model', response: [m.text] }
  })
}
