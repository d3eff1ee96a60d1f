// The download list, saved as MODELS/.downloads/downloads.json beside each download's staging
// folder (.downloads/ID, which the library never looks in): what each download is (its files,
// their sizes and checksums) and how far it got, so a download paused (or cut off by quitting)
// resumes from its last byte after a restart.
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import type { DownloadChecksum } from '../ipc/contract.js'
import { exists } from './disk.js'
import { partialBytes } from './partial-file.js'

const StoredFile = z.object({
  url: z.string(),
  fileName: z.string(),
  role: z.enum(['model', 'mmproj', 'ocr-model', 'ocr-dictionary']),
  size: z.number(),
  sha256: z.string().nullable(),
  // Lists saved before git blob checks had none.
  gitBlobSha1: z.string().nullable().default(null),
  // What the file's bytes gave when a whole download of it failed its checksum; none until one did.
  refused: z.string().optional(),
  done: z.boolean(),
})
const StoredJob = z.object({
  id: z.uuid(),
  title: z.string(),
  catalogId: z.string().nullable(),
  // Lists saved before language packs had none.
  ocrPack: z.string().nullable().default(null),
  folder: z.string(),
  files: z.array(StoredFile),
  state: z.enum(['queued', 'downloading', 'verifying', 'paused', 'failed', 'done']),
  error: z.string().nullable(),
})
export type StoredJob = z.infer<typeof StoredJob>
/** One file of a download as it is planned and saved: where it comes from, its name, size and checksums. */
export type PlannedFile = z.infer<typeof StoredFile>

export const INTERRUPTED = 'Interrupted when the app closed. Resume to continue from where it stopped.'

export function checksumOf(file: PlannedFile): DownloadChecksum | null {
  return file.sha256 ? 'sha256' : file.gitBlobSha1 ? 'git-blob-sha1' : null
}

/** Bytes of each file already on disk: whole when verified, else what its partial file holds. */
export function bytesOnDisk(job: StoredJob, dir: string): Promise<number[]> {
  return Promise.all(job.files.map((f) => (f.done ? f.size : partialBytes(dir, f.fileName))))
}

export interface SavedDownloads {
  jobs: StoredJob[]
  /** Saved jobs this version cannot read: written back as they were, and their staging folders kept. */
  unreadable: unknown[]
  /** Every id the list names, readable or not: their staging folders are not leftovers. */
  owned: Set<string>
}

export class DownloadList {
  constructor(readonly staging: string) {}

  jobDir(id: string): string {
    return join(this.staging, id)
  }

  private get file(): string {
    return join(this.staging, 'downloads.json')
  }

  /** Where a list that could not be read is kept, for the user or a later version. */
  private get setAside(): string {
    return join(this.staging, 'downloads.json.unreadable')
  }

  /** The saved downloads; null when the list cannot be read at all (it is set aside). */
  async read(): Promise<SavedDownloads | null> {
    let entries: unknown[]
    try {
      const text = await readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '[]'
        throw error
      })
      const parsed: unknown = JSON.parse(text)
      if (!Array.isArray(parsed)) throw new Error('not a list')
      entries = parsed
    } catch {
      // A list that cannot be read at all: set aside, and no staging folder is touched (now or
      // at a later start, while it is there), so no partial download is lost over it.
      await rename(this.file, this.setAside).catch(() => undefined)
      return null
    }
    // Each job on its own: one this version cannot read (a field it does not know) no longer
    // stopped the manager, and with it the app, from starting.
    const saved: SavedDownloads = { jobs: [], unreadable: [], owned: new Set() }
    for (const entry of entries) {
      const job = StoredJob.safeParse(entry)
      if (job.success) saved.jobs.push(job.data)
      else saved.unreadable.push(entry)
      const id = (entry as { id?: unknown } | null)?.id
      if (typeof id === 'string') saved.owned.add(id)
    }
    for (const job of saved.jobs) {
      // What was running when the app quit waits for the user: no surprise traffic at start-up.
      if (job.state === 'downloading' || job.state === 'verifying' || job.state === 'queued')
        Object.assign(job, { state: 'paused', error: INTERRUPTED })
    }
    return saved
  }

  /** Frees the space of staging folders no saved download owns: leftovers (a crash between steps). */
  async removeLeftovers(owned: Set<string>): Promise<void> {
    if (await exists(this.setAside)) return
    for (const entry of await readdir(this.staging).catch(() => [])) {
      if (entry !== 'downloads.json' && !owned.has(entry)) await rm(join(this.staging, entry), { recursive: true, force: true })
    }
  }

  async write(entries: readonly unknown[]): Promise<void> {
    await mkdir(this.staging, { recursive: true })
    await writeFileAtomic(this.file, JSON.stringify(entries, null, 1), { fsync: true })
  }
}
