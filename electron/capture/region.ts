// Geometry of screenshots across displays: which display is under the cursor, and which
// physical pixels of its capture a rectangle drawn on the overlay covers. Displays are
// laid out in device-independent pixels (DIP), may sit left of or above the primary one
// (negative origins), and each has its own scale factor (HiDPI).

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

export interface DisplayInfo {
  id: number
  /** Position and size in DIP, in the desktop's coordinate space. */
  bounds: Rect
  scaleFactor: number
}

/** The display containing a point (DIP), or the nearest one when the point is in a gap. */
export function displayAt(point: { x: number; y: number }, displays: DisplayInfo[]): DisplayInfo {
  if (displays.length === 0) throw new Error('no displays')
  const inside = displays.find(
    (d) =>
      point.x >= d.bounds.x && point.x < d.bounds.x + d.bounds.width && point.y >= d.bounds.y && point.y < d.bounds.y + d.bounds.height,
  )
  if (inside) return inside
  const distance = (d: DisplayInfo): number => {
    const dx = Math.max(d.bounds.x - point.x, 0, point.x - (d.bounds.x + d.bounds.width - 1))
    const dy = Math.max(d.bounds.y - point.y, 0, point.y - (d.bounds.y + d.bounds.height - 1))
    return dx * dx + dy * dy
  }
  return displays.reduce((best, d) => (distance(d) < distance(best) ? d : best))
}

/** A display's size in physical pixels: what a full-resolution capture of it measures. */
export function physicalSize(display: DisplayInfo): { width: number; height: number } {
  return { width: Math.round(display.bounds.width * display.scaleFactor), height: Math.round(display.bounds.height * display.scaleFactor) }
}

/**
 * Where the overlay shows an image: as large as the display allows with its aspect kept, and
 * centred (CSS background-size: contain), so a window's capture or a region cut before is
 * letterboxed rather than stretched; a full capture fills the display. In the display's DIP
 * (the overlay's CSS pixels), with how many of the image's pixels each of those covers.
 */
export function shownImage(display: DisplayInfo, image: { width: number; height: number }): Rect & { pixelsPerDip: number } {
  const pixelsPerDip = Math.max(image.width / display.bounds.width, image.height / display.bounds.height)
  const width = image.width / pixelsPerDip
  const height = image.height / pixelsPerDip
  return { x: (display.bounds.width - width) / 2, y: (display.bounds.height - height) / 2, width, height, pixelsPerDip }
}

/**
 * The pixels of an image shown on the overlay that a selection covers. The overlay covers the
 * display exactly and shows the image on it as shownImage says: the selection (its CSS pixels,
 * the display's DIP) is clamped to the image as shown, bars excluded, and scaled by the image's
 * pixels per DIP (the display's scale factor for a full capture). The selection may be drawn in
 * any direction and past the edges.
 * Returns null for a selection too small to mean anything (a click, not a drag, one wholly in a
 * bar, or under a pixel of the image each way).
 */
export function selectionToCrop(
  selection: { x1: number; y1: number; x2: number; y2: number },
  display: DisplayInfo,
  image: { width: number; height: number } = physicalSize(display),
  minSize = 4,
): Rect | null {
  const shown = shownImage(display, image)
  const clampX = (v: number): number => Math.min(Math.max(v, shown.x), shown.x + shown.width)
  const clampY = (v: number): number => Math.min(Math.max(v, shown.y), shown.y + shown.height)
  const left = clampX(Math.min(selection.x1, selection.x2))
  const right = clampX(Math.max(selection.x1, selection.x2))
  const top = clampY(Math.min(selection.y1, selection.y2))
  const bottom = clampY(Math.max(selection.y1, selection.y2))
  if (right - left < minSize || bottom - top < minSize) return null
  const scale = shown.pixelsPerDip
  // Round outward so the crop covers every pixel the rectangle touched; a float's error in the
  // product (1.25 × 0.8 is not quite 1) is not a pixel touched.
  const x = Math.floor((left - shown.x) * scale + 1e-9)
  const y = Math.floor((top - shown.y) * scale + 1e-9)
  const width = Math.min(image.width, Math.ceil((right - shown.x) * scale - 1e-9)) - x
  const height = Math.min(image.height, Math.ceil((bottom - shown.y) * scale - 1e-9)) - y
  if (width < 1 || height < 1) return null
  return { x, y, width, height }
}

/** Where to open the quick-ask window: centred near the top of the display under the cursor. */
export function quickAskBounds(display: DisplayInfo, size = { width: 640, height: 460 }): Rect {
  const width = Math.min(size.width, display.bounds.width - 32)
  const height = Math.min(size.height, display.bounds.height - 32)
  return {
    x: Math.round(display.bounds.x + (display.bounds.width - width) / 2),
    y: Math.round(display.bounds.y + Math.min(display.bounds.height * 0.18, display.bounds.height - height - 16)),
    width,
    height,
  }
}
