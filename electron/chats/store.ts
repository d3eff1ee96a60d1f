// Conversations on disk, one folder each: conversation.json, written atomically
// (temporary file, fsync, rename, fsync of the folder) so a crash or power loss leaves
// either the old or the new version, never a torn one; attached images beside it in
// images/, named by content hash, never inlined into the JSON.
// Folders come and go atomically too: a new conversation is built in a temporary folder
// and renamed into place, a deleted one is renamed to a trash name before it is removed,
// so a crash leaves either the whole conversation or none of it (plus a leftover that the
// next start removes).
import { randomUUID } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import sharp, { type Metadata } from 'sharp'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import {
  DEFAULT_CHAT_SETTINGS,
  type ChatSummary,
  type Conversation,
  type DamagedConversation,
  type StoredImage,
  type StoredMessage,
} from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { AnswerFormat } from '../engine/contract.js'
import { MAX_INPUT_PIXELS } from '../images/budget.js'
import { orientedSize } from '../images/backdrop.js'
import { refOf } from '../images/prepared-cache.js'

const FILE = 'conversation.json'
/** A conversation being created: renamed to its id once complete. */
const BUILDING = '.tmp-'
/** A conversation being deleted: already gone from the list, its files not yet removed. */
const TRASH = '.trash-'
/** write-file-atomic's temporary file for conversation.json: the name, a dot and a number. */
const ATOMIC_TEMP = /^conversation\.json\.\d+$/
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

// Files on disk are checked on the way in too: a hand-edited or foreign file is reported, not trusted.
const StoredImageSchema = z.object({
  id: z.string(),
  mime: z.string(),
  width: z.number(),
  height: z.number(),
  bytes: z.number(),
  name: z.string().nullable(),
  // The text layer's reading came later; a reading that does not parse is dropped and read again.
  text: z
    .discriminatedUnion('status', [
      z.object({
        status: z.literal('read'),
        text: z.string(),
        lines: z.number(),
        confidence: z.number(),
        unsure: z.number(),
        language: z.string(),
        ms: z.number(),
      }),
      z.object({ status: z.literal('none'), unsure: z.number(), ms: z.number() }),
      z.object({ status: z.literal('failed'), reason: z.string() }),
    ])
    .optional()
    .catch(undefined),
})
const StatsSchema = z.object({
  tokensIn: z.number(),
  cachedTokens: z.number().optional(),
  droppedTurns: z.number().optional(),
  tokensOut: z.number(),
  imageTokens: z.number(),
  timeToFirstTokenMs: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  totalMs: z.number(),
  stopReason: z.enum(['eos', 'max-tokens', 'context-full', 'stop-sequence', 'cancelled', 'engine-crashed']),
})
const ConversationSchema = z.object({
  version: z.literal(1),
  id: z.uuid(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  systemPrompt: z.string(),
  // Added after the first files were written: older conversations get the defaults.
  // format came later still: absent, answers are text.
  settings: z
    .object({
      maxTokens: z.number(),
      temperature: z.number(),
      format: AnswerFormat.optional(),
      contextFull: z.enum(['drop-oldest', 'stop']).optional().catch(undefined),
    })
    .default(DEFAULT_CHAT_SETTINGS),
  model: z.object({ modelPath: z.string(), mmprojPath: z.string().nullable() }).nullable().default(null),
  // Remote engines came later: absent, this computer's engine answers.
  engine: z.object({ id: z.string(), model: z.string() }).nullable().optional(),
  messages: z.array(
    z.object({
      id: z.string(),
      role: z.enum(['user', 'assistant']),
      text: z.string(),
      images: z.array(StoredImageSchema),
      createdAt: z.string(),
      status: z.enum(['complete', 'streaming', 'stopped', 'cut-off', 'error']),
      stats: StatsSchema.nullable(),
      error: z.string().nullable(),
      model: z.string().nullable(),
      notes: z.array(z.string()).optional(),
      engine: z.string().optional(),
    }),
  ),
})

/** An attachment as checked before it is stored. */
interface CheckedImage {
  format: { ext: string; mime: string }
  width: number
  height: number
}

export interface ChatStoreOptions {
  /** Seam for crash tests: the atomic write step. */
  writeFile?: (path: string, data: string) => Promise<void>
  /**
   * Told the ids of images no conversation holds any more (one deleted, messages an edit
   * dropped), once their files are gone: copies made of them elsewhere (prepared for the
   * model) can go too. A failure here is the copies' owner's to retry, not the store's.
   */
  imagesGone?: (imageIds: string[]) => Promise<void>
}

/** Recently read images kept in memory: eight 4K screenshots are about 24 MB. */
const IMAGE_MEMORY_BYTES = 256 * 1024 * 1024

export class ChatStore {
  private cache = new Map<string, Conversation>()
  private scanned: Promise<void> | null = null
  private locks = new Map<string, Promise<unknown>>()
  private readonly write: (path: string, data: string) => Promise<void>
  private readonly imagesGone: (imageIds: string[]) => Promise<void>
  /** Conversations whose file could not be read; kept on disk, listed here for the UI to report. */
  readonly damaged: DamagedConversation[] = []
  /**
   * Images read lately, by path: every follow-up sends a conversation's earlier images again,
   * and handing back the same bytes lets the engine client know them by identity instead of
   * reading and hashing 24 MB for eight 4K screenshots on each turn. A file's size and time are
   * checked on every read, so one deleted or replaced by hand is never served from here.
   */
  private images = new LRUCache<string, { bytes: Uint8Array; size: number; mtimeMs: number }>({
    maxSize: IMAGE_MEMORY_BYTES,
    sizeCalculation: (entry) => Math.max(1, entry.bytes.byteLength),
  })

  constructor(
    readonly root: string,
    options: ChatStoreOptions = {},
  ) {
    this.write = options.writeFile ?? ((path, data) => writeFileAtomic(path, data, { fsync: true }))
    this.imagesGone = options.imagesGone ?? (async () => undefined)
  }

  async list(query?: string): Promise<ChatSummary[]> {
    await this.scan()
    const needle = query?.trim().toLowerCase()
    const all = [...this.cache.values()].filter(
      (c) =>
        !needle ||
        c.title.toLowerCase().includes(needle) ||
        c.messages.some((m) => m.text.toLowerCase().includes(needle) || m.images.some((i) => imageHolds(i, needle))),
    )
    return all
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .map((c) => ({
        id: c.id,
        title: c.title,
        updatedAt: c.updatedAt,
        messageCount: c.messages.length,
        preview: (c.messages.at(-1)?.text ?? '').slice(0, 120),
      }))
  }

  /** The conversation folders that could not be read at start: not listed, kept as they were. */
  async damagedConversations(): Promise<DamagedConversation[]> {
    await this.scan()
    return this.damaged.map((d) => ({ ...d }))
  }

  /** Where a damaged conversation's file is, for the user to look at; only for one in the damaged list. */
  async damagedPath(id: string): Promise<string> {
    await this.scan()
    if (!this.damaged.some((d) => d.id === id))
      throw new AppError('not-found', 'That conversation is not among those that could not be read.')
    const file = join(this.root, id, FILE)
    return (await stat(file).then(
      () => true,
      () => false,
    ))
      ? file
      : join(this.root, id)
  }

  async get(id: string): Promise<Conversation> {
    await this.scan()
    const found = this.cache.get(id)
    if (!found) throw new AppError('not-found', 'That conversation no longer exists.')
    return structuredClone(found)
  }

  async create(options: { title?: string; systemPrompt?: string } = {}): Promise<Conversation> {
    await this.scan()
    const now = new Date().toISOString()
    const conversation: Conversation = {
      version: 1,
      id: randomUUID(),
      title: options.title?.trim() || 'New conversation',
      createdAt: now,
      updatedAt: now,
      systemPrompt: options.systemPrompt ?? '',
      settings: { ...DEFAULT_CHAT_SETTINGS },
      model: null,
      messages: [],
    }
    const building = join(this.root, `${BUILDING}${randomUUID()}`)
    try {
      await mkdir(join(building, 'images'), { recursive: true })
      await this.writeConversation(building, conversation)
      await rename(building, join(this.root, conversation.id))
      await syncDirectory(this.root)
    } catch (error) {
      await rm(building, { recursive: true, force: true })
      throw storageError(error)
    }
    this.cache.set(conversation.id, structuredClone(conversation))
    return structuredClone(conversation)
  }

  /** Applies a change to a conversation and saves it; changes to one conversation run one at a time. */
  update(id: string, change: (c: Conversation) => void): Promise<Conversation> {
    return this.locked(id, async () => {
      const current = await this.get(id)
      const before = imagesOf(current)
      change(current)
      current.updatedAt = new Date().toISOString()
      await this.persist(current)
      // Images only the dropped messages held (an edit, a regenerate) go with them: kept, they
      // filled the disk until the whole conversation was deleted. Only once the conversation
      // that no longer names them is saved; one that cannot be removed now goes at the next start.
      const after = imagesOf(current)
      const dropped = [...before.values()].filter((image) => !after.has(image.id))
      for (const image of dropped) await this.removeImageFile(id, image).catch(() => undefined)
      await this.forgetImages(dropped.map((image) => image.id))
      return structuredClone(current)
    })
  }

  async delete(id: string): Promise<void> {
    await this.scan()
    await this.locked(id, async () => {
      const deleted = this.cache.get(id)
      if (!deleted) throw new AppError('not-found', 'That conversation no longer exists.')
      // Renamed out of the way first: from then on the conversation is gone, whether or not
      // removing its files finishes (the next start removes what is left).
      const trash = join(this.root, `${TRASH}${randomUUID()}`)
      try {
        await rename(join(this.root, id), trash)
        await syncDirectory(this.root)
      } catch (error) {
        throw new AppError('storage', `The conversation could not be deleted: ${reasonOf(error)}.`, { cause: error })
      }
      this.cache.delete(id)
      // The conversation is deleted either way; files that cannot be removed now are removed at the next start.
      await rm(trash, { recursive: true, force: true }).catch(() => undefined)
      await this.forgetImages([...imagesOf(deleted).keys()])
    })
  }

  /** Reports the images of these that no conversation names any more (each keeps its own copy of a shared one). */
  private async forgetImages(imageIds: string[]): Promise<void> {
    // Most updates (an answer as it streams) drop nothing: no conversation is looked through then.
    if (!imageIds.length) return
    const named = new Set([...this.cache.values()].flatMap((c) => [...imagesOf(c).keys()]))
    const gone = imageIds.filter((imageId) => !named.has(imageId))
    try {
      if (gone.length) await this.imagesGone(gone)
    } catch {
      // The conversation's own change is done; copies kept elsewhere are only a cache's.
    }
  }

  /** Stores a question's attachments beside its conversation; each is checked before any is stored, so a refusal leaves nothing. */
  async saveImages(chatId: string, images: readonly { bytes: Uint8Array; name?: string }[]): Promise<StoredImage[]> {
    const checked = await Promise.all(images.map(({ bytes, name }) => this.checkImage(bytes, name)))
    const stored: StoredImage[] = []
    for (const [i, { bytes, name }] of images.entries()) stored.push(await this.writeImage(chatId, bytes, name, checked[i]!))
    return stored
  }

  /** Stores an attached image beside its conversation, by content hash, and describes it. */
  async saveImage(chatId: string, bytes: Uint8Array, name?: string): Promise<StoredImage> {
    return this.writeImage(chatId, bytes, name, await this.checkImage(bytes, name))
  }

  /** Checks that an attachment is an image that can be stored, without storing it; throws bad-image. */
  private async checkImage(bytes: Uint8Array, name?: string): Promise<CheckedImage> {
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

  private async writeImage(
    chatId: string,
    bytes: Uint8Array,
    name: string | undefined,
    { format, ...meta }: CheckedImage,
  ): Promise<StoredImage> {
    const id = imageIdOf(bytes)
    const path = this.imagePath(chatId, id, format.ext)
    // Under the conversation's lock, so a delete cannot run between the check and the write.
    await this.locked(chatId, async () => {
      // Only into a conversation that exists: a refused request must leave nothing on disk.
      await this.get(chatId)
      const exists = await stat(path).then(
        () => true,
        () => false,
      )
      if (exists) return
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
    })
    return { id, mime: format.mime, width: meta.width, height: meta.height, bytes: bytes.byteLength, name: name ?? null }
  }

  async readImage(chatId: string, image: Pick<StoredImage, 'id' | 'mime'>): Promise<Uint8Array> {
    const ext = extOf(image.mime)
    if (!ext) throw new AppError('not-found', 'Unknown image type.')
    const path = this.imagePath(chatId, image.id, ext)
    try {
      const { size, mtimeMs } = await stat(path)
      const kept = this.images.get(path)
      if (kept && kept.size === size && kept.mtimeMs === mtimeMs) return kept.bytes
      const bytes = new Uint8Array(await readFile(path))
      // An image's id is the start of its content's SHA-256: a file emptied, cut short or
      // replaced in place is as good as gone, and said so, rather than sent to fail every
      // later turn.
      if (imageIdOf(bytes) !== image.id) throw new Error('the file no longer holds the image it was stored as')
      // Too large for the budget: lru-cache declines it, and it is read each time.
      this.images.set(path, { bytes, size, mtimeMs })
      return bytes
    } catch (error) {
      this.images.delete(path)
      throw new AppError('not-found', 'That image is no longer stored with this conversation.', { cause: error })
    }
  }

  /** Finds an image of a conversation by id, for the renderer to show. */
  async image(chatId: string, imageId: string): Promise<Uint8Array> {
    const conversation = await this.get(chatId)
    const image = conversation.messages.flatMap((m) => m.images).find((i) => i.id === imageId)
    if (!image) throw new AppError('not-found', 'That image is not part of this conversation.')
    return this.readImage(chatId, image)
  }

  newMessage(role: StoredMessage['role'], text: string, images: StoredImage[] = []): StoredMessage {
    return {
      id: randomUUID(),
      role,
      text,
      images,
      createdAt: new Date().toISOString(),
      status: role === 'user' ? 'complete' : 'streaming',
      stats: null,
      error: null,
      model: null,
    }
  }

  private imagePath(chatId: string, imageId: string, ext: string): string {
    return join(this.root, chatId, 'images', `${imageId}.${ext}`)
  }

  private async removeImageFile(chatId: string, image: Pick<StoredImage, 'id' | 'mime'>): Promise<void> {
    const ext = extOf(image.mime)
    if (!ext) return
    const path = this.imagePath(chatId, image.id, ext)
    this.images.delete(path)
    await rm(path, { force: true })
  }

  /**
   * Image files a conversation does not name: a crash between storing a question's images and
   * the question, or between saving an edit and removing what it dropped. Only names the store
   * writes are touched (an image, or write-file-atomic's temporary file beside it).
   */
  private async sweepImages(dir: string, conversation: Conversation): Promise<void> {
    const named = new Set([...imagesOf(conversation).values()].map((i) => `${i.id}.${extOf(i.mime)}`))
    const files = await readdir(join(dir, 'images')).catch(() => [])
    for (const file of files)
      if (STORED_IMAGE.test(file) && !named.has(file)) await rm(join(dir, 'images', file), { force: true }).catch(() => undefined)
  }

  private async persist(conversation: Conversation): Promise<void> {
    try {
      await this.writeConversation(join(this.root, conversation.id), conversation)
    } catch (error) {
      throw storageError(error)
    }
    this.cache.set(conversation.id, structuredClone(conversation))
  }

  private async writeConversation(dir: string, conversation: Conversation): Promise<void> {
    await this.write(join(dir, FILE), JSON.stringify(conversation, null, 1))
    await syncDirectory(dir)
  }

  private locked<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve()
    const run = previous.then(task, task)
    this.locks.set(
      id,
      run.catch(() => undefined),
    )
    return run
  }

  private scan(): Promise<void> {
    this.scanned ??= (async () => {
      await mkdir(this.root, { recursive: true })
      for (const entry of await readdir(this.root, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue
        const dir = join(this.root, entry.name)
        // A create or delete cut short by a crash: the conversation was never there, or is already gone.
        if (entry.name.startsWith(BUILDING) || entry.name.startsWith(TRASH)) {
          // Never listed; if it cannot be removed now, the next start tries again.
          await rm(dir, { recursive: true, force: true }).catch(() => undefined)
          continue
        }
        // Everything about one folder is tried on its own: a folder that cannot be read is
        // reported as damaged, and the others are listed (one error here had hidden them all).
        try {
          // A crash between writing and renaming leaves write-file-atomic's temporary file
          // (a number after the name): the real one is intact. Other names, such as a copy the
          // user made before editing the file, are left alone.
          for (const file of await readdir(dir))
            if (ATOMIC_TEMP.test(file)) await rm(join(dir, file), { force: true }).catch(() => undefined)
          const parsed = ConversationSchema.parse(JSON.parse(await readFile(join(dir, FILE), 'utf8')))
          if (parsed.id !== entry.name) throw new Error('its id does not match its folder')
          // An answer still marked streaming was interrupted by a crash: say so.
          for (const m of parsed.messages) if (m.status === 'streaming') m.status = 'cut-off'
          this.cache.set(parsed.id, parsed)
          await this.sweepImages(dir, parsed)
        } catch (error) {
          this.damaged.push({ id: entry.name, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) })
        }
      }
    })().catch((error: unknown) => {
      // The data folder itself could not be read: the next call tries again, rather than failing for good.
      this.scanned = null
      this.cache.clear()
      this.damaged.length = 0
      throw storageError(error, 'The conversations could not be read')
    })
    return this.scanned
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission was denied',
  EPERM: 'permission was denied',
  EROFS: 'the data folder is on a read-only disk',
  EIO: 'the disk reported a read or write error',
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error))
}

function storageError(error: unknown, what = 'The conversation could not be saved'): AppError {
  return new AppError('storage', `${what}: ${reasonOf(error)}. Nothing already saved was lost.`, {
    cause: error,
  })
}

/** A conversation's images by id. */
function imagesOf(conversation: Conversation): Map<string, StoredImage> {
  return new Map(conversation.messages.flatMap((m) => m.images.map((i) => [i.id, i] as const)))
}

function extOf(mime: string): string | undefined {
  return Object.values(IMAGE_FORMATS).find((f) => f.mime === mime)?.ext
}

async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Words that were in a message's images count as its words: a search finds the screenshot of an error by its text. */
function imageHolds(image: StoredImage, needle: string): boolean {
  return image.text?.status === 'read' && image.text.text.toLowerCase().includes(needle)
}
