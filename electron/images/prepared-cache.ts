// Prepared images kept by content: a follow-up question re-sends every earlier image of the
// conversation, and decoding and resizing a 4K screenshot costs ~50 ms of sharp each time.
// In memory for the running engine, and on disk (when given a folder) so a restart does not
// redo the work either. A damaged, foreign or outdated cache file is a miss, written anew (see prepared-files.ts).
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { ImageBudget } from './budget.js'
import type { PreparedImage } from './prepare.js'
import { boundFolder, encodeEntry, entryName, readEntry } from './prepared-files.js'

export { forgetPrepared } from './prepared-files.js'

export interface PreparedCacheOptions {
  /** Where prepared images are kept between runs; null: memory only. */
  dir: string | null
  /** Which version of the preparation made the images: a kept file another version made is a miss. */
  pipeline?: number
  memoryEntries?: number
  /** The folder is trimmed to this size (oldest first) when the cache opens, and as files are written. */
  diskBytes?: number
}

export interface PreparedCache {
  /** The image prepared for this budget: kept, or made by prepare and kept. ref is refOf(its bytes). */
  get(ref: string, budget: ImageBudget, prepare: () => Promise<PreparedImage>): Promise<PreparedImage>
  /** The image prepared for this budget if it is kept (in memory or on disk), without its bytes; else null. */
  peek(ref: string, budget: ImageBudget): Promise<PreparedImage | null>
}

/**
 * Keys already computed, by the very array: a follow-up hands the engine client the same arrays
 * again (the chat store keeps recently read images), and hashing eight 4K screenshots costs
 * about 15 ms a turn. Arrays are never changed once read or received, which this relies on.
 */
const known = new WeakMap<Uint8Array, string>()

/** An image's content key: the SHA-256 of its encoded bytes, in hex. */
export function refOf(bytes: Uint8Array): string {
  let ref = known.get(bytes)
  if (ref === undefined) {
    ref = createHash('sha256').update(bytes).digest('hex')
    known.set(bytes, ref)
  }
  return ref
}

export function createPreparedCache({
  dir,
  pipeline = 0,
  memoryEntries = 32,
  diskBytes = 256 * 1024 * 1024,
}: PreparedCacheOptions): PreparedCache {
  const memory = new Map<string, Promise<PreparedImage>>()
  const folder = dir ? boundFolder(dir, diskBytes) : null

  /** The image kept in the file of this name; null when there is none, or it holds anything else. */
  async function fromDisk(name: string | null): Promise<PreparedImage | null | 'folder'> {
    if (!dir || !folder) return null
    await folder.ready
    return name ? readEntry(dir, name, pipeline) : null
  }

  async function load(name: string | null, prepare: () => Promise<PreparedImage>): Promise<PreparedImage> {
    const kept = await fromDisk(name)
    if (kept && kept !== 'folder') return kept
    const fresh = await prepare()
    if (!dir || !folder || !name) return fresh
    const path = join(dir, name)
    const file = encodeEntry(name, pipeline, fresh)
    // A folder in the file's place would refuse the write each time: it goes (that name only, in our own folder).
    if (kept === 'folder') await rm(path, { recursive: true, force: true }).catch(() => undefined)
    // A cache that cannot be written (disk full, read-only) costs speed, never the answer.
    const written = await writeFileAtomic(path, file).then(
      () => true,
      () => false,
    )
    if (written) await folder.wrote(file.byteLength)
    return fresh
  }

  /** Keeps an entry as the most recently used, dropping the least recently used past the bound. */
  function remember(key: string, entry: Promise<PreparedImage>): Promise<PreparedImage> {
    memory.delete(key)
    memory.set(key, entry)
    while (memory.size > memoryEntries) memory.delete(memory.keys().next().value!)
    return entry
  }

  return {
    async peek(ref, budget) {
      const name = entryName(ref, budget)
      const key = name ?? memoryKey(ref, budget)
      // A follow-up finds its earlier images only here: using one keeps it, as get does.
      const found = memory.get(key)
      if (found) return remember(key, found).catch(() => null)
      const kept = await fromDisk(name)
      if (!kept || kept === 'folder') return null
      remember(key, Promise.resolve(kept))
      return kept
    },

    get(ref, budget, prepare) {
      const name = entryName(ref, budget)
      const key = name ?? memoryKey(ref, budget)
      const found = memory.get(key)
      if (found) return remember(key, found)
      const pending = remember(key, load(name, prepare))
      // A failed preparation (a broken image) is not kept: its error is said each time.
      pending.catch(() => memory.get(key) === pending && memory.delete(key))
      return pending
    },
  }
}

/** The key in memory of a ref that names no file (not a content key: never from refOf). */
function memoryKey(ref: string, budget: ImageBudget): string {
  return `${ref}\n${JSON.stringify(budget)}`
}
