// Model downloads as units: a model and its projector download together into a staging
// folder (MODELS/.downloads/ID, which the library never looks in), each file checked
// against its SHA-256 (or the git blob SHA-1 of a file the hub keeps in git), and only when
// every file is checked do they move into MODELS/FOLDER together. A file the hub publishes
// no checksum for is downloaded but shown as unverified, never passed off as checked (and the
// library keeps saying so: unverified.ts). One
// download runs at a time; the rest wait in order. The list is saved, so a download paused
// (or cut off by quitting) resumes from its last byte after a restart.
//
// What a request means in files is download-plan.ts's; the saved list, download-list.ts's;
// running one download and installing it, download-run.ts's; the window's view of one,
// download-view.ts's.
import { randomUUID } from 'node:crypto'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes, type Catalog, type DownloadJob, type DownloadStart } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { DownloadOptions } from './downloader.js'
import type { Hub } from './hub.js'
import { freeSpace } from './disk.js'
import { OCR_PACKS, type OcrPack } from '../ocr/languages.js'
import { bytesOnDisk, DownloadList, type PlannedFile, type StoredJob } from './download-list.js'
import { planDownload } from './download-plan.js'
import { runJob } from './download-run.js'
import { viewJob, type JobProgress } from './download-view.js'

export type { PlannedFile } from './download-list.js'

export interface DownloadManagerOptions {
  /** The models folder. */
  root: string
  hub: Hub
  catalog: Catalog
  onChange?(jobs: DownloadJob[]): void
  /** A download finished: new files are in the library. */
  onLibraryChanged?(): void
  /** The text layer's language packs ('ocr' downloads); the app's own list by default. */
  ocrPacks?: readonly OcrPack[]
  /** Passed to each file's download (retries, backoff, test seams). */
  downloadOptions?: Omit<DownloadOptions, 'signal' | 'onProgress'>
}

interface Live extends JobProgress {
  controller: AbortController | null
  running: Promise<void> | null
}

const idle = (downloaded: number[]): Live => ({
  downloaded,
  bytesPerSecond: null,
  etaSeconds: null,
  retry: null,
  controller: null,
  running: null,
})

export class DownloadManager {
  private jobs: StoredJob[] = []
  /** Saved jobs this version cannot read: written back as they were, and their staging folders kept. */
  private unreadable: unknown[] = []
  private live = new Map<string, Live>()
  private pumping = false
  private closed = false
  /** Starts in turn: two starts of one model both passed the duplicate check while the file list loaded. */
  private starting: Promise<unknown> = Promise.resolve()
  private readonly saved: DownloadList

  private constructor(private readonly options: DownloadManagerOptions) {
    this.saved = new DownloadList(join(options.root, '.downloads'))
  }

  static async open(options: DownloadManagerOptions): Promise<DownloadManager> {
    const manager = new DownloadManager(options)
    await manager.restore()
    return manager
  }

  private async restore(): Promise<void> {
    const saved = await this.saved.read()
    if (!saved) return
    this.unreadable = saved.unreadable
    for (const job of saved.jobs) this.live.set(job.id, idle(await bytesOnDisk(job, this.jobDir(job.id))))
    this.jobs = saved.jobs
    await this.saved.removeLeftovers(saved.owned)
  }

  list(): DownloadJob[] {
    return this.jobs.map((job) => this.view(job))
  }

  /** Starts (or queues) a download of a model and its projector. */
  start(request: DownloadStart): Promise<DownloadJob> {
    const started = this.starting.then(() => this.startNow(request))
    this.starting = started.catch(() => undefined)
    return started
  }

  private async startNow(request: DownloadStart): Promise<DownloadJob> {
    const { hub, catalog, ocrPacks = OCR_PACKS } = this.options
    const planned = await planDownload(hub, catalog, ocrPacks, request)
    const { title, catalogId, ocrPack, folder } = planned
    const existing = this.jobs.find((j) => j.folder === folder && j.state !== 'done')
    if (existing) {
      const missing = planned.files.filter((f) => !existing.files.some((e) => e.fileName === f.fileName))
      if (missing.length === 0) return this.view(existing)
      throw new AppError(
        'busy',
        `${existing.title} is already in the download list without ${missing.map((f) => f.fileName).join(' and ')}. Download again once it has finished to add ${missing.length > 1 ? 'them' : 'it'}.`,
      )
    }
    // A file already in the library is not fetched again: a model downloaded text-only gets its
    // projector alone. It stays in the job as done, so the job still names the whole pair.
    const present = await Promise.all(planned.files.map((f) => this.inLibrary(folder, f)))
    if (present.every(Boolean)) throw new AppError('busy', `${planned.files[0]!.fileName} is already in your library.`)
    const files = planned.files.map((f, i) => (present[i] ? { ...f, done: true } : f))
    const needed = files.reduce((n, f) => n + (f.done ? 0 : f.size), 0)
    const free = await (this.options.downloadOptions?.freeSpace ?? freeSpace)(this.options.root)
    if (free < needed)
      throw new AppError('storage', `Not enough disk space for ${title}: it needs ${formatBytes(needed)}, ${formatBytes(free)} is free.`)

    const job: StoredJob = { id: randomUUID(), title, catalogId, ocrPack, folder, files, state: 'queued', error: null }
    this.jobs.push(job)
    this.live.set(job.id, idle(files.map((f) => (f.done ? f.size : 0))))
    // Not saved, not started: no job is left queued that would never run.
    await this.savedOrUndone(() => this.forget(job.id))
    void this.pump()
    return this.view(job)
  }

  /**
   * Whether the library holds this file already. One of the same name but another size is
   * another file (a model from another repository: the folder is named by the file), refused:
   * it was taken for this download's checked file, and a projector was paired with it.
   */
  private async inLibrary(folder: string, file: PlannedFile): Promise<boolean> {
    const size = await stat(join(this.options.root, folder, file.fileName)).then(
      (s) => s.size,
      () => null,
    )
    if (size === null) return false
    if (size !== file.size)
      throw new AppError(
        'busy',
        `Your library already has another ${file.fileName} (in ${folder}: ${formatBytes(size)}, not the ${formatBytes(file.size)} of this download). Delete it from the library first to download this one.`,
      )
    return true
  }

  async pause(id: string): Promise<DownloadJob[]> {
    const job = this.find(id)
    if (job.state === 'queued') job.state = 'paused'
    else if (job.state === 'downloading' || job.state === 'verifying') await this.stop(job)
    await this.changed(true)
    return this.list()
  }

  async resume(id: string): Promise<DownloadJob[]> {
    const job = this.find(id)
    if (job.state === 'paused' || job.state === 'failed') {
      const before = { state: job.state, error: job.error }
      job.state = 'queued'
      job.error = null
      // Not saved, not queued: a job shown as waiting would never run.
      await this.savedOrUndone(() => Object.assign(job, before))
      void this.pump()
    }
    return this.list()
  }

  /** Stops a download and deletes what it had fetched (the renderer asks the user first). */
  async cancel(id: string): Promise<DownloadJob[]> {
    const job = this.find(id)
    if (job.state === 'done') throw new AppError('busy', `${job.title} has finished downloading; delete it from the library instead.`)
    await this.stop(job)
    await rm(this.jobDir(id), { recursive: true, force: true })
    this.forget(id)
    await this.changed(true)
    void this.pump()
    return this.list()
  }

  /** Removes a finished or failed download from the list. */
  async dismiss(id: string): Promise<DownloadJob[]> {
    const job = this.find(id)
    if (job.state !== 'done' && job.state !== 'failed')
      throw new AppError('busy', `${job.title} is not finished; pause or cancel it instead.`)
    if (job.state === 'failed') await rm(this.jobDir(id), { recursive: true, force: true })
    this.forget(id)
    await this.changed(true)
    return this.list()
  }

  /** App quit: stop transfers, keep their state so they resume next time. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all(
      this.jobs.map(async (job) => {
        const live = this.live.get(job.id)
        live?.controller?.abort()
        await live?.running
      }),
    )
  }

  private forget(id: string): void {
    this.jobs = this.jobs.filter((j) => j.id !== id)
    this.live.delete(id)
  }

  private async stop(job: StoredJob): Promise<void> {
    const live = this.live.get(job.id)
    live?.controller?.abort()
    await live?.running
    if (job.state === 'downloading' || job.state === 'verifying' || job.state === 'queued') job.state = 'paused'
  }

  private find(id: string): StoredJob {
    const job = this.jobs.find((j) => j.id === id)
    if (!job) throw new AppError('not-found', 'That download is no longer in the list.')
    return job
  }

  private jobDir(id: string): string {
    return this.saved.jobDir(id)
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return
    this.pumping = true
    try {
      for (;;) {
        const next = this.jobs.find((j) => j.state === 'queued')
        if (!next || this.closed) return
        const live = this.live.get(next.id)!
        live.controller = new AbortController()
        live.running = runJob(next, live, {
          root: this.options.root,
          dir: this.jobDir(next.id),
          signal: live.controller.signal,
          downloadOptions: this.options.downloadOptions,
          changed: (save) => this.changed(save),
          closing: () => this.closed,
          onLibraryChanged: () => this.options.onLibraryChanged?.(),
        })
        await live.running
        live.controller = null
        live.running = null
      }
    } finally {
      this.pumping = false
    }
  }

  private view(job: StoredJob): DownloadJob {
    return viewJob(this.options.root, job, this.live.get(job.id))
  }

  /** Tells the window; saves the list when a state changed (progress alone is not saved). */
  private async changed(save: boolean): Promise<void> {
    this.options.onChange?.(this.list())
    if (!save) return
    try {
      await this.saved.write([...this.jobs, ...this.unreadable])
    } catch (error) {
      throw new AppError('storage', `The models folder cannot be written (${this.options.root}): ${(error as Error).message}`)
    }
  }

  /** Saves a change, or undoes it (and shows the list as it was) and throws the storage error. */
  private async savedOrUndone(undo: () => void): Promise<void> {
    try {
      await this.changed(true)
    } catch (error) {
      undo()
      this.options.onChange?.(this.list())
      throw error
    }
  }
}
