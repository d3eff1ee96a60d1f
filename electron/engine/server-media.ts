// The images of a conversation go to the llama-server child as files in a private folder
// (--media-path, file:// URLs), each written once and named by its content's hash, instead of as
// base64 inside every request. A follow-up sends every earlier image again, and the server then
// parsed and decoded megabytes of base64 in JSON per turn: with eight 150 KB screenshots that was
// 20 ms of a follow-up's first token where the files take 3 ms (bench:followup, preparedScreens8).
import { readdirSync, rmSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PreparedImage } from '../images/prepare.js'
import { refOf } from '../images/prepared-cache.js'
import type { BackendImage } from './types.js'

const PREFIX = 'lva-media-'

/** Files kept for the conversations of one loaded model; older ones not in use go first. */
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024

export interface MediaLease {
  /** The file:// URL the server reads this image from (it must be one the lease was taken for). */
  url(image: PreparedImage): string
  /** The request is done with its files: they may be removed to make room. */
  release(): void
}

export interface MediaFolder {
  dir: string
  /** Writes what is not written yet, and keeps these files until release. */
  lease(images: BackendImage[]): Promise<MediaLease>
  /** The files on record now (name, bytes), oldest use first: for tests. */
  files(): [string, number][]
  /** Files found missing: nothing is on record any more, so the next lease writes what it needs again. */
  forget(): void
  /**
   * Removes the files prepared from these pictures (a deleted conversation's), named by content
   * key or its first 32 digits (the chat store's image ids): at once, or when the requests reading
   * them end. A file another picture was leased as too (the same pixels attached as another file)
   * stays: that picture's conversation still reads it.
   */
  removeFilesOf(sources: string[]): Promise<void>
  dispose(): Promise<void>
}

interface Entry {
  bytes: number
  written: Promise<void>
  inUse: number
  /** The first 32 digits of the content keys of the pictures leased as this file. */
  sources: Set<string>
  /** Every picture it was leased as is gone: removed once no request reads it. */
  dropped: boolean
}

/** A content key as refOf gives it, or the chat store's first 32 digits of one. */
const SOURCE = /^[0-9a-f]{32,64}$/
const sourceKey = (source: string): string => source.slice(0, 32)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Folders left by an engine that was killed before it could remove its own (the pid is in the
 * name): a crash, Windows ending the process at quit. Swept as an engine process starts, not only
 * as it starts a vision server, so a user's screenshots do not wait in the temporary folder for a
 * vision model they may never load again.
 */
export async function removeOrphanMediaFolders(root: string = tmpdir()): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[])
  const orphans = names.filter((name) => {
    if (!name.startsWith(PREFIX)) return false
    const pid = Number(name.slice(PREFIX.length).split('-')[0])
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)
  })
  await Promise.all(orphans.map((name) => rm(join(root, name), { recursive: true, force: true }).catch(() => undefined)))
}

/**
 * Removes this process's folders at once, for an engine told to end (SIGTERM: the app quitting),
 * which runs no further await: the pictures of the conversations go with the app rather than
 * waiting for the next start's sweep.
 */
export function removeOwnMediaFoldersSync(root: string = tmpdir()): void {
  const own = `${PREFIX}${process.pid}-`
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(own)) continue
    try {
      rmSync(join(root, name), { recursive: true, force: true })
    } catch {
      // The next engine's sweep takes what is left.
    }
  }
}

export async function createMediaFolder(options: { root?: string; maxBytes?: number } = {}): Promise<MediaFolder> {
  const root = options.root ?? tmpdir()
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  await removeOrphanMediaFolders(root)
  // mkdtemp makes it 0700: no other user reads the pictures or puts one in their place.
  const dir = await mkdtemp(join(root, `${PREFIX}${process.pid}-`))
  // Insertion order is the order of last use: a file used again is moved to the end.
  const entries = new Map<string, Entry>()
  let total = 0
  let disposed = false

  // refOf hashes a Buffer once: the same prepared image comes back as the same Buffer.
  const nameOf = (image: PreparedImage): string => `${refOf(image.data).slice(0, 40)}.${image.mime === 'image/png' ? 'png' : 'jpg'}`

  /** Takes a file off record and removes it once written (a failed write removed it from record already). */
  const remove = (name: string, entry: Entry): Promise<void> => {
    if (entries.get(name) === entry) {
      entries.delete(name)
      total -= entry.bytes
    }
    return entry.written.then(() => rm(join(dir, name), { force: true })).catch(() => undefined)
  }

  const prune = (): void => {
    for (const [name, entry] of entries) {
      if (total <= maxBytes) break
      if (entry.inUse > 0) continue
      void remove(name, entry)
    }
  }

  return {
    dir,
    async lease(images) {
      if (disposed) throw new Error('the media folder is gone with its model')
      const held: Entry[] = []
      const names = new Set<string>()
      for (const image of images) {
        const name = nameOf(image)
        let entry = entries.get(name)
        if (entry) entries.delete(name)
        else {
          // The server may read a file only once it is whole: every request waits on the one write.
          const fresh: Entry = {
            bytes: image.data.byteLength,
            inUse: 0,
            written: Promise.resolve(),
            sources: new Set(),
            dropped: false,
          }
          fresh.written = writeFile(join(dir, name), image.data, { mode: 0o600 }).catch((error: unknown) => {
            // Not on record: the next request writes it again.
            if (entries.get(name) === fresh) {
              entries.delete(name)
              total -= fresh.bytes
            }
            throw error
          })
          entry = fresh
          total += entry.bytes
        }
        entries.set(name, entry)
        entry.inUse++
        // A file waiting to be removed is kept for a picture leased as it again.
        if (image.source && SOURCE.test(image.source)) {
          entry.sources.add(sourceKey(image.source))
          entry.dropped = false
        }
        held.push(entry)
        names.add(name)
      }
      try {
        await Promise.all(held.map((e) => e.written))
      } catch (error) {
        for (const e of held) e.inUse--
        throw error
      }
      prune()
      let released = false
      return {
        url(image) {
          const name = nameOf(image)
          if (!names.has(name)) throw new Error('an image outside this lease')
          return `file://${name}`
        },
        release() {
          if (released) return
          released = true
          for (const e of held) e.inUse--
          for (const name of names) {
            const e = entries.get(name)
            if (e?.dropped && e.inUse === 0) void remove(name, e)
          }
          prune()
        },
      }
    },
    files: () => [...entries].map(([name, e]) => [name, e.bytes]),
    forget() {
      entries.clear()
      total = 0
    },
    async removeFilesOf(sources) {
      const gone = new Set(sources.filter((source) => SOURCE.test(source)).map(sourceKey))
      const removals: Promise<void>[] = []
      for (const [name, entry] of [...entries]) {
        const before = entry.sources.size
        for (const source of gone) entry.sources.delete(source)
        if (entry.sources.size === before || entry.sources.size > 0) continue
        entry.dropped = true
        if (entry.inUse === 0) removals.push(remove(name, entry))
      }
      await Promise.all(removals)
    },
    async dispose() {
      disposed = true
      entries.clear()
      await rm(dir, { recursive: true, force: true }).catch(() => undefined)
    },
  }
}

/** llama-server's refusal of a file:// image it cannot open (tools/server/server-common.cpp). */
const MISSING_FILE = /file does not exist or cannot be opened/

/**
 * Runs a request with these images as files, released when it is done. A full or unwritable
 * disk costs speed, not the answer: the request runs without files (its images inline).
 */
export async function withMediaFiles<T>(
  media: MediaFolder,
  images: BackendImage[],
  signal: AbortSignal,
  run: (lease: MediaLease | null) => Promise<T>,
  log?: (text: string) => void,
): Promise<T> {
  const leaseFiles = async (): Promise<MediaLease | null> => {
    try {
      return await media.lease(images)
    } catch (error) {
      log?.(`media folder: ${(error as Error).message}; images are sent inline\n`)
      return null
    }
  }
  let lease = await leaseFiles()
  try {
    try {
      return await run(lease)
    } catch (error) {
      // A file written for an earlier turn is gone from under the engine (a temp-folder
      // cleaner): the server refuses before answering, so asking again loses nothing.
      if (!lease || signal.aborted || !MISSING_FILE.test((error as Error).message)) throw error
      lease.release()
      media.forget()
      lease = await leaseFiles()
      return await run(lease)
    }
  } finally {
    lease?.release()
  }
}
