// Regions (regions.ts) on drawn images: the cells of a gridded table read as one region, though a
// small screen makes each cell a large share of its width; a menu bar's strip stays its own.
import { describe, expect, it } from 'vitest'
import type { RawImage } from '../../electron/ocr/paddle.js'
import { findRegions, NO_REGION } from '../../electron/ocr/regions.js'

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

  it("reads a dark table's every cell with the panel around it when downsampling breaks its grid and its border is a background of its own", () => {
    // A 1080p finance table as a dark app draws it: 1-px rules 30 levels above the page at odd
    // pixels (a half-size analysis blends them, and their crossings differ from both), cells the
    // page's colour. Its outer border was taken for a panel and its first and last columns read
    // apart from the cells between.
    const image = canvas(1920, 1080, 30)
    fill(image, 0, 0, 230, 1080, 40)
    const columns = [261, 465, 1035, 1221, 1675, 1879]
    const rows = Array.from({ length: 12 }, (_, i) => 253 + i * 26)
    for (const x of columns) fill(image, x, rows[0]!, 1, rows[rows.length - 1]! - rows[0]! + 1, 60)
    for (const y of rows) fill(image, columns[0]!, y, columns[columns.length - 1]! - columns[0]! + 1, 1, 60)
    const regions = findRegions(image, 17)
    for (const y of rows.slice(0, -1)) {
      const ids = columns.slice(0, -1).map((x) => regions.regionOf({ x: x + 8, y: y + 4, width: 50, height: 17 }))
      expect(ids, `row at ${y}: ${JSON.stringify(ids)}`).toEqual(ids.map(() => ids[0]))
      expect(ids[0]).not.toBe(NO_REGION)
    }
  })
})
