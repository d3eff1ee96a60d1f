// The screenshot in hand: what the hotkey captured (or a test supplied), and the region
// the user drew on it. Plain Node; Electron's desktopCapturer only feeds it bytes.
import { randomUUID } from 'node:crypto'
import sharp from 'sharp'
import type { CaptureInfo } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { selectionToCrop, type DisplayInfo } from './region.js'

interface Capture extends CaptureInfo {
  png: Uint8Array
  display: DisplayInfo
}

/** Told of each new image in hand, with a signal that fires when another replaces it. */
export type CaptureListener = (png: Uint8Array, replaced: AbortSignal) => void

export class CaptureService {
  private latest: Capture | null = null
  private listeners: CaptureListener[] = []
  private current: AbortController | null = null

  /** Work to start as soon as an image is in hand (the text layer reads it while the user types). */
  onCapture(listener: CaptureListener): void {
    this.listeners.push(listener)
  }

  private announce(png: Uint8Array): void {
    this.current?.abort()
    const current = new AbortController()
    this.current = current
    for (const listener of this.listeners) listener(png, current.signal)
  }

  /** Takes a full-display capture (PNG at the display's physical resolution). */
  async set(png: Uint8Array, display: DisplayInfo): Promise<CaptureInfo> {
    const meta = await sharp(png).metadata()
    this.latest = {
      id: randomUUID(),
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      displayId: display.id,
      scaleFactor: display.scaleFactor,
      png,
      display,
    }
    this.announce(png)
    return this.info()!
  }

  info(): CaptureInfo | null {
    if (!this.latest) return null
    const { id, width, height, displayId, scaleFactor } = this.latest
    return { id, width, height, displayId, scaleFactor }
  }

  /** The display the image in hand came from: the region overlay and quick-ask are placed on it. */
  display(): DisplayInfo | null {
    return this.latest?.display ?? null
  }

  bytes(id: string): Uint8Array {
    if (!this.latest || this.latest.id !== id) throw new AppError('not-found', 'That screenshot is no longer available; take a new one.')
    return this.latest.png
  }

  /** A small JPEG of the capture for the quick-ask window to show; the full image stays here. */
  async preview(id: string): Promise<Uint8Array> {
    const png = this.bytes(id)
    return new Uint8Array(await sharp(png).resize(640, 360, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer())
  }

  /** Crops the capture to a rectangle drawn on the overlay (CSS pixels of that display). */
  async crop(id: string, selection: { x1: number; y1: number; x2: number; y2: number }): Promise<CaptureInfo> {
    const capture = this.latest
    if (!capture || capture.id !== id) throw new AppError('not-found', 'That screenshot is no longer available; take a new one.')
    // The overlay shows this image (a full capture, a region cut before, or a window) fitted to the display, its aspect kept.
    const rect = selectionToCrop(selection, capture.display, capture)
    if (!rect) throw new AppError('invalid-payload', 'Drag a larger rectangle, or press Esc to cancel.')
    const region = { left: rect.x, top: rect.y, width: rect.width, height: rect.height }
    const png = new Uint8Array(await sharp(capture.png).extract(region).png().toBuffer())
    // The crop is what gets asked about; it keeps the display it came from.
    this.latest = { ...capture, id: randomUUID(), png, width: region.width, height: region.height }
    this.announce(png)
    return this.info()!
  }

  clear(): void {
    this.current?.abort()
    this.current = null
    this.latest = null
  }
}
