// Prepared images kept by content: a follow-up question re-sends every earlier image of the
// conversation, and decoding and resizing a 4K screenshot costs ~50 ms of sharp each time.
// In memory for the running engine, and on disk (when given a folder) so a restart does not
// redo the work either. A damaged or foreign cache file is ignored and written anew.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { ImageBudget } from './budget.js'
import type { PreparedImage } from './prepare.js'

export interface PreparedCacheOptions {
  /** Where prepared images are kept between runs; null: memory only. */
  dir: string | null
  memoryEntries?: number
  /** The folder is trimmed to this size (oldest first) when the cache opens. */
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
/**
 * Keys made before, per budget object: a follow-up looks up every earlier image again, and
 * making their keys was most of the engine's own time for the images of an eight-image
 * follow-up (about 50 µs of its first token on bench:followup). A loaded model keeps one
 * budget object, and budgets are never changed once made, which this relies on.
 */
const keysByBudget = new WeakMap<ImageBudget, Map<string, string>>()
/** Bounds the keys kept per budget: one short string per distinct image. */
const KEYS_KEPT = 4096

function keyOf(ref: string, budget: ImageBudget): string {
  let keys = keysByBudget.get(budget)
  if (!keys) keysByBudget.set(budget, (keys = new Map()))
  let key = keys.get(ref)
  if (key === undefined) {
    key = createHash('sha256').update(ref).update(JSON.stringify(budget)).digest('hex').slice(0, 40)
    if (keys.size >= KEYS_KEPT) keys.clear()
    keys.set(ref, key)
  }
  return key
}

/** Written in front of the image bytes: a file that does not start with it is not ours. */
const MAGIC = 'LVA-PREPARED-1\n'

export function createPreparedCache({ dir, memoryEntries = 32, diskBytes = 256 * 1024 * 1024 }: PreparedCacheOptions): PreparedCache {
  const memory = new Map<string, Promise<PreparedImage>>()
  const ready = dir ? trim(dir, diskBytes) : Promise.resolve()

  async function fromDisk(path: string): Promise<PreparedImage | null> {
    let file: Buffer
    try {
      file = await readFile(path)
    } catch {
      return null
    }
    const end = file.indexOf('\n', MAGIC.length)
    if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC)) || end < 0) return null
    try {
      const head = JSON.parse(file.subarray(MAGIC.length, end).toString('utf8')) as Partial<Omit<PreparedImage, 'data'>> & {
        bytes?: number
      }
      const data = file.subarray(end + 1)
      const valid =
        (head.mime === 'image/jpeg' || head.mime === 'image/png') &&
        Number.isInteger(head.width) &&
        Number.isInteger(head.height) &&
        head.bytes === data.byteLength
      return valid ? { data: Buffer.from(data), mime: head.mime!, width: head.width!, height: head.height! } : null
    } catch {
      return null
    }
  }

  async function load(key: string, prepare: () => Promise<PreparedImage>): Promise<PreparedImage> {
    if (!dir) return prepare()
    await ready
    const path = join(dir, `${key}.prepared`)
    const kept = await fromDisk(path)
    if (kept) return kept
    const fresh = await prepare()
    const head = JSON.stringify({ mime: fresh.mime, width: fresh.width, height: fresh.height, bytes: fresh.data.byteLength })
    // A cache that cannot be written (disk full, read-only) costs speed, never the answer.
    await writeFileAtomic(path, Buffer.concat([Buffer.from(`${MAGIC}${head}\n`), fresh.data])).catch(() => undefined)
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
      const key = keyOf(ref, budget)
      // A follow-up finds its earlier images only here: using one keeps it, as get does.
      const found = memory.get(key)
      if (found) return remember(key, found).catch(() => null)
      if (!dir) return null
      await ready
      const kept = await fromDisk(join(dir, `${key}.prepared`))
      if (kept) remember(key, Promise.resolve(kept))
      return kept
    },

    get(ref, budget, prepare) {
      const key = keyOf(ref, budget)
      const found = memory.get(key)
      if (found) return remember(key, found)
      const pending = remember(key, load(key, prepare))
      // A failed preparation (a broken image) is not kept: its error is said each time.
      pending.catch(() => memory.get(key) === pending && memory.delete(key))
      return pending
    },
  }
}

/** Makes the folder, and removes the oldest files beyond the size bound. */
async function trim(dir: string, maxBytes: number): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    const names = (await readdir(dir)).filter((n) => n.endsWith('.prepared'))
    const files = await Promise.all(names.map(async (name) => ({ name, ...(await stat(join(dir, name))) })))
    let total = files.reduce((sum, f) => sum + f.size, 0)
    for (const file of files.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      if (total <= maxBytes) break
      await rm(join(dir, file.name), { force: true })
      total -= file.size
    }
  } catch {
    // An unusable folder: the memory cache still works.
  }
}
