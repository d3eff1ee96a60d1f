// The engine: one loaded model at a time, one generation at a time, behind one
// interface whatever binding serves the model.
import { availableParallelism } from 'node:os'
import { getLlama, LlamaLogLevel, type GbnfJsonSchema, type Llama } from 'node-llama-cpp'
import type { EngineInfo, GenerateChunk, LoadRequest, LibraryScan } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { prepareImage, preparedByRef } from '../images/prepare.js'
import { refOf } from '../images/prepared-cache.js'
import { DEFAULT_BUDGET, DEFAULT_DETAIL, withDetail, type ImageBudget } from '../images/budget.js'
import { ChunkQueue } from './chunk-queue.js'
import { defaultThreads, describeLoadError } from './gpu.js'
import { estimateFit, onCpu, readHardware } from './fit.js'
import { checkPair, inspectModelFile, specialSpellingsOf } from './model-files.js'
import { scanLibrary } from '../models/library.js'
import { loadTextBackend, withSoundNumbers } from './text-backend.js'
import { textGuard, type TextGuard } from './special-text.js'
import { toGbnfJsonSchema } from './json-schema.js'
import type {
  Backend,
  BackendImage,
  BackendMessage,
  BackendResult,
  Engine,
  EngineImage,
  EngineOptions,
  EngineRequest,
  Lane,
  TextBinding,
  VisionBinding,
} from './types.js'
import { toolMode } from './tools.js'
import { checkRequest } from './request-checks.js'
import { loadVisionBackend } from './vision-backend.js'
import { loadServerBackend } from './server-backend.js'
import type { ModelFileInfo } from './model-files.js'
import { firstTokenMs, tokensPerSecond } from './first-token.js'
import { createBindingChooser } from './binding-choice.js'
import { onVulkan, serverFit, startFailure, type ServerPlace } from './server-gpu.js'
import { slotsFor } from './server-args.js'
import { DeathCount } from './death-count.js'
import { relayBindingTestsToMain } from './binding-test-relay.js'
import type { AnswerFormat } from '../ipc/contract.js'
import type { LibraryOptions } from './types.js'

const VISION_BINDINGS: readonly VisionBinding[] = ['auto', 'llama.node', 'llama-server']
const TEXT_BINDINGS: readonly TextBinding[] = ['auto', 'node-llama-cpp', 'llama-server']
/** A binding named in the environment, when it is one of these; else auto. */
const bindingFrom = <T extends string>(value: string | undefined, known: readonly T[]): T | 'auto' =>
  known.includes(value as T) ? (value as T) : 'auto'

export function createEngine(options: EngineOptions = {}): Engine {
  const threads = options.threads ?? defaultThreads(availableParallelism())
  const llamas = new Map<string, Promise<Llama>>()
  let backend: Backend | null = null
  let budget: ImageBudget = DEFAULT_BUDGET
  // Why there is no model after the vision server died and could not be started again.
  let lostMessage: string | null = null
  const visionBinding = options.visionBinding ?? bindingFrom(process.env.ENGINE_VISION_BINDING, VISION_BINDINGS)
  const textBinding = options.textBinding ?? bindingFrom(process.env.ENGINE_TEXT_BINDING, TEXT_BINDINGS)
  const chooseBinding = createBindingChooser({ vision: visionBinding, text: textBinding })
  // Serialises load, unload and generate: the native contexts are not re-entrant.
  let queue: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task)
    queue = run.catch(() => undefined)
    return run
  }

  // build: 'never' — an app must not try to compile llama.cpp on a user's machine.
  const startLlama =
    options.getLlama ??
    ((gpu) => {
      // node-llama-cpp test-loads its binary in a process of its own, which in the packaged app
      // only the main process can start (binding-test-relay.ts); under Node this does nothing.
      relayBindingTestsToMain()
      return getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error, logger: (_level, message) => options.log?.(message) })
    })
  const llamaFor = (gpu: 'auto' | false): Promise<Llama> => {
    const key = String(gpu)
    let llama = llamas.get(key)
    if (!llama) {
      llama = startLlama(gpu)
      llama.catch(() => llamas.delete(key))
      llamas.set(key, llama)
    }
    return llama
  }
  /**
   * node-llama-cpp is started only where it is needed, and its failure (a missing system
   * runtime, an old glibc) stays its own: vision models run on llama.node without it, and
   * only text models and the fit estimates are refused, with the reason.
   */
  const optionalLlama = async (gpu: 'auto' | false): Promise<{ llama: Llama | null; problem: string | null }> => {
    try {
      return { llama: await llamaFor(gpu), problem: null }
    } catch (error) {
      const problem = `node-llama-cpp could not start on this machine (${describeLoadError(error)})`
      options.log?.(problem)
      return { llama: null, problem }
    }
  }

  /**
   * The exact grammar from node-llama-cpp's builder, as the text path uses it, for llama-server
   * to enforce. The builder ends a schema's answer with newlines that node-llama-cpp stops on
   * and trims; llama.cpp ends a finished grammar at the end-of-text token, so they go.
   */
  const grammarWith =
    (llama: Llama) =>
    async (format: AnswerFormat): Promise<string> => {
      if (format.type === 'json') return (await llama.getGrammarFor('json')).grammar
      const built = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(toGbnfJsonSchema(format.schema) as GbnfJsonSchema)
      return withSoundNumbers(built.grammar).replace(/^(root ::= .*?) "(\\n)+" \[\\n\]\*$/m, '$1')
    }

  /** What one load's llama-servers serve: the same for every start, a restart or a move to the CPU. */
  interface ServedModel {
    model: ModelFileInfo
    mmproj: ModelFileInfo | null
    request: LoadRequest
    threads: number
    guard: TextGuard
    llama: Llama | null
    /** Its servers' deaths: one that keeps dying is left stopped rather than started again for ever. */
    deaths: DeathCount
  }

  async function loadServer(served: ServedModel, place: ServerPlace): Promise<Backend> {
    const { model, mmproj, request, llama } = served
    const loaded = await loadServerBackend(model, mmproj, request, {
      binary: place.binary,
      threads: served.threads,
      guard: served.guard,
      ...(place.gpu ? { gpu: place.gpu } : {}),
      fallback: place.fallback,
      ...(llama ? { grammarFor: grammarWith(llama) } : {}),
      onOutput: (text) => void process.stderr.write(text),
    })
    // The server died on its own: answers in flight fail as a crash (the client retries or
    // keeps what was said) and the engine starts it again, queued before any next request. A
    // GPU server is started on the GPU once more (a driver reset passes); dying again, or not
    // starting, it gives way to the CPU build: a driver that fails on this model would
    // otherwise fail every question. The engine info says so.
    void loaded.lost.then((reason) => {
      if (backend !== loaded) return
      const gpu = place.gpu
      // This server's death is the second on this GPU.
      const toCpu = gpu !== undefined && gpu.deaths >= 1
      const giveUp = served.deaths.record()
      options.log?.(`llama-server ${reason}; ${giveUp ? 'not starting it again' : `starting it again${toCpu ? ' on the CPU' : ''}`}`)
      void exclusive(async () => {
        if (backend !== loaded) return
        backend = null
        if (giveUp) {
          lostMessage = `The ${mmproj ? 'vision engine' : 'engine'} (llama-server) ${reason}; it stopped ${served.deaths.limit} times within a minute, so it was not started again. Load the model again to retry.`
          options.onLost?.(lostMessage)
          return
        }
        try {
          if (!gpu) backend = await loadServer(served, place)
          else {
            const onCpu = (why: string): Promise<Backend> =>
              loadServer(served, { binary: gpu.cpuBinary, fallback: `llama-server on ${gpu.name} ${why}; the model runs on the CPU.` })
            backend = toCpu
              ? await onCpu(`${reason} twice`)
              : await loadServer(served, { ...place, gpu: { ...gpu, deaths: gpu.deaths + 1 } }).catch((error: unknown) =>
                  onCpu(`${reason} and could not be started again (${(error as Error).message.replace(/\s+/g, ' ').slice(0, 160)})`),
                )
          }
          lostMessage = null
          if (toCpu || backend.info.backend !== loaded.info.backend) options.onInfo?.(backend.info)
        } catch (error) {
          lostMessage = `The ${mmproj ? 'vision engine' : 'engine'} (llama-server) ${reason} and could not be started again: ${(error as Error).message}`
          options.log?.(lostMessage)
          options.onLost?.(lostMessage)
        }
      })
    })
    return loaded
  }

  async function unloadCurrent(): Promise<void> {
    const current = backend
    backend = null
    lostMessage = null
    budget = DEFAULT_BUDGET
    await current?.dispose()
  }

  return {
    load(request: LoadRequest): Promise<EngineInfo> {
      return exclusive(async () => {
        const { llama, problem } = await optionalLlama(request.gpu ?? 'auto')
        // Inspect both files before touching the loaded model, so a bad file keeps what works.
        const model = await inspectModelFile(request.modelPath, llama, 'model')
        const mmproj = request.mmprojPath ? await inspectModelFile(request.mmprojPath, llama, 'mmproj') : null
        if (mmproj) checkPair(model, mmproj)
        const choice = await chooseBinding(request, mmproj !== null, llama)
        if (!mmproj && !llama && !choice.binary)
          throw new AppError('model-load-failed', `Text models run on ${problem}. Vision models (with an mmproj) still work.`)
        const guard = textGuard(specialSpellingsOf(model))
        // node-llama-cpp fits text models itself; for the vision binding the estimate picks
        // the first number of layers to try (fewer and then none follow if that fails).
        let vision = request
        if (mmproj && !choice.gpu && llama && llama.gpu !== false && (request.gpuLayers ?? 'auto') === 'auto') {
          const fit = await estimateFit(llama, model, mmproj, { contextSize: request.contextSize }).catch(() => null)
          if (fit) vision = { ...request, gpuLayers: fit.gpuLayers }
        }
        await unloadCurrent()
        // Settings travel with each load: the user's thread count, else the engine's default.
        const loadThreads = request.threads ?? threads
        const inProcess = async (reason: string | null): Promise<Backend> =>
          withReason(
            mmproj
              ? await loadVisionBackend(model, mmproj, vision, loadThreads, guard)
              : await loadTextBackend(llama!, model, request, loadThreads, guard),
            reason,
          )
        if (!choice.binary) backend = await inProcess(choice.reason)
        else {
          try {
            const served = { model, mmproj, request, threads: loadThreads, guard, llama, deaths: new DeathCount(3, 60_000) }
            const gpu = choice.gpu
            backend = gpu
              ? await onVulkan(
                  typeof request.gpuLayers === 'number'
                    ? request.gpuLayers
                    : await serverFit(model, mmproj, request, llama, gpu.device, slotsFor(mmproj !== null)),
                  { binary: gpu.binary, name: gpu.device.name },
                  choice.binary,
                  (place) => loadServer(served, place),
                )
              : await loadServer(served, { binary: choice.binary, fallback: choice.onCpu ?? null })
          } catch (error) {
            // A build this machine cannot run (a CPU without the instructions it was built for
            // ends it with SIGILL) or a server that will not start here: the in-process binding
            // serves the model instead and the engine info says why, unless llama-server was asked for.
            if ((mmproj ? visionBinding : textBinding) === 'llama-server' || (!mmproj && !llama)) throw error
            const why = startFailure(error)
            options.log?.(`llama-server could not serve the model, using the in-process binding: ${why}`)
            backend = await inProcess(
              `llama-server could not start here (${why}); answers come from ${mmproj ? 'llama.node' : 'node-llama-cpp'}.`,
            )
          }
        }
        budget = withDetail(mmproj?.imageBudget ?? DEFAULT_BUDGET, request.imageDetail ?? DEFAULT_DETAIL)
        return backend.info
      })
    },

    unload(): Promise<void> {
      return exclusive(unloadCurrent)
    },

    info: () => backend?.info ?? null,

    // Reads files only, so it runs beside a generation instead of waiting for it.
    async library(root: string | null, linked: string[], { cpuOnly = false }: LibraryOptions = {}): Promise<LibraryScan> {
      const { llama } = await optionalLlama('auto')
      const library = await scanLibrary(root, (path) => inspectModelFile(path, llama), linked)
      // Without node-llama-cpp there is no fit estimate; the files are still listed.
      const found = llama ? await readHardware(llama).catch(() => null) : null
      // CPU only (Settings) loads with no layer on a GPU: the estimate is for the CPU and its memory.
      const hardware = found && cpuOnly ? onCpu(found) : found
      const models = []
      for (const entry of library.models) {
        const fit = llama && hardware ? await estimateFit(llama, entry.model, entry.mmproj, { hardware }).catch(() => null) : null
        models.push({ ...entry, linked: linked.includes(entry.model.path), fit })
      }
      return { root: root ?? '', models, orphanProjectors: library.orphanProjectors, problems: library.problems, hardware }
    },

    forgetImages(imageIds: string[]): Promise<void> {
      const forget = async (): Promise<void> => backend?.forgetImages?.(imageIds)
      // At once, beside an answer under way (another conversation's can take minutes), and again
      // once it is over: the deleted conversation's own answer, stopped as it was deleted, may
      // have been preparing these pictures then and written their files since.
      return Promise.all([forget(), exclusive(forget)]).then(() => undefined)
    },

    countTokens(text: string): Promise<number> {
      return exclusive(async () => {
        if (!backend) throw new AppError('no-model', lostMessage ?? 'No model is loaded.')
        return backend.countTokens(text)
      })
    },

    generate(request: EngineRequest, signal?: AbortSignal, lane: Lane = 'ui'): AsyncIterable<GenerateChunk> {
      return generateStream(request, signal ?? new AbortController().signal, lane)
    },
  }

  async function* generateStream(request: EngineRequest, signal: AbortSignal, lane: Lane): AsyncGenerator<GenerateChunk> {
    const chunks = new ChunkQueue<GenerateChunk>()
    const push = (chunk: GenerateChunk): void => chunks.push(chunk)
    const started = performance.now()
    let firstTokenAt: number | null = null

    const done = exclusive(async () => {
      const current = backend
      if (!current) throw new AppError('no-model', lostMessage ?? 'No model is loaded. Choose a model first.')
      checkRequest(request, current.info.vision)
      const messages: BackendMessage[] = []
      for (const m of request.messages) {
        const images = []
        for (const image of m.images ?? []) images.push(await prepared(image, budget))
        messages.push({
          role: m.role,
          text: m.text,
          images,
          ...(m.toolCalls ? { toolCalls: m.toolCalls } : {}),
          ...(m.toolCallId ? { toolCallId: m.toolCallId } : {}),
        })
      }
      let streamed = 0
      const result = await current
        .generate({
          messages,
          sampling: request.sampling ?? {},
          ...(request.format ? { format: request.format } : {}),
          tools: toolMode(request.tools, request.toolChoice),
          parallelToolCalls: request.parallelToolCalls ?? true,
          lane,
          signal,
          onTokens: (text, count) => {
            firstTokenAt ??= performance.now()
            streamed += count
            push({ kind: 'tokens', text, count })
          },
        })
        .catch((error: unknown) => {
          // A binding may throw instead of stopping when cancelled early: that is a stop, not a failure.
          if (!signal.aborted) throw error
          return { tokensIn: 0, tokensOut: streamed, imageTokens: 0, stopReason: 'cancelled' as const }
        })
      const totalMs = performance.now() - started
      const genMs = firstTokenAt === null ? null : performance.now() - firstTokenAt
      const { toolCalls, ...counts } = result as BackendResult
      push({
        kind: 'done',
        ...(toolCalls?.length ? { toolCalls } : {}),
        stats: {
          ...counts,
          timeToFirstTokenMs: firstTokenMs(started, firstTokenAt),
          tokensPerSecond: tokensPerSecond(result.tokensOut, genMs),
          totalMs: Math.round(totalMs),
        },
      })
    })
    done.then(
      () => chunks.end(),
      (error: unknown) => chunks.end(error),
    )
    yield* chunks
  }
}

/** An image ready for the model: prepared from its bytes, or the one kept for its reference. */
async function prepared(image: EngineImage, budget: ImageBudget): Promise<BackendImage> {
  if (image.bytes) {
    const source = image.ref ?? refOf(image.bytes)
    return { ...(await prepareImage(image.bytes, budget, source)), source }
  }
  const kept = await preparedByRef(image.ref, budget)
  if (!kept) throw new AppError('image-not-held', 'An earlier image is no longer kept prepared in the engine; it must be sent again.')
  return { ...kept, source: image.ref }
}

/** The same backend, its info naming why the model is not on llama-server. */
function withReason(backend: Backend, reason: string | null): Backend {
  if (!reason) return backend
  const info = { ...backend.info, bindingReason: reason }
  return {
    info,
    generate: (g) => backend.generate(g),
    countTokens: (t) => backend.countTokens(t),
    forgetImages: async (ids) => backend.forgetImages?.(ids),
    dispose: () => backend.dispose(),
  }
}
