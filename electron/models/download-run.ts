// Running one download: its files fetched in turn into its staging folder, each checked
// against its checksum (downloader.ts), its progress kept for the window, and only when every
// file is checked, the files moved into the library together.
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesOnDisk, checksumOf, INTERRUPTED, type StoredJob } from './download-list.js'
import type { JobProgress } from './download-view.js'
import { ChecksumRefused, downloadFile, type DownloadOptions } from './downloader.js'
import { exists } from './disk.js'
import { UnverifiedFiles } from './unverified.js'

export interface JobRun {
  /** The models folder. */
  root: string
  /** The job's staging folder. */
  dir: string
  signal: AbortSignal
  downloadOptions: Omit<DownloadOptions, 'signal' | 'onProgress'> | undefined
  /** Tells the window; saves the list when a state changed (throws when it cannot be saved). */
  changed(save: boolean): Promise<void>
  /** The app is quitting: a download stopped now was interrupted, and says so. */
  closing(): boolean
  /** A download finished: new files are in the library. */
  onLibraryChanged?(): void
}

/** Never rejects: the queue goes on to the next job whatever became of this one. */
export async function runJob(job: StoredJob, live: JobProgress, run: JobRun): Promise<void> {
  const { dir, signal } = run
  // A job's end, shown to the window even when the list cannot be saved (a full disk): the job
  // keeps its state here and the list is saved with the next change. Failing here stopped the
  // queue, and quitting, over a file the user never sees.
  const changedBestEffort = (): Promise<void> => run.changed(true).catch(() => undefined)
  job.state = 'downloading'
  job.error = null
  try {
    await run.changed(true)
    await mkdir(dir, { recursive: true })
    for (const [index, file] of job.files.entries()) {
      if (file.done) continue
      await downloadFile(
        {
          url: file.url,
          fileName: file.fileName,
          sha256: file.sha256 ?? undefined,
          gitBlobSha1: file.gitBlobSha1 ?? undefined,
          size: file.size,
          refused: file.refused,
        },
        dir,
        {
          ...run.downloadOptions,
          signal,
          onProgress: (p) => {
            live.downloaded[index] = p.downloadedBytes
            live.bytesPerSecond = p.bytesPerSecond
            live.retry = p.retry
            const remaining = job.files.reduce((n, f, i) => n + f.size - (live.downloaded[i] ?? 0), 0)
            live.etaSeconds = p.bytesPerSecond > 0 ? remaining / p.bytesPerSecond : null
            job.state = p.downloadedBytes >= file.size ? 'verifying' : 'downloading'
            void run.changed(false)
          },
        },
      )
      file.done = true
      live.downloaded[index] = file.size
      await run.changed(true)
    }
    await install(run.root, dir, job)
    job.state = 'done'
    live.bytesPerSecond = null
    live.etaSeconds = null
    live.retry = null
    await changedBestEffort()
    run.onLibraryChanged?.()
  } catch (error) {
    // Remembered with the job, so the same wrong bytes after a retry are known for the server's file.
    if (error instanceof ChecksumRefused) {
      const refused = job.files.find((f) => !f.done)
      if (refused) refused.refused = error.actual
    }
    live.bytesPerSecond = null
    live.etaSeconds = null
    live.retry = null
    if (signal.aborted) {
      job.state = 'paused'
      if (run.closing()) job.error = INTERRUPTED
    } else {
      // What is on disk now (a refused checksum deleted that file's bytes), before anyone sees the failure.
      live.downloaded = await bytesOnDisk(job, dir)
      job.state = 'failed'
      job.error = error instanceof Error ? error.message : String(error)
    }
    await changedBestEffort()
  }
}

/** Moves the verified files into the library together, then removes the staging folder. */
async function install(root: string, dir: string, job: StoredJob): Promise<void> {
  const target = join(root, job.folder)
  await mkdir(target, { recursive: true })
  const moves = []
  for (const f of job.files) {
    const from = join(dir, f.fileName)
    // Already in place: a file the library had, or one moved before the app stopped mid-install.
    if (!(await exists(from)) && (await exists(join(target, f.fileName)))) continue
    moves.push({ file: f, from, to: join(target, f.fileName) })
  }
  // Recorded before the files move, so no model reaches the library without its warning; the
  // record of a file this download replaces checked is dropped. (Language packs are not models.)
  const models = moves.filter((m) => m.file.role === 'model' || m.file.role === 'mmproj')
  await new UnverifiedFiles(root).update(
    models.filter((m) => checksumOf(m.file) === null).map((m) => m.to),
    models.filter((m) => checksumOf(m.file) !== null).map((m) => m.to),
  )
  for (const m of moves) await rename(m.from, m.to)
  await rm(dir, { recursive: true, force: true })
}
