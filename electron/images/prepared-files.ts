// The prepared-image cache's files: one per source image and budget, named after the source
// image's content hash so that every copy made of one image can be found without its budgets
// (a deleted conversation's screenshots go with it), and holding the hash of their own bytes and
// their own name, so that a file holding anything else (another image's copy, a flipped byte, an
// older preparation) is a miss, prepared again and written anew, never an answer about the wrong picture.
import { createHash } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ImageBudget } from './budget.js'
import type { PreparedImage } from './prepare.js'

/** Written in front of the image bytes: a file that does not start with it is not ours, or of an older layout. */
const MAGIC = 'LVA-PREPARED-2\n'
/** A source image's content key, as refOf gives it. */
const REF = /^[0-9a-f]{64}$/
/** An entry: `<source sha256>-<budget key>.prepared`. */
const ENTRY = /^[0-9a-f]{64}-[0-9a-f]{16}\.prepared$/
/** write-file-atomic's temporary file for an entry: the name, a dot and a number. */
const ENTRY_TEMP = /^[0-9a-f]{64}-[0-9a-f]{16}\.prepared\.\d+$/
/** The first layout's entries (a hash of source and budget): never read again, and not findable by source. */
const FIRST_LAYOUT = /^[0-9a-f]{40}\.prepared$/
/** A temporary file this old is left by a write cut short (a crash), not one under way. */
const STALE_TEMP_MS = 60_000
/** Trimming goes this far below the bound, so the writes that follow do not each trim again. */
const TRIM_TO = 0.9

interface Header {
  key: string
  pipeline: number
  sha256: string
  mime: PreparedImage['mime']
  width: number
  height: number
  bytes: number
}

/** Budget keys by budget object: a loaded model keeps one, and budgets are never changed once made. */
const budgetKeys = new WeakMap<ImageBudget, string>()

/** The entry's file name; null for a ref that is not a content key (it is then kept in memory only). */
export function entryName(ref: string, budget: ImageBudget): string | null {
  if (!REF.test(ref)) return null
  let key = budgetKeys.get(budget)
  if (key === undefined) {
    key = createHash('sha256').update(JSON.stringify(budget)).digest('hex').slice(0, 16)
    budgetKeys.set(budget, key)
  }
  return `${ref}-${key}.prepared`
}

export function encodeEntry(name: string, pipeline: number, image: PreparedImage): Buffer {
  const header: Header = {
    key: name,
    pipeline,
    sha256: createHash('sha256').update(image.data).digest('hex'),
    mime: image.mime,
    width: image.width,
    height: image.height,
    bytes: image.data.byteLength,
  }
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`), image.data])
}

/** What is kept under this name: the image, null when there is none that can be used, 'folder' when a folder is in its place. */
export async function readEntry(dir: string, name: string, pipeline: number): Promise<PreparedImage | null | 'folder'> {
  let file: Buffer
  try {
    file = await readFile(join(dir, name))
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'folder' : null
  }
  const end = file.indexOf('\n', MAGIC.length)
  if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC)) || end < 0) return null
  let head: Partial<Header> | null
  try {
    head = JSON.parse(file.subarray(MAGIC.length, end).toString('utf8')) as Partial<Header> | null
  } catch {
    return null
  }
  const data = file.subarray(end + 1)
  if (typeof head !== 'object' || head === null) return null
  const valid =
    // Another entry's file under this name (a copy, a restored backup) holds another picture.
    head.key === name &&
    head.pipeline === pipeline &&
    (head.mime === 'image/jpeg' || head.mime === 'image/png') &&
    Number.isInteger(head.width) &&
    Number.isInteger(head.height) &&
    head.bytes === data.byteLength &&
    // A damaged byte inside the image keeps every other field right.
    head.sha256 === createHash('sha256').update(data).digest('hex')
  return valid ? { data: Buffer.from(data), mime: head.mime!, width: head.width!, height: head.height! } : null
}

export interface FolderBound {
  /** The folder made and trimmed to the bound. */
  ready: Promise<void>
  /** Counts a file written; past the bound, the oldest files go (awaited, rarely: see TRIM_TO). */
  wrote(bytes: number): Promise<void>
}

/**
 * Keeps the folder within maxBytes, oldest files first: when it opens, and as files are written.
 * A running total says when to trim; the trim itself counts the folder again, as files are also
 * removed from outside (a deleted conversation's, see forgetPrepared).
 */
export function boundFolder(dir: string, maxBytes: number): FolderBound {
  let total = 0
  let trimming: Promise<void> | null = null
  const trim = (): Promise<void> =>
    (trimming ??= trimFolder(dir, maxBytes, Math.floor(maxBytes * TRIM_TO)).then((left) => {
      total = left
      trimming = null
    }))
  const ready = mkdir(dir, { recursive: true }).then(
    () => trim(),
    // An unusable folder: the memory cache still works.
    () => undefined,
  )
  return {
    ready,
    async wrote(bytes) {
      total += bytes
      if (total > maxBytes) await trim()
    },
  }
}

/** Removes the oldest entries until they hold at most target bytes; returns what they hold then. */
async function trimFolder(dir: string, maxBytes: number, target: number): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[])
  // Each entry on its own: one that is not a plain file (a folder, a link) or is gone meanwhile is
  // passed over, and the rest are trimmed. A read of such an entry is a miss, and a write replaces it.
  const found = await Promise.all(
    names.map(async (name) => {
      const temp = ENTRY_TEMP.test(name)
      if (!ENTRY.test(name) && !FIRST_LAYOUT.test(name) && !temp) return null
      const info = await lstat(join(dir, name)).catch(() => null)
      if (!info?.isFile()) return null
      if (FIRST_LAYOUT.test(name) || (temp && Date.now() - info.mtimeMs > STALE_TEMP_MS)) {
        await rm(join(dir, name), { force: true }).catch(() => undefined)
        return null
      }
      return temp ? null : { name, size: info.size, mtimeMs: info.mtimeMs }
    }),
  )
  const files = found.filter((f) => f !== null)
  let total = files.reduce((sum, f) => sum + f.size, 0)
  if (total <= maxBytes) return total
  for (const file of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
    if (total <= target) break
    const removed = await rm(join(dir, file.name), { force: true }).then(
      () => true,
      () => false,
    )
    if (removed) total -= file.size
  }
  return total
}

/**
 * Removes the prepared copies of these source images, whatever their budgets: the images of a
 * deleted conversation, by their content hash (the full SHA-256 in hex, or its first 32 digits,
 * as the chat store names its images). A running engine's memory keeps its copies until it
 * drops them, but does not write them here again: only a miss in memory writes a file.
 */
export async function forgetPrepared(dir: string, sourceHashes: Iterable<string>): Promise<void> {
  const prefixes = new Set([...sourceHashes].filter((h) => /^[0-9a-f]{32,64}$/.test(h)).map((h) => h.slice(0, 32)))
  if (!prefixes.size) return
  // No folder: nothing was ever prepared on disk.
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (entry.isDirectory() || !prefixes.has(entry.name.slice(0, 32))) continue
    if (ENTRY.test(entry.name) || ENTRY_TEMP.test(entry.name)) await rm(join(dir, entry.name), { force: true }).catch(() => undefined)
  }
}
