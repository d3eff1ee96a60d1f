// Electron entry: windows, IPC registration and process wiring only. Logic lives in
// plain modules (ipc, engine, services) that run and are tested under Node.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, shell } from 'electron'
import { STREAM_CANCEL, STREAM_START, invokeChannelNames, type PushChannel, type PushEvents } from '../ipc/contract.js'
import { createRouter } from '../ipc/router.js'
import { EngineClient } from '../engine/client.js'
import { AppError } from '../ipc/errors.js'
import { GenerationScheduler } from '../engine/scheduler.js'
import { createApiController } from '../api/controller.js'
import { openEngineSettings } from '../engine/engine-settings.js'
import { engineStateFeed } from '../api/server.js'
import { ChatStore } from '../chats/store.js'
import { forgetPrepared } from '../images/prepared-cache.js'
import { createServices, type WindowActions } from '../services/services.js'
import { createTextLayer } from '../ocr/text-layer.js'
import { createProcessReader } from '../ocr/process-reader.js'
import { openOcrLanguages, type OcrLanguages } from '../ocr/language-service.js'
import { utilityOcrSpawner } from './ocr-process.js'
import { openRemoteEngines, type SecretBox } from '../remote/engines.js'
import { acquireDataLock } from '../services/data-lock.js'
import { imageFromCommandLine } from '../services/handover.js'
import { CaptureService } from '../capture/capture-service.js'
import { openHotkeySettings } from '../capture/hotkey-settings.js'
import { RecentModels } from '../models/recent.js'
import { openModels } from '../models/open-models.js'
import { createCaptureWindows } from './capture-windows.js'
import { utilityEngineSpawner } from './engine-process.js'
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, appPageUrl, createAppProtocolHandler } from './app-protocol.js'
import {
  CONTENT_SECURITY_POLICY,
  createOriginCheck,
  debuggingSwitches,
  hardenSession,
  ipcSender,
  isSafeExternalLink,
  lockDownContents,
  secureWebPreferences,
} from './security.js'

// A packaged app started with a remote-debugging switch ends before any window or service: a
// local process could otherwise drive its pages and their screen and camera grants.
if (app.isPackaged) {
  const refused = debuggingSwitches(process.argv, process.platform, (name) => app.commandLine.hasSwitch(name))
  if (refused.length > 0) {
    console.error(`Local Vision Assistant does not start with ${refused.map((name) => `--${name}`).join(' or ')}.`)
    app.exit(1)
  }
}

const here = fileURLToPath(new URL('.', import.meta.url))
const rendererDir = join(here, '../renderer')
const devServerUrl = process.env.ELECTRON_RENDERER_URL
const isOurs = createOriginCheck(app.isPackaged ? undefined : devServerUrl)
// Before app ready, and before the first await below: Chromium fixes its scheme table at startup.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }])
// One running app per data folder. A second launch hands its command line to this one
// ('second-instance' below) and ends here: before ready, app.exit ends the process at once.
if (!app.requestSingleInstanceLock()) app.exit(0)
// Whatever else would write this data folder (another copy of the app, a script) is refused
// too, before any service starts. The lock is released when the process exits.
try {
  await acquireDataLock(app.getPath('userData'), { soleInstance: true })
} catch (error) {
  dialog.showErrorBox('Local Vision Assistant', error instanceof Error ? error.message : String(error))
  app.exit(1)
}
const windows = new Set<BrowserWindow>()

function broadcast<C extends PushChannel>(channel: C, payload: PushEvents[C]): void {
  for (const w of windows) if (!w.isDestroyed()) w.webContents.send(channel, payload)
}

const engineLog: string[] = []
/** The engine process keeps images prepared for the model here (see images/prepared-cache.ts). */
const preparedImages = join(app.getPath('userData'), 'prepared-images')
// Besides the windows, the API server watches the engine's state (requests wait out a reload).
const engineStates = engineStateFeed()
const engine = new EngineClient({
  spawn: utilityEngineSpawner(
    join(here, 'engine-host.js'),
    (text) => {
      engineLog.push(text)
      if (engineLog.length > 500) engineLog.splice(0, engineLog.length - 500)
    },
    { ENGINE_IMAGE_CACHE: preparedImages },
  ),
  onState: (state) => {
    broadcast('engine:state', state)
    engineStates.publish(state)
  },
})

const scheduler = new GenerationScheduler(engine)
const engineSettings = await openEngineSettings({
  path: join(app.getPath('userData'), 'engine.json'),
  // The Models page's fit estimates follow CPU only: it reads the library again.
  onChanged: (previous, next) => {
    if (previous.cpuOnly !== next.cpuOnly) broadcast('models:changed', null)
  },
})
// Screens are read in a process of their own (onnxruntime, one thread), so the engine keeps its cores,
// with the language pack chosen on the Models page (opened below, once the models folder is known).
let ocrLanguages: OcrLanguages | null = null
const textLayer = createTextLayer(
  createProcessReader(
    utilityOcrSpawner(join(here, 'ocr-host.js'), () => ocrLanguages?.recogniser() ?? null),
    { onReady: (status) => ocrLanguages?.reported(status), onLoadFailed: (why) => ocrLanguages?.loadFailed(why) },
  ),
)
const api = await createApiController({
  textLayer: { layer: textLayer, mode: () => engineSettings.view().settings.screenText },
  settingsPath: join(app.getPath('userData'), 'api.json'),
  scheduler,
  engineState: () => engine.state(),
  watchEngineState: engineStates.watch,
})
const capture = new CaptureService()
// Read now, registered once the app is ready (createCaptureWindows): globalShortcut works only then.
const hotkey = await openHotkeySettings({ path: join(app.getPath('userData'), 'hotkey.json'), platform: process.platform })
let captureUi: ReturnType<typeof createCaptureWindows> | null = null
// The capture windows exist once the app is ready; requests before that have nothing to act on.
const windowActions: WindowActions = {
  startRegion: () => captureUi?.windows.startRegion(),
  regionFinished: (drawn) => captureUi?.windows.regionFinished(drawn),
  hideQuickAsk: () => captureUi?.windows.hideQuickAsk(),
  openInChat: (chatId) => captureUi?.windows.openInChat(chatId),
  listWindows: async () => captureUi?.windows.listWindows() ?? [],
  captureWindow: async (sourceId) => {
    if (!captureUi) throw new AppError('busy', 'The app is still starting.')
    return captureUi.windows.captureWindow(sourceId)
  },
}
const models = await openModels({
  root: join(app.getPath('userData'), 'models'),
  engine,
  cpuOnly: () => engineSettings.view().settings.cpuOnly,
  pickModelFiles: async () => {
    const parent = BrowserWindow.getFocusedWindow() ?? chatWindow
    const options: Electron.OpenDialogOptions = {
      title: 'Import a model',
      buttonLabel: 'Import',
      properties: ['openFile', 'multiSelections'],
      filters: [{ name: 'GGUF models', extensions: ['gguf'] }],
    }
    const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options)
    return result.canceled ? null : result.filePaths
  },
  revealFile: (path) => shell.showItemInFolder(path),
  onDownloadsChanged: (jobs) => broadcast('downloads:changed', jobs),
  onLibraryChanged: () => {
    broadcast('models:changed', null)
    // A language pack may have just arrived.
    void ocrLanguages?.refresh()
  },
})
ocrLanguages = await openOcrLanguages({
  path: join(app.getPath('userData'), 'ocr-language.json'),
  modelsRoot: join(app.getPath('userData'), 'models'),
  // Asked when needed (after ready): the system's order of preference, e.g. ['fr-FR', 'en-US'].
  systemLanguages: () => app.getPreferredSystemLanguages(),
  hub: models.hub,
  onRecogniserChanged: () => textLayer.reload(),
  onChange: (view) => broadcast('ocr:changed', view),
})
const router = createRouter({
  ...createServices({
    ...models,
    engine,
    scheduler,
    api,
    engineSettings,
    capture,
    hotkey,
    textLayer,
    ocrLanguages,
    remoteEngines: await openRemoteEngines({
      path: join(app.getPath('userData'), 'remote-engines.json'),
      secrets: keychain,
      // The same image detail the engine on this computer loads with, applied to the next question.
      imageDetail: () => engineSettings.view().settings.imageDetail,
    }),
    windows: windowActions,
    recentModels: new RecentModels(join(app.getPath('userData'), 'recent-models.json')),
    // A deleted conversation's screenshots go from the prepared copies too, not only from its folder.
    chats: new ChatStore(join(app.getPath('userData'), 'chats'), { imagesGone: (ids) => forgetPrepared(preparedImages, ids) }),
    revealFile: (path) => shell.showItemInFolder(path),
    appInfo: { name: app.getName(), version: app.getVersion(), platform: process.platform, electron: process.versions.electron ?? null },
  }),
  isTrustedSender: isOurs,
  onError: (error, where) => console.error(`[ipc ${where}]`, error),
})

function registerIpc(): void {
  for (const channel of invokeChannelNames) {
    ipcMain.handle(channel, (event, payload: unknown) => router.invoke(ipcSender(event), channel, payload))
  }
  ipcMain.handle(STREAM_START, (event, payload: unknown) => router.startStream(ipcSender(event), payload))
  ipcMain.handle(STREAM_CANCEL, (event, payload: unknown) => router.cancelStream(ipcSender(event), payload))
}

const webPreferences = (): Electron.WebPreferences => secureWebPreferences(join(here, '../preload/index.cjs'))

function loadPage(win: BrowserWindow, page: string): void {
  windows.add(win)
  const id = win.webContents.id
  win.on('closed', () => {
    windows.delete(win)
    router.releaseSender(id)
  })
  win.webContents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) router.releaseSender(id)
  })
  if (devServerUrl && !app.isPackaged) void win.loadURL(new URL(page, devServerUrl).href)
  else void win.loadURL(appPageUrl(page))
}

let chatWindow: BrowserWindow | null = null

function showChatWindow(): BrowserWindow {
  if (!chatWindow || chatWindow.isDestroyed()) chatWindow = createChatWindow()
  chatWindow.show()
  chatWindow.focus()
  return chatWindow
}

function createChatWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 480,
    minHeight: 400,
    show: false,
    title: 'Local Vision Assistant',
    backgroundColor: '#1b1d22',
    icon: join(here, '../../resources/icon.png'),
    webPreferences: webPreferences(),
  })
  loadPage(win, 'index.html')
  win.once('ready-to-show', () => win.show())
  return win
}

app.on('web-contents-created', (_event, contents) => {
  lockDownContents(contents, isOurs, (url) => {
    if (isSafeExternalLink(url)) void shell.openExternal(url)
  })
})

app.whenReady().then(() => {
  protocol.handle(APP_SCHEME, createAppProtocolHandler(rendererDir, CONTENT_SECURITY_POLICY))
  hardenSession(session.defaultSession, isOurs, app.isPackaged ? undefined : devServerUrl)
  registerIpc()
  chatWindow = createChatWindow()
  captureUi = createCaptureWindows({
    capture,
    hotkey,
    loadPage,
    webPreferences,
    showChat: showChatWindow,
    resources: join(here, '../../resources'),
    send: (win, channel, payload) => win.webContents.send(channel, payload),
    onError: (message) => {
      const win = showChatWindow()
      void dialog.showMessageBox(win, { type: 'warning', message: 'Screenshot', detail: message })
    },
  })
  // macOS: a Dock click (or opening the app again) brings the chat window back. Not "when no
  // window exists": quick-ask's hidden window counts as one, and a window made here without
  // becoming chatWindow would be a second chat window beside the one showChatWindow makes.
  app.on('activate', () => {
    const win = showChatWindow()
    if (win.isMinimized()) win.restore()
  })
})

app.on('second-instance', (_event, argv, workingDirectory) => void handOver(argv, workingDirectory))

/** A second launch: focus this app, and an image file it names becomes the image in hand, shown in quick-ask. */
async function handOver(argv: string[], workingDirectory: string): Promise<void> {
  await app.whenReady()
  try {
    const image = await imageFromCommandLine(argv, workingDirectory)
    if (image && captureUi) {
      await captureUi.showImage(image.bytes)
      return
    }
    const win = showChatWindow()
    if (win.isMinimized()) win.restore()
  } catch (error) {
    const win = showChatWindow()
    void dialog.showMessageBox(win, {
      type: 'warning',
      message: 'Open image',
      detail: error instanceof Error ? error.message : String(error),
    })
  }
}

// The tray and the hotkey keep the app running with no window open.
app.on('window-all-closed', () => undefined)

app.on('will-quit', () => captureUi?.dispose())

app.on('before-quit', () => {
  void models.downloads.close()
  void api.close()
  void textLayer.close()
  void engine.dispose()
})

/**
 * The system keychain for remote engines' API keys, or null where there is none: on Linux
 * without a secret service Electron falls back to a fixed password ('basic_text'), which hides
 * nothing, so keys are then kept for the session only and Settings says so.
 */
function keychain(): SecretBox | null {
  if (!safeStorage.isEncryptionAvailable()) return null
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') return null
  return { encrypt: (plain) => safeStorage.encryptString(plain), decrypt: (sealed) => safeStorage.decryptString(sealed) }
}
