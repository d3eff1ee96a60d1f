import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { DEFAULT_BUDGET, prepareImage } from '../../electron/images/prepare.js'
import { AppError } from '../../electron/ipc/errors.js'
import { alphaPng, hugePng, rotatedJpeg, screenshotPng, solidPng, truncatedPng } from '../support/images.js'

describe('image preparation', () => {
  it('downscales a 4K screenshot to the projector budget, keeping the aspect ratio', async () => {
    const out = await prepareImage(await screenshotPng(3840, 2160), { maxSide: 896, maxPixels: 896 * 896 })
    expect(out).toMatchObject({ width: 896, height: 504, mime: 'image/jpeg' })
    const meta = await sharp(out.data).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 896, 504])
  })

  it('honours a pixel budget for dynamic-resolution projectors', async () => {
    const out = await prepareImage(await solidPng(4000, 1000), { maxSide: 4096, maxPixels: 1_000_000 })
    expect(out.width * out.height).toBeLessThanOrEqual(1_000_000)
    expect(out.width / out.height).toBeCloseTo(4, 1)
  })

  it('never upscales a small image', async () => {
    expect(await prepareImage(await solidPng(40, 30), DEFAULT_BUDGET)).toMatchObject({ width: 40, height: 30 })
  })

  it('applies EXIF orientation', async () => {
    expect(await prepareImage(await rotatedJpeg())).toMatchObject({ width: 100, height: 200 })
  })

  it('flattens transparency onto white', async () => {
    const out = await prepareImage(await alphaPng())
    const { data, info } = await sharp(out.data).raw().toBuffer({ resolveWithObject: true })
    expect(info.channels).toBe(3)
    expect(Math.min(...data)).toBeGreaterThan(240)
  })

  it('lays light content on transparency (white text, a logo) on black, so white does not erase it', async () => {
    const text = (fill: string): Buffer =>
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="60"><text x="10" y="42" font-family="DejaVu Sans" font-size="30" fill="${fill}">Quarterly report</text></svg>`,
      )
    for (const [fill, backdrop] of [
      ['#ffffff', 0],
      ['#202020', 255],
    ] as const) {
      const out = await prepareImage(new Uint8Array(await sharp(text(fill)).png().toBuffer()))
      const { channels } = await sharp(out.data).stats()
      // The corner is backdrop; the text stands out from it.
      const { data } = await sharp(out.data).extract({ left: 0, top: 0, width: 4, height: 4 }).raw().toBuffer({ resolveWithObject: true })
      expect(Math.abs(data[0]! - backdrop)).toBeLessThan(8)
      expect(channels[0]!.stdev).toBeGreaterThan(30)
    }
  })

  it.each([
    ['empty', async () => new Uint8Array(0), 'The image is empty (0 bytes).'],
    ['not an image', async () => new TextEncoder().encode('hello'), /^This file is not an image that can be read/],
    ['truncated', truncatedPng, /^The image could not be decoded; it may be corrupt or truncated/],
    ['a decompression bomb', async () => hugePng(20000), 'The image is too large: 20000x20000 is 400 megapixels; the limit is 100.'],
  ])('refuses an image that is %s with a clear error', async (_what, make, message) => {
    const error = await prepareImage(await make()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('bad-image')
    expect((error as AppError).message).toMatch(message)
  })
})
