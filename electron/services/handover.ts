// A second launch of the app hands its command line to the running one (Electron's
// 'second-instance') and quits. An image file named on that command line is what the
// user wants to ask about: `local-vision-assistant ~/shot.png`, or a file manager's
// "Open with", which passes file:// URLs.
import { readFile, stat } from 'node:fs/promises'
import { basename, extname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LIMITS } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'

/** What the image pipeline reads (see IMAGE_FORMATS in chats/store.ts), by file name. */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.avif', '.heic', '.heif', '.tif', '.tiff'])

export interface HandedOverImage {
  path: string
  bytes: Uint8Array
}

/**
 * The first existing image file named on a second launch's command line, read; null when
 * it names none. Switches, the executable and (in development) the app's folder are not
 * image files, so they are passed over.
 */
export async function imageFromCommandLine(argv: readonly string[], workingDirectory: string): Promise<HandedOverImage | null> {
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('-')) continue
    let path: string
    try {
      path = arg.startsWith('file:') ? fileURLToPath(arg) : resolve(workingDirectory, arg)
    } catch {
      continue // a file: URL that names no local file
    }
    if (!IMAGE_EXTENSIONS.has(extname(path).toLowerCase())) continue
    const info = await stat(path).catch(() => null)
    if (!info?.isFile()) continue
    if (info.size > LIMITS.imageBytes)
      throw new AppError('bad-image', `${basename(path)} is too large to ask about (over ${LIMITS.imageBytes / 1024 / 1024} MB).`)
    return { path, bytes: new Uint8Array(await readFile(path)) }
  }
  return null
}
