// npm run bench:engine — the engine's figures on the generated tiny models, as JSON:
// full-stack throughput against the binding called directly, cancel latency, first-
// token overhead, load and image-encode times. Runs the variants side by side.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { getLlama, LlamaChat, LlamaLogLevel } from 'node-llama-cpp'
import { loadModel } from '@fugood/llama.node'
import { createRouter } from '../electron/ipc/router.js'
import { openModels } from '../electron/models/open-models.js'
import { createServices } from '../electron/services/services.js'
import { ChatStore } from '../electron/chats/store.js'
import { GenerationScheduler } from '../electron/engine/scheduler.js'
import { llamaNodeSamplers, nodeLlamaCppSamplers, resolveSampling } from '../electron/engine/sampling.js'
import { createApiController } from '../electron/api/controller.js'
import { openEngineSettings } from '../electron/engine/engine-settings.js'
import { CaptureService } from '../electron/capture/capture-service.js'
import { RecentModels } from '../electron/models/recent.js'
import type { GenerateRequest, GenerationStats } from '../electron/ipc/contract.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { startEngine } from '../test/support/engine.js'
import { solidPng } from '../test/support/images.js'
import { linkRenderer } from './renderer-link.js'
import {
  BUILD_HINT,
  findLlamaServer,
  llamaServerSamplers,
  startLlamaServer,
  streamChat,
  streamCompletion,
  type LlamaServer,
  type StreamedCompletion,
} from './llama-server.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const TOKENS = Number(process.env.BENCH_TOKENS ?? 2000)
const THREADS = 1 // the engine's default on this 2-core machine (one core left for the app)
const PROMPT = 'Describe what a local desktop assistant does, in detail.'
const sampling = { maxTokens: TOKENS, temperature: 0, seed: 11 }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

const fx = await ensureFixtures()

// --- llama-server, the same llama.cpp built on its own (npm run build:llama-server) ---
// Optional: without the cached binary the bench runs as before and says how to build it.
const llamaServerBin = await findLlamaServer()
if (!llamaServerBin.found) console.error(`bench:engine: vsLlamaServer skipped: ${llamaServerBin.reason}`)
// The -march=native build too, when there is one (1.6x the portable build's speed on this EPYC:
// AVX-512, which node-llama-cpp's prebuilt zen4 CPU variant also uses).
const nativeBin = llamaServerBin.found ? await findLlamaServer(true) : llamaServerBin
// The raw ChatML prompt, as llama.node is given below; /completion with the engine's samplers.
const chatmlPrompt = `<|im_start|>user\n${PROMPT}<|im_end|>\n<|im_start|>assistant\n`
interface ServerRun {
  tokensPerSecond: number
  firstTokenMs: number
  tokens: number
  serverTokensPerSecond: number | undefined
}
const serverRun = (r: StreamedCompletion): ServerRun => ({
  tokensPerSecond: r.tokensPerSecond,
  firstTokenMs: r.firstTokenMs,
  tokens: r.tokens,
  serverTokensPerSecond: r.timings?.predicted_per_second,
})
const viaLlamaServer = async (server: LlamaServer): Promise<ServerRun> =>
  serverRun(
    await streamCompletion(server, {
      prompt: chatmlPrompt,
      n_predict: TOKENS,
      cache_prompt: true,
      ...llamaServerSamplers(resolveSampling(sampling)),
    }),
  )
/** The same request through the chat endpoint, which the engine's own child is sent. */
const viaLlamaServerChat = async (server: LlamaServer): Promise<ServerRun> =>
  serverRun(
    await streamChat(server, {
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: TOKENS,
      cache_prompt: true,
      ...llamaServerSamplers(resolveSampling(sampling)),
    }),
  )
// The chat template and answer parsing as the engine's child runs them (--jinja, thoughts left in the text).
const startServer = async (bin: typeof llamaServerBin, mmproj?: string): Promise<LlamaServer | null> =>
  bin.found
    ? startLlamaServer({
        binary: bin.path,
        model: fx.textModel,
        mmproj,
        threads: THREADS,
        contextSize: 4096,
        extraArgs: ['--jinja', '--reasoning-format', 'none'],
      })
    : null

// --- the binding, called directly in this process ---------------------------------
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
const directModel = await llama.loadModel({ modelPath: fx.textModel, gpuLayers: 0 })
const directContext = await directModel.createContext({ contextSize: 4096, threads: THREADS })
const directChat = new LlamaChat({ contextSequence: directContext.getSequence() })

// The baseline streams the answer's text as any caller must (onTextChunk) and counts
// tokens (onToken). withoutText drops onTextChunk, for reference: node-llama-cpp's
// detokenizing and stop-trigger checks cost a few percent themselves.
async function direct(withoutText = false): Promise<{ tokensPerSecond: number; firstTokenMs: number }> {
  let tokens = 0
  let text = ''
  let firstAt: number | null = null
  const started = performance.now()
  await directChat.generateResponse([{ type: 'user', text: PROMPT }], {
    // The very samplers the engine passes, so both sides sample alike.
    ...nodeLlamaCppSamplers(resolveSampling(sampling)),
    maxTokens: TOKENS,
    onToken: (t) => {
      firstAt ??= performance.now()
      tokens += t.length
    },
    ...(withoutText ? {} : { onTextChunk: (chunk: string) => void (text += chunk) }),
  })
  if (!withoutText && text.length === 0) throw new Error('no text streamed')
  const end = performance.now()
  return { tokensPerSecond: (tokens - 1) / ((end - firstAt!) / 1000), firstTokenMs: firstAt! - started }
}

// --- the full stack: engine process -> main's router -> renderer (worker) ----------
// The engine runs from the built bundle, as in the app (npm run bench:engine builds first).
const engine = startEngine(undefined, true)
const scheduler = new GenerationScheduler(engine)
const benchDir = await mkdtemp(join(tmpdir(), 'bench-'))
// The API stays off in this benchmark (its settings' default), so nothing watches the engine's state.
const api = await createApiController({
  settingsPath: join(benchDir, 'api.json'),
  scheduler,
  engineState: () => engine.state(),
  watchEngineState: () => () => undefined,
})
const models = await openModels({ root: join(benchDir, 'models'), engine, pickModelFiles: async () => null, revealFile: () => undefined })
const router = createRouter({
  ...createServices({
    ...models,
    engine,
    scheduler,
    api,
    engineSettings: await openEngineSettings({ path: join(benchDir, 'engine.json') }),
    capture: new CaptureService(),
    recentModels: new RecentModels(join(benchDir, 'recent.json')),
    windows: {
      listWindows: async () => [],
      captureWindow: async () => Promise.reject(new Error('no windows here')),
      startRegion: () => undefined,
      regionFinished: () => undefined,
      hideQuickAsk: () => undefined,
      openInChat: () => undefined,
    },
    chats: new ChatStore(join(benchDir, 'chats')),
    appInfo: { name: 'bench', version: '0', platform: process.platform, electron: null },
    // The engine's own speed: no screenshots are read here (bench:ocr times the text layer).
    textLayer: null,
    remoteEngines: null,
  }),
  isTrustedSender: () => true,
})
const { renderer } = linkRenderer(router)

interface StackResult {
  tokens: number
  totalMs: number
  firstMs: number | null
  cancelToDoneMs: number | null
  stats: GenerationStats
}
function stack(request: GenerateRequest, cancelAfterTokens?: number): Promise<StackResult> {
  return new Promise((resolve, reject) => {
    renderer.once('message', (m: { kind: string } & StackResult & { error?: unknown }) =>
      m.kind === 'done' ? resolve(m) : reject(new Error(JSON.stringify(m.error))),
    )
    renderer.postMessage({ request, cancelAfterTokens })
  })
}
const stackTokensPerSecond = (r: StackResult): number => (r.tokens - 1) / ((r.totalMs - r.firstMs!) / 1000)

let loadStarted = performance.now()
const textInfo = await engine.load({ modelPath: fx.textModel, gpu: false })
const textLoadMs = performance.now() - loadStarted
const ask: GenerateRequest = { messages: [{ role: 'user', text: PROMPT }], sampling }

// Warm every path once, then alternate them so drift hits all alike.
const textServer = await startServer(llamaServerBin)
const textNativeServer = await startServer(nativeBin)
await direct()
await stack(ask)
if (textServer) await viaLlamaServer(textServer)
if (textNativeServer) await viaLlamaServer(textNativeServer)
const directRuns: { tokensPerSecond: number; firstTokenMs: number }[] = []
const tokensOnlyRuns: number[] = []
const stackRuns: StackResult[] = []
const textServerRuns: ServerRun[] = []
const textChatRuns: ServerRun[] = []
const textNativeRuns: ServerRun[] = []
for (let i = 0; i < RUNS; i++) {
  directRuns.push(await direct())
  stackRuns.push(await stack(ask))
  tokensOnlyRuns.push((await direct(true)).tokensPerSecond)
  if (textServer) textServerRuns.push(await viaLlamaServer(textServer))
  if (textServer) textChatRuns.push(await viaLlamaServerChat(textServer))
  if (textNativeServer) textNativeRuns.push(await viaLlamaServer(textNativeServer))
}
await textServer?.stop()
await textNativeServer?.stop()
const directTps = median(directRuns.map((r) => r.tokensPerSecond))
const stackTps = median(stackRuns.map(stackTokensPerSecond))
const textBindingTps =
  textInfo.binding === 'llama-server' && textServerRuns.length ? median(textServerRuns.map((r) => r.tokensPerSecond)) : directTps

// First token: the renderer's wait against the engine's own (binding) first token.
const firstTokenOverheads = stackRuns.map((r) => r.firstMs! - r.stats.timeToFirstTokenMs!)

const cancels: number[] = []
for (let i = 0; i < RUNS; i++) {
  const r = await stack({ ...ask, sampling: { ...sampling, maxTokens: 20_000 } }, 100)
  if (r.stats.stopReason !== 'cancelled') throw new Error(`cancel run ended with ${r.stats.stopReason}`)
  cancels.push(r.cancelToDoneMs!)
}

// Vision: load, image encode (first token with an image against without), tokens/s.
loadStarted = performance.now()
const visionInfo = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
const visionLoadMs = performance.now() - loadStarted
const image = await solidPng(1920, 1080, '#446688')
const withImage: number[] = []
const withoutImage: number[] = []
for (let i = 0; i < RUNS; i++) {
  // A new prompt each run defeats the prompt cache, so the image is encoded every time.
  const a = await stack({
    messages: [{ role: 'user', text: `${PROMPT} ${i}`, images: [{ bytes: image }] }],
    sampling: { ...sampling, maxTokens: 8 },
  })
  const b = await stack({ messages: [{ role: 'user', text: `${PROMPT} ${i} again` }], sampling: { ...sampling, maxTokens: 8 } })
  withImage.push(a.stats.timeToFirstTokenMs!)
  withoutImage.push(b.stats.timeToFirstTokenMs!)
}

// Throughput of the vision path against llama.node called directly, same prompt, alternating.
const direct2 = await loadModel({ model: fx.textModel, n_ctx: 4096, n_gpu_layers: 0, n_threads: THREADS })
const prompt = chatmlPrompt
async function directVision(): Promise<number> {
  let n = 0
  let firstAt = 0
  // The binding's plain completion() with the engine's samplers; the engine goes through its slot manager.
  await direct2.completion({ prompt, n_predict: TOKENS, ...llamaNodeSamplers(resolveSampling(sampling)) }, () => {
    if (n++ === 0) firstAt = performance.now()
  })
  return (n - 1) / ((performance.now() - firstAt) / 1000)
}
// llama-server with the mmproj loaded, the same text-only prompt.
const visionServer = await startServer(llamaServerBin, fx.mmproj)
const visionNativeServer = await startServer(nativeBin, fx.mmproj)
await directVision()
if (visionServer) await viaLlamaServer(visionServer)
if (visionNativeServer) await viaLlamaServer(visionNativeServer)
const llamaNodeTps: number[] = []
const visionTps: number[] = []
const visionServerRuns: ServerRun[] = []
const visionChatRuns: ServerRun[] = []
const visionNativeRuns: ServerRun[] = []
for (let i = 0; i < RUNS; i++) {
  llamaNodeTps.push(await directVision())
  visionTps.push(stackTokensPerSecond(await stack(ask)))
  if (visionServer) visionServerRuns.push(await viaLlamaServer(visionServer))
  if (visionServer) visionChatRuns.push(await viaLlamaServerChat(visionServer))
  if (visionNativeServer) visionNativeRuns.push(await viaLlamaServer(visionNativeServer))
}
await visionServer?.stop()
await visionNativeServer?.stop()
await direct2.release()

const serverSummary = (runs: ServerRun[]) => ({
  tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
  firstTokenMs: median(runs.map((r) => r.firstTokenMs)),
  tokens: median(runs.map((r) => r.tokens)),
  serverSide: median(runs.map((r) => r.serverTokensPerSecond ?? NaN)),
})
const vsLlamaServer = llamaServerBin.found
  ? (() => {
      // llama-server's faster endpoint of the two, run by run alongside ours: the ratio never flatters us.
      const faster = (a: ServerRun[], b: ServerRun[]) => {
        const [x, y] = [serverSummary(a), serverSummary(b)]
        return x.tokensPerSecond >= y.tokensPerSecond ? x : y
      }
      const text = faster(textServerRuns, textChatRuns)
      const vision = faster(visionServerRuns, visionChatRuns)
      return {
        // Ours over llama-server's: above 1 is faster than llama-server.
        textRatio: round(stackTps / text.tokensPerSecond, 3),
        visionRatio: round(median(visionTps) / vision.tokensPerSecond, 3),
        llamaServerTextTokensPerSecond: round(text.tokensPerSecond),
        llamaServerVisionTokensPerSecond: round(vision.tokensPerSecond),
        byEndpoint: {
          completion: {
            text: round(serverSummary(textServerRuns).tokensPerSecond),
            vision: round(serverSummary(visionServerRuns).tokensPerSecond),
          },
          chat: { text: round(serverSummary(textChatRuns).tokensPerSecond), vision: round(serverSummary(visionChatRuns).tokensPerSecond) },
        },
        fullStackTextTokensPerSecond: round(stackTps),
        fullStackVisionTokensPerSecond: round(median(visionTps)),
        // llama-server's own figure (timings.predicted_per_second), for reference.
        llamaServerTextServerSideTokensPerSecond: round(text.serverSide),
        llamaServerVisionServerSideTokensPerSecond: round(vision.serverSide),
        llamaServerTextFirstTokenMs: round(text.firstTokenMs, 2),
        llamaServerVisionFirstTokenMs: round(vision.firstTokenMs, 2),
        llamaServerTokensPerRun: { text: text.tokens, vision: vision.tokens },
        // The same against the -march=native build (LLAMA_SERVER_NATIVE=1 npm run build:llama-server).
        native: nativeBin.found
          ? (() => {
              const nText = serverSummary(textNativeRuns)
              const nVision = serverSummary(visionNativeRuns)
              return {
                textRatio: round(stackTps / nText.tokensPerSecond, 3),
                visionRatio: round(median(visionTps) / nVision.tokensPerSecond, 3),
                llamaServerTextTokensPerSecond: round(nText.tokensPerSecond),
                llamaServerVisionTokensPerSecond: round(nVision.tokensPerSecond),
                binary: nativeBin.path,
              }
            })()
          : { skipped: nativeBin.reason },
        method:
          `portable build (GGML_NATIVE off: AVX2, as CI would cache it); llama-server streamed over HTTP (SSE) on 127.0.0.1, -t ${THREADS} -c 4096 -np 1 --jinja, ` +
          'both /completion (the raw ChatML prompt) and /v1/chat/completions (the messages), the faster taken; ' +
          "the engine's samplers (greedy), tokens/s measured by the client from first token to end of stream; " +
          'vision: llama-server with --mmproj loaded, the same text-only prompt; alternated run by run with the full stack',
        binary: llamaServerBin.path,
        llamaCppCommit: llamaServerBin.commit,
      }
    })()
  : { skipped: `${llamaServerBin.reason}`, build: BUILD_HINT }

const report = JSON.stringify(
  {
    machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version, gpu: 'none' },
    runs: RUNS,
    tokensPerRun: TOKENS,
    threads: THREADS,
    textModel: {
      // llama-server (a child of the engine) where it is built, as on a user's CPU; else node-llama-cpp.
      binding: textInfo.binding,
      loadMs: round(textLoadMs),
      modelLoadMs: textInfo.loadMs,
      fullStackTokensPerSecond: round(stackTps),
      // Against the binding the engine used, called directly: llama-server alone, or node-llama-cpp.
      throughputRatio: round(stackTps / textBindingTps, 3),
      // node-llama-cpp called directly (LlamaChat), the text path before llama-server served it.
      nodeLlamaCppDirectTokensPerSecond: round(directTps),
      nodeLlamaCppTokensOnlyTokensPerSecond: round(median(tokensOnlyRuns)),
      nodeLlamaCppFirstTokenMs: round(median(directRuns.map((r) => r.firstTokenMs))),
      firstTokenOverheadMs: round(median(firstTokenOverheads), 2),
      cancelToDoneMs: round(median(cancels), 2),
      cancelToDoneMaxMs: round(Math.max(...cancels), 2),
    },
    visionModel: {
      binding: visionInfo.binding,
      loadMs: round(visionLoadMs),
      modelLoadMs: visionInfo.loadMs,
      firstTokenWithImageMs: round(median(withImage), 2),
      firstTokenWithoutImageMs: round(median(withoutImage), 2),
      imageEncodeMs: round(median(withImage) - median(withoutImage), 2),
      imageTokens: 16,
      directTokensPerSecond: round(median(llamaNodeTps)),
      fullStackTokensPerSecond: round(median(visionTps)),
      throughputRatio: round(median(visionTps) / median(llamaNodeTps), 3),
    },
    vsLlamaServer,
  },
  null,
  2,
)
// llama.node's native logs also go to stdout, so the report is printed last and saved.
await mkdir(new URL('./results/', import.meta.url), { recursive: true })
await writeFile(new URL('./results/engine.json', import.meta.url), report)
console.log(report)

await renderer.terminate()
await engine.dispose()
directChat.dispose()
await directContext.dispose()
await directModel.dispose()
process.exit(0)
