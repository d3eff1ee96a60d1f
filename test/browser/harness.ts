// Runs the built renderer in Debian's Chromium against the real main-side services:
// the same router, services and engine process that main registers on IPC.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import sharp from 'sharp'
import { AppError } from '../../electron/ipc/errors.js'
import type { Browser, Page } from 'playwright-core'
import { chromiumMissing, launchChromium } from '../support/chromium.js'
import { STREAM_CANCEL, STREAM_START, type PushChannel, type PushEvents } from '../../electron/ipc/contract.js'
import { createRouter, type Router, type Sender } from '../../electron/ipc/router.js'
import { serveFolder } from '../support/static-server.js'
import { createServices, type WindowActions } from '../../electron/services/services.js'
import { CaptureService } from '../../electron/capture/capture-service.js'
import { openHotkeySettings, type HotkeySettings } from '../../electron/capture/hotkey-settings.js'
import { RecentModels } from '../../electron/models/recent.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import { createApiController, type ApiController } from '../../electron/api/controller.js'
import { engineStateFeed } from '../../electron/api/server.js'
import { openEngineSettings, type EngineSettingsStore } from '../../electron/engine/engine-settings.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { startEngine } from '../support/engine.js'
import { openModels, type Models } from '../../electron/models/open-models.js'
import type { Catalog } from '../../electron/ipc/contract.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { createTextLayer, type TextLayer } from '../../electron/ocr/text-layer.js'
import { createProcessReader } from '../../electron/ocr/process-reader.js'
import { nodeOcrSpawner } from '../../electron/ocr/spawn-node.js'
import { openOcrLanguages, type OcrLanguages } from '../../electron/ocr/language-service.js'
import { BUILT_IN_PACK, OCR_PACKS, type OcrPack } from '../../electron/ocr/languages.js'
import { defaultModelDir } from '../../electron/ocr/paddle.js'
import { openRemoteEngines, type RemoteEngines } from '../../electron/remote/engines.js'
import { startHubServer } from '../models/hub-server.js'
import type { FileServer } from '../models/file-server.js'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const RENDERER = join(ROOT, 'out/renderer')
export const ARTIFACTS = join(ROOT, 'test-results')

/** Why browser tests cannot run here, or null when they can. */
export function browserSkipReason(): string | null {
  const missing = chromiumMissing()
  if (missing) return missing
  if (!existsSync(join(RENDERER, 'index.html'))) return 'the renderer is not built (run npm run build)'
  return null
}

export const TEST_REPO = 'test-org/Tiny-VLM-GGUF'
/** The catalog the browser tests see: one entry, served by the stand-in hub. */
export const TEST_CATALOG: Catalog = {
  version: 1,
  recommended: 'tiny-vlm',
  entries: [
    {
      id: 'tiny-vlm',
      name: 'Tiny VLM',
      description: 'The generated test model with its projector.',
      repo: TEST_REPO,
      revision: 'main',
      licence: 'MIT',
      licenceUrl: 'https://opensource.org/license/mit',
      models: [{ file: 'tiny-vlm-F32.gguf', quantisation: 'F32', approxBytes: 600_000, sha256: null }],
      mmproj: { file: 'mmproj-tiny-vlm-F32.gguf', quantisation: 'F32', approxBytes: 100_000, sha256: null },
    },
  ],
}

export const TEST_OCR_REPO = 'test-org/ocr-packs'
/**
 * The text layer's language packs the browser tests see: the built-in ones (PP-OCRv4, and
 * tesseract's French, German and Polish), a Latin pack the
 * stand-in hub serves (the built-in recogniser's bytes under the pack's name: the plumbing,
 * not a real Latin model), and a Greek pack the hub does not have, whose size stays an estimate.
 */
export const TEST_OCR_PACKS: OcrPack[] = [
  OCR_PACKS.find((p) => p.id === BUILT_IN_PACK)!,
  OCR_PACKS.find((p) => p.id === 'fr-de-pl')!,
  ...(['latin', 'greek'] as const).map((id) => ({
    ...OCR_PACKS.find((p) => p.id === id)!,
    source: {
      repo: TEST_OCR_REPO,
      revision: 'main',
      model: `languages/${id}/rec.onnx`,
      dictionary: `languages/${id}/dict.txt`,
      approxBytes: 8_600_000,
    },
  })),
]

export const FAKE_WINDOWS = [
  { sourceId: 'window:101:0', name: 'Editor — main.ts', width: 1600, height: 1000, colour: '#224488' },
  { sourceId: 'window:102:0', name: 'Terminal', width: 1200, height: 700, colour: '#111111' },
]

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode)
  if (value && typeof value === 'object') {
    const bytes = (value as { __bytes?: unknown }).__bytes
    if (typeof bytes === 'string') return new Uint8Array(Buffer.from(bytes, 'base64'))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]))
  }
  return value
}

export interface Harness {
  origin: string
  dataDir: string
  chats: ChatStore
  capture: CaptureService
  /** What the services asked of the windows, in order. */
  windowCalls: string[]
  /** Sends a push event to every open page, as main does. */
  push<C extends PushChannel>(channel: C, payload: PushEvents[C]): void
  api: ApiController
  engineSettings: EngineSettingsStore
  engine: EngineClient
  textLayer: TextLayer
  /** The text layer's language packs; the system's languages are French, then English. */
  ocrLanguages: OcrLanguages
  remoteEngines: RemoteEngines
  models: Models
  /** The stand-in Hugging Face hub serving the fixture model as test-org/Tiny-VLM-GGUF. */
  hub: FileServer
  /** What the next import's file picker returns (null: the user cancelled). */
  pickFiles: string[] | null
  /** What the services asked to reveal in the file manager. */
  revealed: string[]
  /** The screenshot shortcut, registered at start as main does. */
  hotkey: HotkeySettings
  /** Stands in for globalShortcut: what the app holds, and what other applications hold (a test adds to it). */
  shortcuts: { held: Set<string>; taken: Set<string> }
  router: Router
  browser: Browser
  openApp(options?: {
    colorScheme?: 'light' | 'dark'
    page?: string
    viewport?: { width: number; height: number }
    deviceScaleFactor?: number
  }): Promise<Page>
  close(): Promise<void>
}

/** dataDir keeps conversations; pass the same one again to test a restart. */
export async function startHarness(dataDir?: string): Promise<Harness> {
  const server = await serveFolder(RENDERER)
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const pages = new Set<Page>()
  const push = <C extends PushChannel>(channel: C, payload: PushEvents[C]): void => {
    for (const page of pages)
      void page.evaluate(([c, p]) => window.__assistantEmit(c, p), [channel, payload] as const).catch(() => undefined)
  }
  // As in main: the windows and the API server (requests wait out a reload) both watch the engine's state.
  const engineStates = engineStateFeed()
  const engine = startEngine((state) => {
    push('engine:state', state)
    engineStates.publish(state)
  })
  seedUnseeded(engine)
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'lva-browser-')))
  const chats = new ChatStore(join(dir, 'chats'))
  const scheduler = new GenerationScheduler(engine)
  const capture = new CaptureService()
  const windowCalls: string[] = []
  const windows: WindowActions = {
    startRegion: () => void windowCalls.push('region:start'),
    regionFinished: (drawn) => void windowCalls.push(`region:${drawn ? 'drawn' : 'cancelled'}`),
    hideQuickAsk: () => void windowCalls.push('quick:hide'),
    openInChat: (chatId) => {
      windowCalls.push(`open:${chatId}`)
      push('chat:open', { chatId })
    },
    // Two windows "on screen", as desktopCapturer would list them.
    listWindows: async () =>
      Promise.all(
        FAKE_WINDOWS.map(async (w) => ({
          sourceId: w.sourceId,
          name: w.name,
          thumbnail: new Uint8Array(
            await sharp({ create: { width: 160, height: 100, channels: 3, background: w.colour } })
              .png()
              .toBuffer(),
          ),
        })),
      ),
    captureWindow: async (sourceId) => {
      const w = FAKE_WINDOWS.find((x) => x.sourceId === sourceId)
      if (!w) throw new AppError('not-found', 'That window is no longer open.')
      windowCalls.push(`window:${sourceId}`)
      const png = new Uint8Array(
        await sharp({ create: { width: w.width, height: w.height, channels: 3, background: w.colour } })
          .png()
          .toBuffer(),
      )
      return capture.set(png, { id: 1, bounds: { x: 0, y: 0, width: 3840, height: 2160 }, scaleFactor: 1 })
    },
  }
  // As main wires it: CPU only changes the Models page's fit estimates.
  const engineSettings = await openEngineSettings({
    path: join(dir, 'engine.json'),
    onChanged: (previous, next) => {
      if (previous.cpuOnly !== next.cpuOnly) push('models:changed', null)
    },
  })
  // The real recogniser, in a process of its own as in the app, with the language pack chosen (opened below).
  let ocrLanguages: OcrLanguages | null = null
  const textLayer = createTextLayer(
    createProcessReader(nodeOcrSpawner({ recogniser: () => ocrLanguages?.recogniser() ?? null }), {
      onReady: (status) => ocrLanguages?.reported(status),
    }),
  )
  const api = await createApiController({
    settingsPath: join(dir, 'api.json'),
    scheduler,
    engineState: () => engine.state(),
    watchEngineState: engineStates.watch,
    textLayer: { layer: textLayer, mode: () => engineSettings.view().settings.screenText },
  })
  // No keychain in tests: keys are kept for the session, as on a Linux desktop without one.
  // Short waits: a stand-in server that hangs is given up on in 2 s, not a real network's 10.
  const remoteEngines = await openRemoteEngines({
    path: join(dir, 'remote-engines.json'),
    secrets: () => null,
    engineOptions: { connectTimeoutMs: 2000, idleTimeoutMs: 15_000 },
  })
  const fx = await ensureFixtures()
  const [modelBytes, mmprojBytes, recModel, recKeys] = await Promise.all([
    readFile(fx.textModel),
    readFile(fx.mmproj),
    readFile(join(defaultModelDir(), 'ch_PP-OCRv4_rec_infer.onnx')),
    readFile(join(defaultModelDir(), 'ppocr_keys_v1.txt')),
  ])
  const hub = await startHubServer(
    {
      [TEST_REPO]: { 'tiny-vlm-F32.gguf': modelBytes, 'mmproj-tiny-vlm-F32.gguf': mmprojBytes },
      [TEST_OCR_REPO]: { 'languages/latin/rec.onnx': recModel, 'languages/latin/dict.txt': recKeys },
    },
    { listing: { 'languages/latin/dict.txt': 'git' } },
  )
  const revealed: string[] = []
  const state = { pickFiles: null as string[] | null }
  const models = await openModels({
    root: join(dir, 'models'),
    engine,
    hubUrl: hub.origin,
    catalog: TEST_CATALOG,
    ocrPacks: TEST_OCR_PACKS,
    cpuOnly: () => engineSettings.view().settings.cpuOnly,
    pickModelFiles: async () => state.pickFiles,
    revealFile: (path) => void revealed.push(path),
    onDownloadsChanged: (jobs) => push('downloads:changed', jobs),
    onLibraryChanged: () => {
      push('models:changed', null)
      void ocrLanguages?.refresh()
    },
    downloadOptions: { retries: 1, backoffMs: 50, progressIntervalMs: 100 },
  })
  ocrLanguages = await openOcrLanguages({
    path: join(dir, 'ocr-language.json'),
    modelsRoot: join(dir, 'models'),
    systemLanguages: () => ['es-ES', 'en-US'],
    hub: models.hub,
    packs: TEST_OCR_PACKS,
    onRecogniserChanged: () => textLayer.reload(),
    onChange: (view) => push('ocr:changed', view),
  })
  // globalShortcut stood in for: other applications hold what a test puts in `taken`.
  const shortcuts = { held: new Set<string>(), taken: new Set<string>() }
  const hotkey = await openHotkeySettings({ path: join(dir, 'hotkey.json'), platform: process.platform })
  hotkey.start(
    {
      register: (accelerator) => {
        if (shortcuts.taken.has(accelerator) || shortcuts.held.has(accelerator)) return false
        shortcuts.held.add(accelerator)
        return true
      },
      unregister: (accelerator) => void shortcuts.held.delete(accelerator),
    },
    () => undefined,
  )
  const router = createRouter({
    ...createServices({
      ...models,
      engine,
      scheduler,
      chats,
      api,
      engineSettings,
      capture,
      textLayer,
      ocrLanguages,
      remoteEngines,
      windows,
      hotkey,
      revealFile: (path) => void revealed.push(path),
      recentModels: new RecentModels(join(dir, 'recent-models.json')),
      appInfo: { name: 'Local Vision Assistant', version: 'test', platform: process.platform, electron: null },
    }),
    isTrustedSender: (url) => url.startsWith(`${origin}/`),
  })
  const bridgeScript = (
    await build({
      entryPoints: [join(ROOT, 'test/browser/page-bridge.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'chrome120',
      logLevel: 'silent',
    })
  ).outputFiles[0]!.text
  // A fake camera (a test pattern) that needs no prompt, for the camera tests.
  const browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'])
  let nextSenderId = 1

  return {
    origin,
    dataDir: dir,
    chats,
    capture,
    windowCalls,
    push,
    api,
    engineSettings,
    engine,
    textLayer,
    ocrLanguages,
    remoteEngines,
    models,
    hub,
    get pickFiles() {
      return state.pickFiles
    },
    set pickFiles(paths) {
      state.pickFiles = paths
    },
    revealed,
    hotkey,
    shortcuts,
    router,
    browser,
    async openApp({
      colorScheme = 'light',
      page: entry = 'index.html',
      viewport = { width: 1100, height: 760 },
      deviceScaleFactor = 1,
    } = {}) {
      const context = await browser.newContext({ colorScheme, viewport, deviceScaleFactor })
      const page = await context.newPage()
      const senderId = nextSenderId++
      // Events reach the page in order, as IPC delivers them.
      let delivery = Promise.resolve()
      const sender = (url: string, isMainFrame: boolean): Sender => ({
        id: senderId,
        url,
        isMainFrame,
        send: (channel, payload) => {
          delivery = delivery
            .then(() => page.evaluate(([c, p]) => window.__assistantEmit(c, p), [channel, payload] as const))
            .catch(() => undefined)
        },
      })
      await page.exposeBinding('__assistantCall', async ({ frame }, channel: string, payload: unknown) => {
        const from = sender(frame.url(), frame === page.mainFrame())
        const data = decode(payload)
        if (channel === STREAM_START) return router.startStream(from, data)
        if (channel === STREAM_CANCEL) return router.cancelStream(from, data)
        return router.invoke(from, channel, data)
      })
      await page.addInitScript({ content: bridgeScript })
      page.on('close', () => {
        pages.delete(page)
        router.releaseSender(senderId)
      })
      pages.add(page)
      await page.goto(`${origin}/${entry}`)
      return page
    },
    async close() {
      await models.downloads.close()
      await hub.close()
      await browser.close()
      await api.close()
      await textLayer.close()
      await engine.dispose()
      await new Promise((ok) => server.close(ok))
    },
  }
}

/** The window never sends a seed, so every answer would be drawn at random: a run that needs many
 *  tries on one machine would need few on another. Unseeded requests take the next seed of a
 *  fixed sequence instead, which makes a whole file's answers the same from run to run. */
function seedUnseeded(engine: EngineClient): void {
  const generate = engine.generate.bind(engine)
  let next = 1
  engine.generate = (request, ...rest) =>
    generate(request.sampling?.seed === undefined ? { ...request, sampling: { ...request.sampling, seed: next++ } } : request, ...rest)
}
