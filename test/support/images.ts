// Real images the tests make: photos, screenshots, EXIF-rotated, alpha, corrupt, bombs.
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'

export async function solidPng(width: number, height: number, colour = '#3366cc'): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: colour } })
      .png({ compressionLevel: 1 })
      .toBuffer(),
  )
}

/** A screenshot-like image: bands of colour with sharp edges, so it is not trivially compressible. */
export async function screenshotPng(width = 3840, height = 2160): Promise<Uint8Array> {
  const raw = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      raw[i] = (x >> 4) & 0xff
      raw[i + 1] = (y >> 3) & 0xff
      raw[i + 2] = ((x ^ y) >> 5) & 0xff
    }
  }
  return new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 1 })
      .toBuffer(),
  )
}

/** A 200x100 JPEG whose EXIF says "rotate 90° clockwise", so it displays as 100x200. */
export async function rotatedJpeg(): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width: 200, height: 100, channels: 3, background: '#aa3300' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  )
}

export async function alphaPng(): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer(),
  )
}

/** A valid PNG cut in half. */
export async function truncatedPng(): Promise<Uint8Array> {
  const png = await screenshotPng(256, 256)
  return png.subarray(0, Math.floor(png.length / 2))
}

/**
 * A decompression-bomb-shaped PNG: a valid header claiming side x side pixels and a
 * few compressed rows. Decoding it in full would need side*side*3 bytes.
 */
export function hugePng(side = 20000): Uint8Array {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(8 + data.length + 4)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(side, 0)
  ihdr.writeUInt32BE(side, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  const rows = deflateSync(Buffer.alloc((side * 3 + 1) * 4))
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', rows),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  )
}

/** Dark text (Pango markup, newlines for lines) on white, rendered by sharp in DejaVu Sans with a
 * 24-px margin: at 144 dpi the text is about 26 px tall, at 96 dpi a 1080p screen's 16 px. */
export async function textPng(text: string, dpi = 144): Promise<Uint8Array> {
  const rendered = await sharp({ text: { text, dpi, font: 'DejaVu Sans', rgba: true } })
    .flatten({ background: '#ffffff' })
    .extend({ top: 24, bottom: 24, left: 24, right: 24, background: '#ffffff' })
    .png()
    .toBuffer()
  return new Uint8Array(rendered)
}
