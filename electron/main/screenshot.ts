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

export async function captureDisplay(display: DisplayInfo): Promise<Uint8Array> {
  // Without Screen Recording permission macOS returns the wallpaper alone: say so instead.
  if (process.platform === 'darwin' && systemPreferences.getMediaAccessStatus('screen') !== 'granted') {
    void shell.openExternal(MAC_SCREEN_RECORDING_SETTINGS)
    throw new AppError('permission-denied', 'macOS needs Screen Recording permission for screenshots. In System Settings › Privacy & Security › Screen Recording, turn on Local Vision Assistant, then restart it.')
  }
  const sources = await desktopCapturer.getSources({ types: ['screen'], thumbnailSize: physicalSize(display) })
  const source = sources.find((s) => s.display_id === String(display.id)) ?? (sources.length === 1 ? sources[0] : undefined)
  if (!source || source.thumbnail.isEmpty()) throw new AppError('permission-denied', 'The screen could not be captured. On Linux with Wayland, allow screen sharing when asked.')
  return new Uint8Array(source.thumbnail.toPNG())
}
