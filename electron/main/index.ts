// Electron entry: windows, IPC registration and process wiring only. Logic lives in
// plain modules (ipc, engine, services) that run and are tested under Node.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, ipcMain, session, shell, type IpcMainInvokeEvent } from 'electron'
import { STREAM_CANCEL, STREAM_START, invokeChannels, type PushChannel, type PushEvents } from '../ipc/contract.js'
import { createRouter, type Sender } from '../ipc/router.js'
import { EngineClient } from '../engine/client.js'
import { GenerationScheduler } from '../engine/scheduler.js'
import { createApiController } from '../api/controller.js'
import { ChatStore } from '../chats/store.js'
import { createServices } from '../services/services.js'
import { utilityEngineSpawner } from './engine-process.js'
import { createOriginCheck, hardenSession, isSafeExternalLink, lockDownContents } from './security.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const rendererDir = join(here, '../renderer')
const devServerUrl = process.env.ELECTRON_RENDERER_URL
const isOurs = createOriginCheck(app.isPackaged ? undefined : devServerUrl, rendererDir)
const windows = new Set<BrowserWindow>()

function broadcast<C extends PushChannel>(channel: C, payload: PushEvents[C]): void {
  for (const w of windows) if (!w.isDestroyed()) w.webContents.send(channel, payload)
}

const engineLog: string[] = []
const engine = new EngineClient({
  spawn: utilityEngineSpawner(join(here, 'engine-host.js'), (text) => {
    engineLog.push(text)
    if (engineLog.length > 500) engineLog.splice(0, engineLog.length - 500)
  }),
  onState: (state) => broadcast('engine:state', state),
})

const scheduler = new GenerationScheduler(engine)
const api = await createApiController({ settingsPath: join(app.getPath('userData'), 'api.json'), scheduler, engineState: () => engine.state() })
const router = createRouter({
  ...createServices({
    engine,
    scheduler,
    api,
    chats: new ChatStore(join(app.getPath('userData'), 'chats')),
    appInfo: { name: app.getName(), version: app.getVersion(), platform: process.platform, electron: process.versions.electron ?? null },
  }),
  isTrustedSender: isOurs,
  onError: (error, where) => console.error(`[ipc ${where}]`, error),
})

function senderOf(event: IpcMainInvokeEvent): Sender {
  const contents = event.sender
  return {
    id: contents.id,
    url: event.senderFrame?.url ?? '',
    send: (channel, payload) => {
      if (!contents.isDestroyed()) contents.send(channel, payload)
    },
  }
}

function registerIpc(): void {
  for (const channel of Object.keys(invokeChannels)) {
    ipcMain.handle(channel, (event, payload: unknown) => router.invoke(senderOf(event), channel, payload))
  }
  ipcMain.handle(STREAM_START, (event, payload: unknown) => router.startStream(senderOf(event), payload))
  ipcMain.handle(STREAM_CANCEL, (event, payload: unknown) => router.cancelStream(senderOf(event), payload))
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
    // Written out here, not built by a helper, so electronegativity can check each one.
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
    },
  })
  windows.add(win)
  const id = win.webContents.id
  win.on('closed', () => {
    windows.delete(win)
    router.releaseSender(id)
  })
  win.webContents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) router.releaseSender(id)
  })
  win.once('ready-to-show', () => win.show())
  if (devServerUrl && !app.isPackaged) void win.loadURL(devServerUrl)
  else void win.loadFile(join(rendererDir, 'index.html'))
  return win
}

app.on('web-contents-created', (_event, contents) => {
  lockDownContents(contents, isOurs, (url) => {
    if (isSafeExternalLink(url)) void shell.openExternal(url)
  })
})

app.whenReady().then(() => {
  hardenSession(session.defaultSession, isOurs, app.isPackaged ? undefined : devServerUrl)
  registerIpc()
  createChatWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createChatWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app.on('before-quit', () => {
  void api.close()
  void engine.dispose()
})
