import { describe, expect, it } from 'vitest'
import { displayAt, physicalSize, quickAskBounds, selectionToCrop, type DisplayInfo } from '../../electron/capture/region.js'

// A laptop panel at 2x on the right, a 1x monitor to its left (negative x), a 1.5x monitor above (negative y).
const laptop: DisplayInfo = { id: 1, bounds: { x: 0, y: 0, width: 1440, height: 900 }, scaleFactor: 2 }
const left: DisplayInfo = { id: 2, bounds: { x: -1920, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 }
const above: DisplayInfo = { id: 3, bounds: { x: 0, y: -1440, width: 2560, height: 1440 }, scaleFactor: 1.5 }
const displays = [laptop, left, above]

describe('display under the cursor', () => {
  it('finds the display containing the point, negative origins included', () => {
    expect(displayAt({ x: 100, y: 100 }, displays).id).toBe(1)
    expect(displayAt({ x: -1, y: 500 }, displays).id).toBe(2)
    expect(displayAt({ x: -1920, y: 0 }, displays).id).toBe(2)
    expect(displayAt({ x: 2000, y: -1 }, displays).id).toBe(3)
  })

  it('picks the nearest display for a point in a gap', () => {
    expect(displayAt({ x: 1500, y: 200 }, displays).id).toBe(1)
    expect(displayAt({ x: -500, y: -300 }, displays).id).toBe(2)
  })

  it('knows each display’s physical size', () => {
    expect(physicalSize(laptop)).toEqual({ width: 2880, height: 1800 })
    expect(physicalSize(above)).toEqual({ width: 3840, height: 2160 })
  })
})

describe('selection to crop', () => {
  it('scales DIP to physical pixels on a 2x display', () => {
    expect(selectionToCrop({ x1: 100, y1: 50, x2: 300, y2: 250 }, laptop)).toEqual({ x: 200, y: 100, width: 400, height: 400 })
  })

  it('rounds outward on fractional scale factors, covering every touched pixel', () => {
    expect(selectionToCrop({ x1: 10.5, y1: 10.5, x2: 101, y2: 51 }, above)).toEqual({ x: 15, y: 15, width: 137, height: 62 })
  })

  it('accepts a rectangle drawn in any direction', () => {
    expect(selectionToCrop({ x1: 300, y1: 250, x2: 100, y2: 50 }, laptop)).toEqual({ x: 200, y: 100, width: 400, height: 400 })
  })

  it('clamps a drag that runs past the display’s edges', () => {
    expect(selectionToCrop({ x1: -50, y1: -50, x2: 5000, y2: 5000 }, left)).toEqual({ x: 0, y: 0, width: 1920, height: 1080 })
    expect(selectionToCrop({ x1: 1400, y1: 800, x2: 1600, y2: 1000 }, laptop)).toEqual({ x: 2800, y: 1600, width: 80, height: 200 })
  })

  it('treats a click or a sliver as no selection', () => {
    expect(selectionToCrop({ x1: 10, y1: 10, x2: 10, y2: 10 }, laptop)).toBeNull()
    expect(selectionToCrop({ x1: 10, y1: 10, x2: 11, y2: 300 }, left)).toBeNull()
    expect(selectionToCrop({ x1: 5000, y1: 10, x2: 6000, y2: 300 }, left)).toBeNull()
  })
})

describe('selection to crop, on an image letterboxed on the overlay', () => {
  // A portrait window (600 × 900) chosen on a 960 × 540 display: shown 360 × 540, centred, bars 300 wide each side.
  const screen: DisplayInfo = { id: 4, bounds: { x: 0, y: 0, width: 960, height: 540 }, scaleFactor: 1 }
  const portrait = { width: 600, height: 900 }

  it('maps through the picture where it is shown, not stretched over the display', () => {
    // 5/3 of the picture's pixels to each CSS pixel, either way.
    expect(selectionToCrop({ x1: 330, y1: 60, x2: 630, y2: 480 }, screen, portrait)).toEqual({ x: 50, y: 100, width: 500, height: 700 })
  })

  it('clamps a selection that runs into the bars to the picture', () => {
    expect(selectionToCrop({ x1: 100, y1: 100, x2: 400, y2: 400 }, screen, portrait)).toEqual({ x: 0, y: 166, width: 167, height: 501 })
    expect(selectionToCrop({ x1: 0, y1: 0, x2: 960, y2: 540 }, screen, portrait)).toEqual({ x: 0, y: 0, width: 600, height: 900 })
  })

  it('treats a selection wholly in a bar as no selection', () => {
    expect(selectionToCrop({ x1: 10, y1: 10, x2: 290, y2: 530 }, screen, portrait)).toBeNull()
    expect(selectionToCrop({ x1: 700, y1: 10, x2: 950, y2: 530 }, screen, portrait)).toBeNull()
  })

  it('letterboxes a wide image above and below', () => {
    // 1200 × 300 shown 960 × 240, 150 from the top.
    expect(selectionToCrop({ x1: 96, y1: 100, x2: 192, y2: 250 }, screen, { width: 1200, height: 300 })).toEqual({
      x: 120,
      y: 0,
      width: 120,
      height: 125,
    })
  })

  it('covers the whole capture of a display whose physical size was rounded', () => {
    const odd: DisplayInfo = { id: 5, bounds: { x: 0, y: 0, width: 1366, height: 768 }, scaleFactor: 1.25 }
    expect(physicalSize(odd)).toEqual({ width: 1708, height: 960 })
    expect(selectionToCrop({ x1: 0, y1: 0, x2: 1366, y2: 768 }, odd)).toEqual({ x: 0, y: 0, width: 1708, height: 960 })
  })
})

describe('quick-ask window placement', () => {
  it('centres near the top of the display, also one left of the primary', () => {
    expect(quickAskBounds(left)).toEqual({ x: -1280, y: 194, width: 640, height: 460 })
    expect(quickAskBounds({ id: 9, bounds: { x: 0, y: 0, width: 500, height: 400 }, scaleFactor: 1 })).toEqual({
      x: 16,
      y: 16,
      width: 468,
      height: 368,
    })
  })
})
