// The main-side services behind the IPC contract. Electron registers them on ipcMain;
// browser tests reach the same functions through the test bridge.
import type { AppInfo, CaptureInfo, Catalog, WindowSource } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { InvokeHandlers, StreamHandlers } from '../ipc/router.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { createChatService } from '../chats/chat-service.js'
import type { ChatStore } from '../chats/store.js'
import type { ApiController } from '../api/controller.js'
import type { EngineSettingsStore } from '../engine/engine-settings.js'
import type { CaptureService } from '../capture/capture-service.js'
import type { RecentModels } from '../models/recent.js'
import type { ModelService } from '../models/model-service.js'
import type { DownloadManager } from '../models/download-manager.js'
import type { Hub } from '../models/hub.js'
import type { TextLayer } from '../ocr/text-layer.js'
import type { RemoteEngines } from '../remote/engines.js'
import type { ScreenText } from '../ocr/types.js'
import type { OcrLanguages } from '../ocr/language-service.js'
import type { HotkeySettings } from '../capture/hotkey-settings.js'

export interface ServiceDeps {
  engine: EngineClient
  /** Shared with the local API server, so the window's requests go first. */
  scheduler: GenerationScheduler
  chats: ChatStore
  api: ApiController
  /** CPU only, threads and image detail, applied to every model load. */
  engineSettings: EngineSettingsStore
  capture: CaptureService
  recentModels: RecentModels
  models: ModelService
  downloads: DownloadManager
  hub: Hub
  catalog: Catalog
  windows: WindowActions
  appInfo: AppInfo
  /** Reads the text on images (absent where the recogniser cannot run). */
  textLayer: TextLayer | null
  /** Inference servers elsewhere, added in Settings (absent in tools that have none). */
  remoteEngines: RemoteEngines | null
  /** The text layer's language packs (absent in tools without a text layer). */
  ocrLanguages?: OcrLanguages | null
  /** Shows a file in the system's file manager (absent in tools that have none). */
  revealFile?: (path: string) => void
  /** The global screenshot shortcut chosen in Settings (absent in tools without one). */
  hotkey?: HotkeySettings | null
}

const NO_TEXT_LAYER: ScreenText = { status: 'failed', reason: 'The text layer is not available in this build.' }

/** What the capture flow asks of the windows; Electron's main implements it, tests record it. */
export interface WindowActions {
  /** The region overlay is done (cancelled or drawn): close it; after a region, show quick-ask. */
  /** Show the region overlay over the display the screenshot came from. */
  startRegion(): void
  regionFinished(drawn: boolean): void
  hideQuickAsk(): void
  openInChat(chatId: string): void
  /** The windows on screen that can be captured. */
  listWindows(): Promise<WindowSource[]>
  /** Captures one window at its native size and makes it the screenshot in hand. */
  captureWindow(sourceId: string): Promise<CaptureInfo>
}

export function createServices({
  engine,
  scheduler,
  chats,
  api,
  engineSettings,
  capture,
  recentModels,
  models,
  downloads,
  hub,
  catalog,
  windows,
  appInfo,
  textLayer,
  remoteEngines,
  ocrLanguages = null,
  revealFile,
  hotkey = null,
}: ServiceDeps): { invoke: InvokeHandlers; stream: StreamHandlers } {
  const remotes = (): RemoteEngines => {
    if (!remoteEngines) throw new AppError('not-found', 'Remote engines are not available here.')
    return remoteEngines
  }
  const languages = (): OcrLanguages => {
    if (!ocrLanguages) throw new AppError('not-found', 'The text layer is not available in this build.')
    return ocrLanguages
  }
  const shortcut = (): HotkeySettings => {
    if (!hotkey) throw new AppError('not-found', 'The screenshot shortcut is not available here.')
    return hotkey
  }
  const screenTextMode = () => engineSettings.view().settings.screenText
  const conversations = createChatService(chats, engine, scheduler, textLayer && { layer: textLayer, mode: screenTextMode }, remoteEngines)
  // A screenshot's text is read while the user types the question; a newer one stops that reading.
  capture.onCapture((png, replaced) => {
    if (textLayer && screenTextMode() !== 'never') void textLayer.read(png, { signal: replaced })
  })
  return {
    invoke: {
      'app:info': async () => appInfo,
      'engine:status': async () => engine.state(),
      'engine:load': async (request) => {
        const info = await engine.load(engineSettings.apply(request))
        await recentModels.add(info.modelPath, info.mmprojPath)
        return info
      },
      'models:recent': () => recentModels.list(),
      'models:library': () => models.library(),
      'models:catalog': async () => catalog,
      'models:import': ({ mode }) => models.import(mode),
      'models:delete': ({ path }) => models.delete(path),
      'models:reveal': ({ path }) => models.reveal(path),
      'models:search': ({ query }) => hub.search(query),
      'models:repo': ({ repo }) => hub.repoFiles(repo),
      'downloads:list': async () => downloads.list(),
      'downloads:start': (request) => downloads.start(request),
      'downloads:pause': ({ id }) => downloads.pause(id),
      'downloads:resume': ({ id }) => downloads.resume(id),
      'downloads:cancel': ({ id }) => downloads.cancel(id),
      'downloads:dismiss': ({ id }) => downloads.dismiss(id),
      'engine:unload': () => engine.unload(),
      'engine:cancel-load': async () => engine.cancelLoad(),
      'chats:list': ({ query }) => chats.list(query),
      'chats:get': ({ id }) => chats.get(id),
      'chats:create': async (request) => {
        const created = await chats.create(request)
        // A new conversation (quick-ask's too) goes to the engine last picked in the header.
        const engine = remoteEngines?.view().defaultEngine
        return engine ? chats.update(created.id, (c) => void (c.engine = engine)) : created
      },
      'chats:update': ({ id, title, systemPrompt, settings, engine }) => {
        // The engine must exist now; a removed one is said when the conversation is next answered.
        if (engine) remotes().generator(engine)
        return chats.update(id, (c) => {
          if (title !== undefined) c.title = title
          if (systemPrompt !== undefined) c.systemPrompt = systemPrompt
          if (settings !== undefined) c.settings = settings
          if (engine !== undefined) c.engine = engine
        })
      },
      'chats:delete': async ({ id }) => {
        await chats.delete(id)
        return null
      },
      'chats:image': ({ chatId, imageId }) => chats.image(chatId, imageId),
      'chats:damaged': () => chats.damagedConversations(),
      'chats:reveal-damaged': async ({ id }) => {
        if (!revealFile) throw new AppError('not-found', 'Files cannot be shown from here.')
        revealFile(await chats.damagedPath(id))
        return null
      },
      // Asked for explicitly (copy text), so read even with the text layer set to 'never'.
      'chats:image-text': async ({ chatId, imageId }) => {
        if (!textLayer) return NO_TEXT_LAYER
        const text = await textLayer.read(await chats.image(chatId, imageId))
        await chats.update(chatId, (c) => {
          for (const image of c.messages.flatMap((m) => m.images)) if (image.id === imageId) image.text = text
        })
        return text
      },
      'api:status': async () => api.status(),
      'api:configure': (change) => api.configure(change),
      'api:regenerate-key': () => api.regenerateKey(),
      'engineSettings:get': async () => engineSettings.view(),
      'engineSettings:set': (settings) => engineSettings.set(settings),
      'capture:latest': async () => capture.info(),
      'capture:bytes': async ({ id }) => capture.bytes(id),
      'capture:preview': ({ id }) => capture.preview(id),
      'capture:region': async ({ id, selection }) => {
        const info = await capture.crop(id, selection)
        windows.regionFinished(true)
        return info
      },
      'capture:start-region': async () => {
        if (!capture.info()) throw new AppError('not-found', 'Take a screenshot first.')
        windows.startRegion()
        return null
      },
      'capture:windows': () => windows.listWindows(),
      'capture:window': ({ sourceId }) => windows.captureWindow(sourceId),
      'capture:text': async ({ id }) => (textLayer ? textLayer.read(capture.bytes(id)) : NO_TEXT_LAYER),
      'capture:cancel': async () => {
        windows.regionFinished(false)
        return null
      },
      'quick:hide': async () => {
        windows.hideQuickAsk()
        return null
      },
      'hotkey:get': async () => shortcut().state(),
      'hotkey:set': (choice) => shortcut().set(choice),
      'engines:list': async () => remoteEngines?.view() ?? { engines: [], keyStorage: 'session', defaultEngine: null },
      'engines:add': (input) => remotes().add(input),
      'engines:update': (input) => remotes().update(input),
      'engines:remove': async ({ id }) => {
        await remotes().remove(id)
        // Its conversations go back to this computer (nothing leaves it), rather than failing on every question.
        for (const summary of await chats.list()) {
          const chat = await chats.get(summary.id)
          if (chat.engine?.id === id) await chats.update(chat.id, (c) => void (c.engine = null))
        }
        return null
      },
      'engines:test': ({ id }) => remotes().test(id),
      'engines:set-default': ({ engine }) => remotes().setDefault(engine),
      'ocr:languages': () => languages().list(),
      'ocr:set-language': ({ choice }) => languages().set(choice),
      'ocr:delete-language': ({ id }) => languages().delete(id),
      'quick:open-in-chat': async ({ chatId }) => {
        await chats.get(chatId)
        windows.openInChat(chatId)
        return null
      },
    },
    stream: {
      'chat:generate': (request, { signal }) => scheduler.generate('ui', request, signal),
      'chats:send': ({ captureId, ...request }, { signal }) =>
        conversations.send(
          {
            ...request,
            images: [...(captureId ? [{ bytes: capture.bytes(captureId), name: 'screenshot.png' }] : []), ...(request.images ?? [])],
          },
          signal,
        ),
      'chats:regenerate': (request, { signal }) => conversations.regenerate(request, signal),
      'chats:edit': (request, { signal }) => conversations.edit(request, signal),
    },
  }
}
