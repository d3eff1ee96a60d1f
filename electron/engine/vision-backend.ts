// Models with an mmproj, through @fugood/llama.node, which exposes llama.cpp's
// multimodal library (mtmd). node-llama-cpp 3.x has no mmproj API yet (its issue #88);
// when it does, this file is the one to replace.
import { getBackendDevicesInfo, loadModel, type LibVariant, type LlamaCompletionOptions, type LlamaCompletionResult, type LlamaContext } from '@fugood/llama.node'
import type { LoadRequest } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { backendName, describeLoadError, loadWithFallback } from './gpu.js'
import type { ModelFileInfo } from './model-files.js'
import type { Backend, BackendGeneration, BackendMessage, BackendResult } from './types.js'


/** GPU builds to try, best first; each is only used when it reports a GPU device. */
function candidateVariants(): LibVariant[] {
  if (process.platform === 'darwin') return [] // the default build uses Metal
  if (process.arch === 'x64') return ['cuda', 'vulkan']
  return ['vulkan']
}

async function pickVariant(useGpu: boolean): Promise<{ variant: LibVariant; gpuName: string | null; backend: 'cuda' | 'vulkan' | 'metal' | 'cpu' }> {
  if (useGpu) {
    for (const variant of candidateVariants()) {
      const devices = await getBackendDevicesInfo(variant).catch(() => [])
      const gpu = devices.find((d) => d.type === 'gpu' || d.type === 'igpu')
      if (gpu) return { variant, gpuName: gpu.deviceName, backend: variant === 'cuda' ? 'cuda' : 'vulkan' }
    }
    if (process.platform === 'darwin') {
      const devices = await getBackendDevicesInfo('default').catch(() => [])
      const gpu = devices.find((d) => d.type === 'gpu' || d.type === 'igpu')
      if (gpu) return { variant: 'default', gpuName: gpu.deviceName, backend: 'metal' }
    }
  }
  return { variant: 'default', gpuName: null, backend: 'cpu' }
}

export async function loadVisionBackend(model: ModelFileInfo, mmproj: ModelFileInfo, request: LoadRequest, threads: number): Promise<Backend> {
  const started = performance.now()
  const device = await pickVariant(request.gpu !== false)
  const allLayers = model.totalLayers + 1 // +1: the output layer
  const contextSize = request.contextSize ?? Math.min(8192, model.trainContextSize ?? 4096)
  const wanted = device.backend === 'cpu' ? 0 : request.gpuLayers === undefined || request.gpuLayers === 'auto' ? allLayers : request.gpuLayers
  // Out of memory on load: halve the offloaded layers, then run on the CPU, and say so.
  const loadedWith = await loadWithFallback([wanted, Math.floor(wanted / 2), 0], (layers) =>
    loadModel({ model: model.path, n_ctx: contextSize, n_gpu_layers: Number(layers), n_threads: threads, n_parallel: 1, lib_variant: device.variant }),
  )
  const loaded = loadedWith.value
  const gpuLayers = Number(loadedWith.layers)
  const fallback = loadedWith.fallback

  let ok = false
  let lastError: unknown = null
  try {
    ok = loaded.initMultimodal({ path: mmproj.path, use_gpu: gpuLayers > 0 })
  } catch (error) {
    lastError = error
  }
  if (!ok || !loaded.getMultimodalSupport().vision) {
    await loaded.release()
    throw new AppError('model-load-failed', `The vision projector ${mmproj.path} could not be initialised for this model${lastError ? ` (${describeLoadError(lastError)})` : ''}.`)
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
        vramBytes: gpuLayers > 0 ? Math.round(((model.weightBytes * gpuLayers) / allLayers) + mmproj.weightBytes) : 0,
        ramBytes: gpuLayers > 0 ? Math.round((model.weightBytes * (allLayers - gpuLayers)) / allLayers) : model.weightBytes + mmproj.weightBytes,
      },
    },

    async generate({ messages, sampling, signal, onTokens }: BackendGeneration): Promise<BackendResult> {
      const last = messages.at(-1)
      if (!last || last.role !== 'user') throw new AppError('invalid-payload', 'The conversation must end with a user message.')
      const chat = messages.map(toChatMessage)
      const formatted = loaded.getFormattedChat(chat, undefined, { jinja: true, add_generation_prompt: true })
      const prompt = formatted.prompt
      const mediaPaths = formatted.media_paths ?? []
      const tokenized = await loaded.tokenize(prompt, { media_paths: mediaPaths })
      const imageTokens = countMediaTokens(tokenized.tokens.length, tokenized.chunk_pos ?? [], tokenized.chunk_pos_media ?? [])
      if (tokenized.tokens.length >= contextSize) {
        throw new AppError('context-overflow', `The conversation needs ${tokenized.tokens.length} tokens (${imageTokens} for images); the context holds ${contextSize}. Start a new conversation or remove images.`)
      }
      const stop = () => loaded.stopCompletion()
      signal.addEventListener('abort', stop, { once: true })
      const maxTokens = sampling.maxTokens ?? 512
      const options: LlamaCompletionOptions = {
        prompt,
        media_paths: mediaPaths,
        n_predict: maxTokens,
        temperature: sampling.temperature ?? 0.7,
        // llama.node samples at random even at temperature 0 unless the seed is fixed.
        seed: sampling.seed ?? Math.floor(Math.random() * 2 ** 31),
        stop: sampling.stop,
      }
      if (sampling.topP !== undefined) options.top_p = sampling.topP
      if (sampling.topK !== undefined) options.top_k = sampling.topK
      try {
        if (signal.aborted) return { tokensIn: 0, tokensOut: 0, imageTokens, stopReason: 'cancelled' }
        // Token callbacks cross threads without blocking, so the last ones can land after
        // the completion resolves: drain them, close the tap, and reconcile from the result.
        let streamed = ''
        let counted = 0
        let open = true
        const result = await completeWhenFree(loaded, options, (token) => {
          if (!open) return
          streamed += token.token
          counted++
          onTokens(token.token, 1)
        })
        // Let callbacks already queued from the native thread run before closing the tap.
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
        open = false
        const missing = result.tokens_predicted - counted
        if (missing > 0) onTokens(result.text.startsWith(streamed) ? result.text.slice(streamed.length) : '', missing)
        // tokens_predicted leaves out the first sampled token on a fresh prompt; each callback is one token.
        const tokensOut = Math.max(counted, result.tokens_predicted)
        const stopReason = result.interrupted || signal.aborted ? 'cancelled' : tokensOut >= maxTokens ? 'max-tokens' : 'eos'
        return { tokensIn: tokenized.tokens.length, tokensOut, imageTokens, stopReason }
      } finally {
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
 * llama.node 1.7.15 marks a completion finished from its worker thread, through a callback
 * it sets only after queueing the worker: when a completion ends before that (fast models,
 * a busy machine), the context stays marked busy for good and refuses every completion
 * with "Another completion is in progress". Our engine runs one completion at a time, so
 * that refusal always means this state. Nothing in-process can clear it safely (the flag
 * points at a freed worker), so the engine process exits; main restarts it, reloads the
 * model and retries a request that had produced no token yet.
 */
async function completeWhenFree(ctx: LlamaContext, options: LlamaCompletionOptions, onToken: (token: { token: string }) => void): Promise<LlamaCompletionResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.completion(options, onToken)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('Another completion is in progress')) throw error
      if (attempt >= 20) {
        process.stderr.write('llama.node context stuck busy; restarting the engine process\n')
        process.exit(EXIT_WEDGED)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

/** Exit code of an engine process that restarts itself to recover (see completeWhenFree). */
export const EXIT_WEDGED = 75

function toChatMessage(m: BackendMessage): { role: string; content: string | { type: string; text?: string; image_url?: { url: string } }[] } {
  if (m.images.length === 0) return { role: m.role, content: m.text }
  return {
    role: m.role,
    content: [
      ...m.images.map((img) => ({ type: 'image_url', image_url: { url: `data:${img.mime};base64,${img.data.toString('base64')}` } })),
      { type: 'text', text: m.text },
    ],
  }
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

