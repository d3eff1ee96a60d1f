// Conversations on disk, one folder each: conversation.json, written atomically so a crash or
// power loss leaves either the old or the new version (conversation-file.ts); attached images
// beside it in images/, named by content hash (image-files.ts); folders created and deleted
// whole, so a crash leaves either the whole conversation or none of it (conversation-folders.ts).
// The store ties them together: it reads every folder once, keeps the conversations in memory,
// and saves each change to one conversation one at a time.
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  DEFAULT_CHAT_SETTINGS,
  type ChatSummary,
  type Conversation,
  type DamagedConversation,
  type StoredImage,
  type StoredMessage,
} from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import {
  CONVERSATION_FILE,
  damageReason,
  readConversationFile,
  removeAtomicTemps,
  writeAtomically,
  writeConversationFile,
  type WriteFile,
} from './conversation-file.js'
import { createFolder, isLeftover, removeFolder, trashFolder } from './conversation-folders.js'
import { storageError } from './disk.js'
import { ImageFiles, imagesOf, type CheckedImage } from './image-files.js'
import { previewOf } from './preview.js'

export interface ChatStoreOptions {
  /** Seam for crash tests: the atomic write step. */
  writeFile?: WriteFile
  /**
   * Told the ids of images no conversation holds any more (one deleted, messages an edit
   * dropped), once their files are gone: copies made of them elsewhere (prepared for the
   * model) can go too. A failure here is the copies' owner's to retry, not the store's.
   */
  imagesGone?: (imageIds: string[]) => Promise<void>
}

export class ChatStore {
  private cache = new Map<string, Conversation>()
  private scanned: Promise<void> | null = null
  private locks = new Map<string, Promise<unknown>>()
  private readonly write: WriteFile
  /** imagesGone and those onImagesGone adds, each told of the images no conversation holds any more. */
  private readonly goneListeners: ((imageIds: string[]) => void | Promise<void>)[] = []
  private readonly imageFiles: ImageFiles
  /** Conversations whose file could not be read; kept on disk, listed here for the UI to report. */
  readonly damaged: DamagedConversation[] = []

  constructor(
    readonly root: string,
    options: ChatStoreOptions = {},
  ) {
    this.write = options.writeFile ?? writeAtomically
    if (options.imagesGone) this.goneListeners.push(options.imagesGone)
    this.imageFiles = new ImageFiles(root)
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
        preview: previewOf(c.messages),
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
    const file = join(this.root, id, CONVERSATION_FILE)
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
    await createFolder(this.root, conversation.id, (dir) => writeConversationFile(this.write, dir, conversation))
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
      for (const image of dropped) await this.imageFiles.remove(id, image).catch(() => undefined)
      await this.forgetImages(dropped.map((image) => image.id))
      return structuredClone(current)
    })
  }

  async delete(id: string): Promise<void> {
    await this.scan()
    await this.locked(id, async () => {
      const deleted = this.cache.get(id)
      if (!deleted) throw new AppError('not-found', 'That conversation no longer exists.')
      const trash = await trashFolder(this.root, id)
      this.cache.delete(id)
      // The conversation is deleted either way; files that cannot be removed now are removed at the next start.
      await removeFolder(trash)
      await this.forgetImages([...imagesOf(deleted).keys()])
    })
  }

  /**
   * Also tells `listener` of the images no conversation holds any more, as imagesGone is told:
   * for copies whose owner comes after the store (the engine's). Not waited for.
   */
  onImagesGone(listener: (imageIds: string[]) => void): void {
    this.goneListeners.push(listener)
  }

  /** Reports the images of these that no conversation names any more (each keeps its own copy of a shared one). */
  private async forgetImages(imageIds: string[]): Promise<void> {
    // Most updates (an answer as it streams) drop nothing: no conversation is looked through then.
    if (!imageIds.length) return
    const named = new Set([...this.cache.values()].flatMap((c) => [...imagesOf(c).keys()]))
    const gone = imageIds.filter((imageId) => !named.has(imageId))
    if (!gone.length) return
    // Each is told at once; a failure is not the store's: the conversation's own change is done,
    // and copies kept elsewhere are only a cache's.
    await Promise.allSettled(this.goneListeners.map(async (listener) => listener(gone)))
  }

  /** Stores a question's attachments beside its conversation; each is checked before any is stored, so a refusal leaves nothing. */
  async saveImages(chatId: string, images: readonly { bytes: Uint8Array; name?: string }[]): Promise<StoredImage[]> {
    const checked = await Promise.all(images.map(({ bytes, name }) => this.imageFiles.check(bytes, name)))
    const stored: StoredImage[] = []
    for (const [i, { bytes, name }] of images.entries()) stored.push(await this.writeImage(chatId, bytes, name, checked[i]!))
    return stored
  }

  /** Stores an attached image beside its conversation, by content hash, and describes it. */
  async saveImage(chatId: string, bytes: Uint8Array, name?: string): Promise<StoredImage> {
    return this.writeImage(chatId, bytes, name, await this.imageFiles.check(bytes, name))
  }

  private writeImage(chatId: string, bytes: Uint8Array, name: string | undefined, checked: CheckedImage): Promise<StoredImage> {
    // Under the conversation's lock, so a delete cannot run between the check and the write.
    return this.locked(chatId, async () => {
      // Only into a conversation that exists: a refused request must leave nothing on disk.
      await this.get(chatId)
      return this.imageFiles.write(chatId, bytes, name, checked)
    })
  }

  readImage(chatId: string, image: Pick<StoredImage, 'id' | 'mime'>): Promise<Uint8Array> {
    return this.imageFiles.read(chatId, image)
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

  private async persist(conversation: Conversation): Promise<void> {
    try {
      await writeConversationFile(this.write, join(this.root, conversation.id), conversation)
    } catch (error) {
      throw storageError(error)
    }
    this.cache.set(conversation.id, structuredClone(conversation))
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
        if (isLeftover(entry.name)) {
          // Never listed; if it cannot be removed now, the next start tries again.
          await removeFolder(dir)
          continue
        }
        // Everything about one folder is tried on its own: a folder that cannot be read is
        // reported as damaged, and the others are listed (one error here had hidden them all).
        try {
          await removeAtomicTemps(dir)
          const parsed = await readConversationFile(dir, entry.name)
          // An answer still marked streaming was interrupted by a crash: say so.
          for (const m of parsed.messages) if (m.status === 'streaming') m.status = 'cut-off'
          this.cache.set(parsed.id, parsed)
          await this.imageFiles.sweep(dir, parsed)
        } catch (error) {
          this.damaged.push({ id: entry.name, reason: damageReason(error) })
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

/** Words that were in a message's images count as its words: a search finds the screenshot of an error by its text. */
function imageHolds(image: StoredImage, needle: string): boolean {
  return image.text?.status === 'read' && image.text.text.toLowerCase().includes(needle)
}
