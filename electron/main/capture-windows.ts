// The signature flow's windows: the global hotkey captures the display under the cursor,
// then shows a small always-on-top quick-ask window on that display; a region overlay
// covers the display when the user wants only part of it. Thin: logic lives in capture/.
import { BrowserWindow, globalShortcut, Menu, Tray, nativeImage } from 'electron'
import { join } from 'node:path'
import type { HotkeySettings } from '../capture/hotkey-settings.js'
import { quickAskBounds } from '../capture/region.js'
import { createCaptureFlow, followTrayMenu } from '../capture/capture-flow.js'
import type { CaptureService } from '../capture/capture-service.js'
import type { WindowActions } from '../services/services.js'
import type { PushChannel, PushEvents } from '../ipc/contract.js'
import { captureDisplay, captureWindow, displayUnderCursor, listWindows } from './screenshot.js'

/**
 * How long a hidden window may take to leave the screen: the compositor's next frames, or a
 * fade-out where the system animates hiding. Waited only when one of ours was showing.
 */
const SETTLE_MS = 150

export interface CaptureWindowsOptions {
  capture: CaptureService
  /** The screenshot shortcut chosen in Settings: registered here, once the app is ready. */
  hotkey: HotkeySettings
  loadPage(win: BrowserWindow, page: 'quick.html' | 'overlay.html'): void
  webPreferences: () => Electron.WebPreferences
  showChat(): BrowserWindow
  resources: string
  send<C extends PushChannel>(win: BrowserWindow, channel: C, payload: PushEvents[C]): void
  onError(message: string): void
}

export function createCaptureWindows(options: CaptureWindowsOptions): {
  windows: WindowActions
  /** Makes an image from elsewhere (a second launch's file) the image in hand and shows it in quick-ask. */
  showImage(png: Uint8Array): Promise<void>
  tray: Tray
  dispose(): void
} {
  let quick: BrowserWindow | null = null
  let overlay: BrowserWindow | null = null

  function quickWindow(): BrowserWindow {
    if (quick && !quick.isDestroyed()) return quick
    quick = new BrowserWindow({
      width: 640,
      height: 460,
      show: false,
      frame: false,
      resizable: true,
      alwaysOnTop: true,
      skipTaskbar: true,
      fullscreenable: false,
      title: 'Quick ask',
      webPreferences: options.webPreferences(),
    })
    quick.setAlwaysOnTop(true, 'floating')
    quick.on('blur', () => quick?.hide())
    options.loadPage(quick, 'quick.html')
    return quick
  }

  const flow = createCaptureFlow({
    capture: options.capture,
    windows: {
      hideAll() {
        const shown = Boolean(quick?.isVisible()) || Boolean(overlay && !overlay.isDestroyed())
        quick?.hide()
        overlay?.destroy()
        overlay = null
        return shown
      },
      showQuick(display) {
        const win = quickWindow()
        win.setBounds(quickAskBounds(display))
        const info = options.capture.info()
        if (info) options.send(win, 'capture:new', info)
        win.show()
        win.focus()
      },
      hideQuick() {
        quick?.hide()
      },
      openOverlay(display) {
        overlay?.destroy()
        const win = new BrowserWindow({
          ...display.bounds,
          show: false,
          frame: false,
          transparent: true,
          alwaysOnTop: true,
          skipTaskbar: true,
          enableLargerThanScreen: true,
          hasShadow: false,
          webPreferences: options.webPreferences(),
        })
        overlay = win
        win.setAlwaysOnTop(true, 'screen-saver')
        options.loadPage(win, 'overlay.html')
        win.once('ready-to-show', () => {
          if (!win.isDestroyed()) win.show()
        })
      },
      closeOverlay() {
        overlay?.destroy()
        overlay = null
      },
    },
    displayUnderCursor,
    captureDisplay,
    captureWindow,
    settle: () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS)),
    onError: options.onError,
  })

  const windows: WindowActions = {
    startRegion: flow.startRegion,
    regionFinished: flow.regionFinished,
    hideQuickAsk() {
      quick?.hide()
    },
    openInChat(chatId) {
      quick?.hide()
      const chat = options.showChat()
      options.send(chat, 'chat:open', { chatId })
    },
    // Quick-ask shows the list, so it is on screen then: listed, it would offer a picture of
    // the chooser itself. The chat window stays in the list, like any other app's.
    listWindows: () => listWindows([quick, overlay].flatMap((w) => (w && !w.isDestroyed() ? [w.getMediaSourceId()] : []))),
    captureWindow: flow.captureWindow,
  }

  const notRegistered = options.hotkey.start(
    {
      register: (accelerator, callback) => globalShortcut.register(accelerator, callback),
      unregister: (accelerator) => globalShortcut.unregister(accelerator),
    },
    () => void flow.askAboutScreen(),
  )
  if (notRegistered) options.onError(notRegistered)

  const tray = new Tray(
    nativeImage
      .createFromPath(join(options.resources, process.platform === 'darwin' ? 'trayTemplate.png' : 'icon.png'))
      .resize({ width: 16, height: 16 }),
  )
  tray.setToolTip('Local Vision Assistant')
  const stopFollowing = followTrayMenu(
    flow,
    options.hotkey,
    () => void options.showChat(),
    (items) => tray.setContextMenu(Menu.buildFromTemplate(items)),
  )

  return {
    windows,
    showImage: flow.showImage,
    tray,
    dispose() {
      stopFollowing()
      options.hotkey.stop()
      tray.destroy()
    },
  }
}
