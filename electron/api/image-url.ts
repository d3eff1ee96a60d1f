// An image_url's bytes: a data URL's, or a local file's when the user allows file URLs. Both
// are checked to be an image within the size and pixel limits before anything else sees them.
import sharp from 'sharp'
import { LIMITS } from '../ipc/contract.js'
import { readFileImage } from './file-image.js'
import { ApiError } from './openai-types.js'

export interface ImageUrlRules {
  /** Accept file:// image URLs (off unless the user allows it). */
  allowFileUrls: boolean
  imagePixels: number
}

/** The image's bytes; param names the field it came in, for the 400 that refuses it. */
export async function imageBytes(url: string, param: string, rules: ImageUrlRules): Promise<Uint8Array> {
  let bytes: Uint8Array
  // Media-type parameters (;charset=utf-8, ;name=a.png) are valid data: URL syntax: skipped.
  const data = /^data:image\/[a-z0-9.+-]+(?:;[a-z0-9!#$&^_.+-]+=[^;,]*)*;base64,(.*)$/is.exec(url)
  if (data) bytes = new Uint8Array(Buffer.from(data[1]!, 'base64'))
  else if (url.startsWith('file:')) {
    if (!rules.allowFileUrls)
      throw new ApiError(
        400,
        'Local file URLs are turned off; send the image as a data URL, or allow file URLs in the app’s settings.',
        'invalid_request_error',
        'file_urls_disabled',
        param,
      )
    const read = await readFileImage(url, LIMITS.imageBytes)
    if (!read.ok && read.reason === 'remote')
      throw new ApiError(
        400,
        'A file URL must name a file on this computer (file:///path/to/image.png); one with a host would reach out to that host over the network.',
        'invalid_request_error',
        'invalid_image_url',
        param,
      )
    if (!read.ok) throw unreadableFile(url, param)
    bytes = read.bytes
  } else
    throw new ApiError(
      400,
      'Images must be data URLs (data:image/png;base64,…); this server fetches nothing from the network.',
      'invalid_request_error',
      'invalid_image_url',
      param,
    )
  if (bytes.byteLength === 0 || bytes.byteLength > LIMITS.imageBytes)
    throw new ApiError(
      400,
      `An image must be between 1 byte and ${LIMITS.imageBytes} bytes.`,
      'invalid_request_error',
      'invalid_image',
      param,
    )
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => {
      // A file that is there but no image gets the answer a missing one gets (see unreadableFile).
      if (url.startsWith('file:')) throw unreadableFile(url, param)
      throw new ApiError(400, 'An image_url does not hold an image that can be read.', 'invalid_request_error', 'invalid_image', param)
    })
  if ((meta.width ?? 0) * (meta.height ?? 0) > rules.imagePixels) {
    throw new ApiError(
      400,
      `An image is too large: ${meta.width}x${meta.height}; the limit is ${rules.imagePixels} pixels.`,
      'invalid_request_error',
      'image_too_large',
      param,
    )
  }
  return bytes
}

/**
 * Every way a file URL fails (no such file, no permission, a folder, a device, too large, not
 * an image) gets this one answer: distinct ones told a caller which files exist.
 */
function unreadableFile(url: string, param: string): ApiError {
  return new ApiError(
    400,
    `Cannot read ${url} as an image: a file URL must name an image file on this computer of at most ${LIMITS.imageBytes} bytes that the app may read.`,
    'invalid_request_error',
    'invalid_image_url',
    param,
  )
}
