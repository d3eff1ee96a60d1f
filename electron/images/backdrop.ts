// What a transparent image is laid on before a model or the text reader sees it (neither takes
// transparency). White, as a page is, unless what the image shows is light: white text, a logo
// or a dark theme's asset on transparency, which white would erase to a blank picture.
import sharp, { type Sharp } from 'sharp'

/** Light content's share of luminance (alpha-weighted mean, 0-1) above which the backdrop is black. */
const LIGHT = 0.6
/** Pixels sampled: every 7th, enough for a mean, and a prime stride does not beat with a pattern's period. */
const STRIDE = 7

/** The backdrop for 8-bit RGBA pixels: black where the visible content is mostly light, else white. */
export function backdropOf(rgba: Uint8Array): '#ffffff' | '#000000' {
  let weight = 0
  let light = 0
  for (let i = 0; i + 3 < rgba.length; i += 4 * STRIDE) {
    const alpha = rgba[i + 3]!
    if (alpha === 0) continue
    weight += alpha
    light += alpha * (0.2126 * rgba[i]! + 0.7152 * rgba[i + 1]! + 0.0722 * rgba[i + 2]!)
  }
  return weight > 0 && light / weight / 255 > LIGHT ? '#000000' : '#ffffff'
}

/**
 * The pipeline's image laid on its backdrop, without alpha: its pixels are taken with their
 * alpha once (after whatever resize the pipeline holds), to choose the backdrop, and flattened
 * from there, so the image is not decoded twice.
 */
export async function onBackdrop(pipeline: Sharp): Promise<Sharp> {
  const { data, info } = await pipeline.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).flatten({ background: backdropOf(data) })
}

/** Width and height as displayed, after EXIF orientation 5-8 swaps them. */
export function orientedSize(meta: { width?: number; height?: number; orientation?: number }): { width: number; height: number } {
  const w = meta.width ?? 0
  const h = meta.height ?? 0
  return (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h }
}
