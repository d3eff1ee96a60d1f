// What the hotkey, the tray and quick-ask's buttons do with screenshots and the two capture
// windows, in plain Node: main's capture-windows.ts gives it Electron's windows and
// desktopCapturer, the tests give it recorders. The windows go on the display the image in
// hand came from, never on one remembered from an earlier screenshot: an image handed over by
// a second launch has a display of its own.
import type { CaptureInfo } from '../ipc/contract.js'
import type { CaptureService } from './capture-service.js'
import type { HotkeySettings } from './hotkey-settings.js'
import type { DisplayInfo } from './region.js'

/** The capture windows as the flow drives them. */
export interface CaptureFlowWindows {
  /** Hides quick-ask and closes the region overlay; true when either was on screen. */
  hideAll(): boolean
  /** Shows quick-ask, placed on the display. */
  showQuick(display: DisplayInfo): void
  hideQuick(): void
  /** Covers the display with the region overlay (a new one: an earlier one is closed). */
  openOverlay(display: DisplayInfo): void
  closeOverlay(): void
}

export interface CaptureFlowOptions {
  capture: CaptureService
  windows: CaptureFlowWindows
  displayUnderCursor(): DisplayInfo
  captureDisplay(display: DisplayInfo): Promise<Uint8Array>
  captureWindow(sourceId: string, display: DisplayInfo): Promise<Uint8Array>
  /** Waits until windows just hidden or closed have left the screen. */
  settle(): Promise<void>
  onError(message: string): void
}

export interface CaptureFlow {
  /**
   * The hotkey: captures the display under the pointer and shows quick-ask with it. False when
   * the capture failed (said through onError). A press while a capture is under way joins it.
   */
  askAboutScreen(): Promise<boolean>
  /** The tray's "Ask about a region…": a new screenshot, then the overlay over it; nothing more when the capture failed. */
  askAboutRegion(): Promise<void>
  /** Quick-ask's Select region: the overlay over the display the image in hand came from. */
  startRegion(): void
  /** The overlay is done (cancelled or drawn): closed; after a region, quick-ask shows it. */
  regionFinished(drawn: boolean): void
  /** Quick-ask's Choose window: one window captured and made the image in hand. */
  captureWindow(sourceId: string): Promise<CaptureInfo>
  /** An image from elsewhere (a file named by a second launch): made the image in hand, on the display under the pointer, and shown in quick-ask. */
  showImage(png: Uint8Array): Promise<void>
}

export function createCaptureFlow(options: CaptureFlowOptions): CaptureFlow {
  const { capture, windows } = options

  // A double press, or the tray clicked while the hotkey's capture runs, is one screenshot: a
  // second capture alongside the first would catch quick-ask as the first one shows it, and
  // whichever finished last (the first, when it waited for our windows to leave) would be the
  // image in hand, an older one over the newer.
  let capturing: Promise<boolean> | null = null

  function askAboutScreen(): Promise<boolean> {
    capturing ??= captureScreen().finally(() => {
      capturing = null
    })
    return capturing
  }

  async function captureScreen(): Promise<boolean> {
    try {
      const display = options.displayUnderCursor()
      // Our own windows leave the screen first, the region overlay too (the hotkey pressed
      // while it is open): else the capture is of them, and the overlay stays open over an
      // image that is no longer in hand. A window hidden is gone only after the compositor's
      // next frames.
      if (windows.hideAll()) await options.settle()
      await capture.set(await options.captureDisplay(display), display)
      windows.showQuick(display)
      return true
    } catch (error) {
      options.onError(error instanceof Error ? error.message : String(error))
      return false
    }
  }

  function startRegion(): void {
    const display = capture.display()
    if (!display) return
    windows.hideQuick()
    windows.openOverlay(display)
  }

  return {
    askAboutScreen,
    async askAboutRegion() {
      // A failed capture leaves the previous image in hand: no overlay over it.
      if (await askAboutScreen()) startRegion()
    },
    startRegion,
    regionFinished(drawn) {
      windows.closeOverlay()
      const display = capture.display()
      if (drawn && display) windows.showQuick(display)
    },
    async captureWindow(sourceId) {
      const display = capture.display() ?? options.displayUnderCursor()
      return capture.set(await options.captureWindow(sourceId, display), display)
    },
    async showImage(png) {
      const display = options.displayUnderCursor()
      await capture.set(png, display)
      // An overlay still open shows the image this one replaced.
      windows.closeOverlay()
      windows.showQuick(display)
    },
  }
}

/** The tray's menu, in the form Electron's Menu.buildFromTemplate takes. */
export type TrayMenuItem = { label: string; click: () => void } | { type: 'separator' } | { role: 'quit' }

/** The tray's menu, its first item naming the shortcut in force (none when it is off or could not be registered). */
export function trayMenu(flow: CaptureFlow, accelerator: string | null, openChat: () => void): TrayMenuItem[] {
  return [
    { label: accelerator ? `Ask about the screen (${accelerator})` : 'Ask about the screen', click: () => void flow.askAboutScreen() },
    { label: 'Ask about a region…', click: () => void flow.askAboutRegion() },
    { label: 'Open chat', click: openChat },
    { type: 'separator' },
    { role: 'quit' },
  ]
}

/**
 * Shows the tray's menu now and again whenever the shortcut in force changes in Settings, so it
 * never names one that no longer works. Returns the function that stops following it.
 */
export function followTrayMenu(
  flow: CaptureFlow,
  hotkey: Pick<HotkeySettings, 'state' | 'watch'>,
  openChat: () => void,
  show: (items: TrayMenuItem[]) => void,
): () => void {
  show(trayMenu(flow, hotkey.state().accelerator, openChat))
  return hotkey.watch((state) => show(trayMenu(flow, state.accelerator, openChat)))
}
