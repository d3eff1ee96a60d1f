// The region the user draws is cut from the image the overlay shows, whatever that image is:
// a full capture, a region cut before ("Select region" again), or a window's capture.
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { CaptureService } from '../../electron/capture/capture-service.js'
import type { DisplayInfo } from '../../electron/capture/region.js'

/** A PNG of vertical stripes, each `stripe` pixels wide, coloured by its index (red = index × 30). */
async function stripes(width: number, height: number, stripe: number): Promise<Uint8Array> {
  const data = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[(y * width + x) * 3] = Math.floor(x / stripe) * 30
  return new Uint8Array(
    await sharp(data, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  )
}

/** The red value of each stripe-wide column group of an image, left to right. */
async function stripeColours(png: Uint8Array, stripe: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
  const out: number[] = []
  for (let x = 0; x < info.width; x += stripe) out.push(data[x * info.channels]!)
  return out
}

describe('capture crops', () => {
  const hidpi: DisplayInfo = { id: 1, bounds: { x: 0, y: 0, width: 200, height: 100 }, scaleFactor: 2 }

  it('cuts a region of a region from what the overlay showed, not from the display it came from', async () => {
    const capture = new CaptureService()
    // 400×200 physical pixels, eight stripes of 50.
    const first = await capture.set(await stripes(400, 200, 50), hidpi)
    // The right half of the display: stripes 4-7, 200×200 pixels.
    const half = await capture.crop(first.id, { x1: 100, y1: 0, x2: 200, y2: 100 })
    expect([half.width, half.height]).toEqual([200, 200])
    expect(await stripeColours(capture.bytes(half.id), 50)).toEqual([120, 150, 180, 210])
    // Drawn again on that half, shown 100 × 100 in the middle of the display (bars of 50 each side):
    // its left half is stripes 4-5, and the drag's start in the left bar takes nothing of it.
    const quarter = await capture.crop(half.id, { x1: 0, y1: 0, x2: 100, y2: 100 })
    expect([quarter.width, quarter.height]).toEqual([100, 200])
    expect(await stripeColours(capture.bytes(quarter.id), 50)).toEqual([120, 150])
  })

  it('cuts a window capture, of its own size, by where the region falls on it', async () => {
    const capture = new CaptureService()
    const display: DisplayInfo = { id: 2, bounds: { x: 0, y: 0, width: 400, height: 200 }, scaleFactor: 1 }
    // A 300×200 window, four stripes of 75, shown at its size in the middle of the 400×200 display
    // (bars of 50 each side): its last stripe is at 275-350, and a drag on into the bar stops there.
    const window = await capture.set(await stripes(300, 200, 75), display)
    const right = await capture.crop(window.id, { x1: 275, y1: 0, x2: 400, y2: 200 })
    expect([right.width, right.height]).toEqual([75, 200])
    expect(await stripeColours(capture.bytes(right.id), 75)).toEqual([90])
  })
})
