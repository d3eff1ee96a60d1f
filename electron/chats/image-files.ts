// A conversation's attached images, in images/ beside its conversation.json: each named by its
// content hash and type, never inlined into the JSON; checked before it is stored, and handed
// back only while its file still holds what was stored.
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import sharp, { type Metadata } from 'sharp'
import writeFileAtomic from 'write-file-atomic'
import type { Conversation, StoredImage } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { MAX_INPUT_PIXELS } from '../images/budget.js'
import { orientedSize } from '../images/backdrop.js'
import { refOf } from '../images/prepared-cache.js'
import { reasonOf } from './disk.js'

/** A stored image (its content hash and type), or write-file-atomic's temporary file for one. */
const STORED_IMAGE = /^[0-9a-f]{32}\.[a-z]+(\.\d+)?$/
/**
 * An image's id, in its file's name too: the first 32 hex digits of its content's SHA-256. By
 * refOf, which keeps the hash with the array: the bytes a read hands on reach the engine client,
 * which keys them by the same hash, without being hashed a second time.
 */
const imageIdOf = (bytes: Uint8Array): string => refOf(bytes).slice(0, 32)
const IMAGE_FORMATS: Record<string, { ext: string; mime: string }> = {
  png: { ext: 'png', mime: 'image/png' },
  jpeg: { ext: 'jpg', mime: 'image/jpeg' },
  webp: { ext: 'webp', mime: 'image/webp' },
  gif: { ext: 'gif', mime: 'image/gif' },
  avif: { ext: 'avif', mime: 'image/avif' },
  heif: { ext: 'heic', mime: 'image/heic' },
  tiff: { ext: 'tiff', mime: 'image/tiff' },
}

/** An attachment as checked before it is stored. */
export interface CheckedImage {
  format: { ext: string; mime: string }
  width: number
  height: number
}

/** Recently read images kept in memory: eight 4K screenshots are about 24 MB. */
const IMAGE_MEMORY_BYTES = 256 * 1024 * 1024

/** The image files of the conversations under `root`. */
export class ImageFiles {
  /**
   * Images read lately, by path: every follow-up sends a conversation's earlier images again,
   * and handing back the same bytes lets the engine client know them by identity instead of
   * reading and hashing 24 MB for eight 4K screenshots on each turn. A file's size and time are
   * checked on every read, so one deleted or replaced by hand is never served from here.
   */
  private recent = new LRUCache<string, { bytes: Uint8Array; size: number; mtimeMs: number }>({
    maxSize: IMAGE_MEMORY_BYTES,
    sizeCalculation: (entry) => Math.max(1, entry.bytes.byteLength),
  })

  constructor(private readonly root: string) {}

  /** Checks that an attachment is an image that can be stored, without storing it; throws bad-image. */
  async check(bytes: Uint8Array, name?: string): Promise<CheckedImage> {
    let meta: Metadata
    try {
      meta = await sharp(bytes, { limitInputPixels: false }).metadata()
    } catch (error) {
      throw new AppError('bad-image', `${name ?? 'The attachment'} is not an image that can be read.`, { cause: error })
    }
    const format = IMAGE_FORMATS[meta.format ?? '']
    // As the window shows it: a phone photo's EXIF orientation swaps its sides.
    const { width, height } = orientedSize(meta)
    if (!format || !width || !height)
      throw new AppError('bad-image', `${name ?? 'The attachment'} is not a supported image (PNG, JPEG, WebP, GIF, AVIF or TIFF).`)
    if (width * height > MAX_INPUT_PIXELS) throw new AppError('bad-image', `${name ?? 'The image'} is too large: ${width}x${height}.`)
    return { format, width, height }
  }

  /**
   * Stores an image `check` passed in its conversation's images/, by content hash (once: one
   * already there is kept), and describes it. The caller makes sure the conversation exists.
   */
  async write(chatId: string, bytes: Uint8Array, name: string | undefined, { format, ...meta }: CheckedImage): Promise<StoredImage> {
    const id = imageIdOf(bytes)
    const path = this.path(chatId, id, format.ext)
    // Kept only while it still holds the image: before, a file emptied, cut short or replaced in
    // place stood for the picture attached again to give it back, which then read as gone too.
    const intact = await this.read(chatId, { id, mime: format.mime }).then(
      () => true,
      () => false,
    )
    if (!intact) {
      try {
        // Never recursive: creating the conversation's own folder here would make a conversation without its file.
        await mkdir(join(this.root, chatId, 'images')).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error
        })
        await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { fsync: true })
      } catch (error) {
        throw new AppError('storage', `${name ?? 'The image'} could not be saved: ${reasonOf(error)}. Nothing already saved was lost.`, {
          cause: error,
        })
      }
    }
    return { id, mime: format.mime, width: meta.width, height: meta.height, bytes: bytes.byteLength, name: name ?? null }
  }

  async read(chatId: string, image: Pick<StoredImage, 'id' | 'mime'>): Promise<Uint8Array> {
    const ext = extOf(image.mime)
    if (!ext) throw new AppError('not-found', 'Unknown image type.')
    const path = this.path(chatId, image.id, ext)
    try {
      const { size, mtimeMs } = await stat(path)
      const kept = this.recent.get(path)
      if (kept && kept.size === size && kept.mtimeMs === mtimeMs) return kept.bytes
      const bytes = new Uint8Array(await readFile(path))
      // An image's id is the start of its content's SHA-256: a file emptied, cut short or
      // replaced in place is as good as gone, and said so, rather than sent to fail every
      // later turn.
      if (imageIdOf(bytes) !== image.id) throw new Error('the file no longer holds the image it was stored as')
      // Too large for the budget: lru-cache declines it, and it is read each time.
      this.recent.set(path, { bytes, size, mtimeMs })
      return bytes
    } catch (error) {
      this.recent.delete(path)
      throw new AppError('not-found', 'That image is no longer stored with this conversation.', { cause: error })
    }
  }

  async remove(chatId: string, image: Pick<StoredImage, 'id' | 'mime'>): Promise<void> {
    const ext = extOf(image.mime)
    if (!ext) return
    const path = this.path(chatId, image.id, ext)
    this.recent.delete(path)
    await rm(path, { force: true })
  }

  /**
   * Removes the image files in conversation folder `dir` that its conversation does not name: a
   * crash between storing a question's images and the question, or between saving an edit and
   * removing what it dropped. Only names the store writes are touched (an image, or
   * write-file-atomic's temporary file beside it).
   */
  async sweep(dir: string, conversation: Conversation): Promise<void> {
    const named = new Set([...imagesOf(conversation).values()].map((i) => `${i.id}.${extOf(i.mime)}`))
    const files = await readdir(join(dir, 'images')).catch(() => [])
    for (const file of files)
      if (STORED_IMAGE.test(file) && !named.has(file)) await rm(join(dir, 'images', file), { force: true }).catch(() => undefined)
  }

  private path(chatId: string, imageId: string, ext: string): string {
    return join(this.root, chatId, 'images', `${imageId}.${ext}`)
  }
}

/** A conversation's images by id. */
export function imagesOf(conversation: Conversation): Map<string, StoredImage> {
  return new Map(conversation.messages.flatMap((m) => m.images.map((i) => [i.id, i] as const)))
}

function extOf(mime: string): string | undefined {
  return Object.values(IMAGE_FORMATS).find((f) => f.mime === mime)?.ext
}
