// Regions (regions.ts) on drawn images: the cells of a gridded table read as one region, though a
// small screen makes each cell a large share of its width; a menu bar's strip stays its own.
import { describe, expect, it } from 'vitest'
import type { RawImage } from '../../electron/ocr/paddle.js'
import { findRegions } from '../../electron/ocr/regions.js'

const TEXT_HEIGHT = 18

function canvas(width: number, height: number, rgb: number): RawImage {
  const data = new Uint8Array(width * height * 3).fill(rgb)
  return { data, width, height, channels: 3 }
}

function fill(image: RawImage, x0: number, y0: number, w: number, h: number, rgb: number): void {
  for (let y = y0; y < y0 + h; y++)
    for (let x = x0; x < x0 + w; x++) image.data.fill(rgb, (y * image.width + x) * 3, (y * image.width + x) * 3 + 3)
}

/** A 3 x 3 grid of bordered cells 22 px tall at (10, 14), columns 270, 150 and 190 px wide. */
function grid(image: RawImage): { x: number; y: number }[] {
  const widths = [270, 150, 190]
  const rights = [10]
  for (const w of widths) rights.push(rights[rights.length - 1]! + w)
  fill(image, 10, 14, 611, 67, 205)
  const cells: { x: number; y: number }[] = []
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) {
      fill(image, rights[col]! + 1, 14 + row * 22 + 1, widths[col]! - 1, 21, 255)
      cells.push({ x: rights[col]! + 8, y: 14 + row * 22 + 3 })
    }
  }
  return cells
}

describe('findRegions', () => {
  it('puts the text of every cell of a gridded table in one region', () => {
    const image = canvas(640, 120, 255)
    const cells = grid(image)
    const regions = findRegions(image, TEXT_HEIGHT)
    const ids = cells.map((cell) => regions.regionOf({ x: cell.x, y: cell.y, width: 50, height: 17 }))
    expect(ids, JSON.stringify(ids)).toEqual(ids.map(() => ids[0]))
  })

  it('keeps a menu bar strip apart from the window body under it', () => {
    const image = canvas(640, 200, 255)
    fill(image, 0, 0, 640, 24, 235)
    const regions = findRegions(image, TEXT_HEIGHT)
    const menu = regions.regionOf({ x: 10, y: 4, width: 30, height: 16 })
    const body = regions.regionOf({ x: 10, y: 100, width: 200, height: 16 })
    expect(menu).not.toBe(body)
  })
})
