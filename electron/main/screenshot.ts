// Taking the screenshot: Electron's desktopCapturer at the display's native resolution.
import { desktopCapturer, screen, shell, systemPreferences, type Display } from 'electron'
import { AppError } from '../ipc/errors.js'
import { displayAt, physicalSize, type DisplayInfo } from '../capture/region.js'

export const toDisplayInfo = (d: Display): DisplayInfo => ({ id: d.id, bounds: d.bounds, scaleFactor: d.scaleFactor })

/** The display under the mouse pointer: where the user is looking. */
export function displayUnderCursor(): DisplayInfo {
  return displayAt(screen.getCursorScreenPoint(), screen.getAllDisplays().map(toDisplayInfo))
}

const MAC_SCREEN_RECORDING_SETTINGS = 'x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture'

async function checkPermission(): Promise<void> {
  // Without Screen Recording permission macOS returns the wallpaper alone: say so instead.
  if (process.platform === 'darwin' && systemPreferences.getMediaAccessStatus('screen') !== 'granted') {
    void shell.openExternal(MAC_SCREEN_RECORDING_SETTINGS)
    throw new AppError(
      'permission-denied',
      'macOS needs Screen Recording permission for screenshots. In System Settings › Privacy & Security › Screen Recording, turn on Local Vision Assistant, then restart it.',
    )
  }
}

export async function captureDisplay(display: DisplayInfo): Promise<Uint8Array> {
  await checkPermission()
  const sources = await desktopCapturer.getSources({ types: ['screen'], thumbnailSize: physicalSize(display) })
  const source = sources.find((s) => s.display_id === String(display.id)) ?? (sources.length === 1 ? sources[0] : undefined)
  if (!source || source.thumbnail.isEmpty())
    throw new AppError('permission-denied', 'The screen could not be captured. On Linux with Wayland, allow screen sharing when asked.')
  return new Uint8Array(source.thumbnail.toPNG())
}

/** The windows that can be captured, with small thumbnails to recognise them by; those in `exclude` (by media source id) left out. */
export async function listWindows(exclude: readonly string[] = []): Promise<{ sourceId: string; name: string; thumbnail: Uint8Array }[]> {
  await checkPermission()
  const sources = await desktopCapturer.getSources({
    types: ['window'],
    thumbnailSize: { width: 320, height: 200 },
    fetchWindowIcons: false,
  })
  return sources
    .filter((s) => !s.thumbnail.isEmpty() && !exclude.includes(s.id))
    .map((s) => ({ sourceId: s.id, name: s.name, thumbnail: new Uint8Array(s.thumbnail.toPNG()) }))
}

/** One window at (up to) the resolution of the display under the cursor. */
export async function captureWindow(sourceId: string, display: DisplayInfo): Promise<Uint8Array> {
  await checkPermission()
  const sources = await desktopCapturer.getSources({ types: ['window'], thumbnailSize: physicalSize(display) })
  const source = sources.find((s) => s.id === sourceId)
  if (!source || source.thumbnail.isEmpty()) throw new AppError('not-found', 'That window is no longer open.')
  return new Uint8Array(source.thumbnail.toPNG())
}
