// Model downloads as units: a model and its projector download together into a staging
// folder (MODELS/.downloads/ID, which the library never looks in), each file checked
// against its SHA-256 (or the git blob SHA-1 of a file the hub keeps in git), and only when
// every file is checked do they move into MODELS/FOLDER together. A file the hub publishes
// no checksum for is downloaded but shown as unverified, never passed off as checked (and the
// library keeps saying so: unverified.ts). One
// download runs at a time; the rest wait in order. The list is saved, so a download paused
// (or cut off by quitting) resumes from its last byte after a restart.
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import {
  formatBytes,
  type Catalog,
  type DownloadChecksum,
  type DownloadJob,
  type DownloadRetry,
  type DownloadStart,
  type HubFile,
} from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { downloadFile, partialBytes, type DownloadOptions } from './downloader.js'
import type { Hub } from './hub.js'
import { exists, freeSpace } from './disk.js'
import { OCR_PACKS, type OcrPack } from '../ocr/languages.js'
import { resolveOcrPack } from './ocr-packs.js'
import { UnverifiedFiles } from './unverified.js'

const StoredFile = z.object({
  url: z.string(),
  fileName: z.string(),
  role: z.enum(['model', 'mmproj', 'ocr-model', 'ocr-dictionary']),
  size: z.number(),
  sha256: z.string().nullable(),
  // Lists saved before git blob checks had none.
  gitBlobSha1: z.string().nullable().default(null),
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
type StoredJob = z.infer<typeof StoredJob>
/** One file of a download as it is planned and saved: where it comes from, its name, size and checksums. */
export type PlannedFile = z.infer<typeof StoredFile>

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

interface Live {
  downloaded: number[]
  bytesPerSecond: number | null
  etaSeconds: number | null
  retry: DownloadRetry | null
  controller: AbortController | null
  running: Promise<void> | null
}

const INTERRUPTED = 'Interrupted when the app closed. Resume to continue from where it stopped.'

export class DownloadManager {
  private jobs: StoredJob[] = []
  /** Saved jobs this version cannot read: written back as they were, and their staging folders kept. */
  private unreadable: unknown[] = []
  private live = new Map<string, Live>()
  private pumping = false
  private closed = false
  /** Starts in turn: two starts of one model both passed the duplicate check while the file list loaded. */
  private starting: Promise<unknown> = Promise.resolve()

  private constructor(private readonly options: DownloadManagerOptions) {}

  static async open(options: DownloadManagerOptions): Promise<DownloadManager> {
    const manager = new DownloadManager(options)
    await manager.restore()
    return manager
  }

  private get staging(): string {
    return join(this.options.root, '.downloads')
  }

  private listFile(): string {
    return join(this.staging, 'downloads.json')
  }

  /** Where a list that could not be read is kept, for the user or a later version. */
  private setAsideFile(): string {
    return join(this.staging, 'downloads.json.unreadable')
  }

  private async restore(): Promise<void> {
    let entries: unknown[]
    try {
      const text = await readFile(this.listFile(), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '[]'
        throw error
      })
      const parsed: unknown = JSON.parse(text)
      if (!Array.isArray(parsed)) throw new Error('not a list')
      entries = parsed
    } catch {
      // A list that cannot be read at all: set aside, and no staging folder is touched (now or
      // at a later start, while it is there), so no partial download is lost over it.
      await rename(this.listFile(), this.setAsideFile()).catch(() => undefined)
      return
    }
    // Each job on its own: one this version cannot read (a field it does not know) no longer
    // stopped the manager, and with it the app, from starting.
    const saved: StoredJob[] = []
    const owned = new Set<string>()
    for (const entry of entries) {
      const job = StoredJob.safeParse(entry)
      if (job.success) saved.push(job.data)
      else this.unreadable.push(entry)
      const id = (entry as { id?: unknown } | null)?.id
      if (typeof id === 'string') owned.add(id)
    }
    for (const job of saved) {
      // What was running when the app quit waits for the user: no surprise traffic at start-up.
      if (job.state === 'downloading' || job.state === 'verifying' || job.state === 'queued')
        Object.assign(job, { state: 'paused', error: INTERRUPTED })
      this.live.set(job.id, {
        downloaded: await this.onDisk(job),
        bytesPerSecond: null,
        etaSeconds: null,
        retry: null,
        controller: null,
        running: null,
      })
    }
    this.jobs = saved
    if (await exists(this.setAsideFile())) return
    // Staging folders no saved download owns are leftovers (a crash between steps): free the space.
    for (const entry of await readdir(this.staging).catch(() => [])) {
      if (entry !== 'downloads.json' && !owned.has(entry)) await rm(join(this.staging, entry), { recursive: true, force: true })
    }
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
    const planned =
      request.source === 'ocr'
        ? await resolveOcrPack(this.options.hub, this.options.ocrPacks ?? OCR_PACKS, request.id)
        : { ...(await this.resolve(request)), ocrPack: null }
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
    const present = await Promise.all(planned.files.map((f) => exists(join(this.options.root, folder, f.fileName))))
    if (present.every(Boolean)) throw new AppError('busy', `${planned.files[0]!.fileName} is already in your library.`)
    const files = planned.files.map((f, i) => (present[i] ? { ...f, done: true } : f))
    const needed = files.reduce((n, f) => n + (f.done ? 0 : f.size), 0)
    const free = await (this.options.downloadOptions?.freeSpace ?? freeSpace)(this.options.root)
    if (free < needed)
      throw new AppError('storage', `Not enough disk space for ${title}: it needs ${formatBytes(needed)}, ${formatBytes(free)} is free.`)

    const job: StoredJob = { id: randomUUID(), title, catalogId, ocrPack, folder, files, state: 'queued', error: null }
    this.jobs.push(job)
    this.live.set(job.id, {
      downloaded: files.map((f) => (f.done ? f.size : 0)),
      bytesPerSecond: null,
      etaSeconds: null,
      retry: null,
      controller: null,
      running: null,
    })
    // Not saved, not started: no job is left queued that would never run.
    await this.savedOrUndone(() => this.forget(job.id))
    void this.pump()
    return this.view(job)
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

  /** Bytes of each file already on disk: whole when verified, else what its partial file holds. */
  private onDisk(job: StoredJob): Promise<number[]> {
    return Promise.all(job.files.map((f) => (f.done ? f.size : partialBytes(this.jobDir(job.id), f.fileName))))
  }

  private jobDir(id: string): string {
    return join(this.staging, id)
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
        live.running = this.run(next, live, live.controller.signal)
        await live.running
        live.controller = null
        live.running = null
      }
    } finally {
      this.pumping = false
    }
  }

  /** Never rejects: the queue goes on to the next job whatever became of this one. */
  private async run(job: StoredJob, live: Live, signal: AbortSignal): Promise<void> {
    job.state = 'downloading'
    job.error = null
    const dir = this.jobDir(job.id)
    try {
      await this.changed(true)
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
          },
          dir,
          {
            ...this.options.downloadOptions,
            signal,
            onProgress: (p) => {
              live.downloaded[index] = p.downloadedBytes
              live.bytesPerSecond = p.bytesPerSecond
              live.retry = p.retry
              const remaining = job.files.reduce((n, f, i) => n + f.size - (live.downloaded[i] ?? 0), 0)
              live.etaSeconds = p.bytesPerSecond > 0 ? remaining / p.bytesPerSecond : null
              job.state = p.downloadedBytes >= file.size ? 'verifying' : 'downloading'
              void this.changed(false)
            },
          },
        )
        file.done = true
        live.downloaded[index] = file.size
        await this.changed(true)
      }
      await this.install(job)
      job.state = 'done'
      live.bytesPerSecond = null
      live.etaSeconds = null
      live.retry = null
      await this.changedBestEffort()
      this.options.onLibraryChanged?.()
    } catch (error) {
      live.bytesPerSecond = null
      live.etaSeconds = null
      live.retry = null
      if (signal.aborted) {
        job.state = 'paused'
        if (this.closed) job.error = INTERRUPTED
      } else {
        // What is on disk now (a refused checksum deleted that file's bytes), before anyone sees the failure.
        live.downloaded = await this.onDisk(job)
        job.state = 'failed'
        job.error = error instanceof Error ? error.message : String(error)
      }
      await this.changedBestEffort()
    }
  }

  /** Moves the verified files into the library together, then removes the staging folder. */
  private async install(job: StoredJob): Promise<void> {
    const target = join(this.options.root, job.folder)
    await mkdir(target, { recursive: true })
    const moves = []
    for (const f of job.files) {
      const from = join(this.jobDir(job.id), f.fileName)
      // Already in place: a file the library had, or one moved before the app stopped mid-install.
      if (!(await exists(from)) && (await exists(join(target, f.fileName)))) continue
      moves.push({ file: f, from, to: join(target, f.fileName) })
    }
    // Recorded before the files move, so no model reaches the library without its warning; the
    // record of a file this download replaces checked is dropped. (Language packs are not models.)
    const models = moves.filter((m) => m.file.role === 'model' || m.file.role === 'mmproj')
    await new UnverifiedFiles(this.options.root).update(
      models.filter((m) => checksumOf(m.file) === null).map((m) => m.to),
      models.filter((m) => checksumOf(m.file) !== null).map((m) => m.to),
    )
    for (const m of moves) await rename(m.from, m.to)
    await rm(this.jobDir(job.id), { recursive: true, force: true })
  }

  private async resolve(
    request: Exclude<DownloadStart, { source: 'ocr' }>,
  ): Promise<Pick<StoredJob, 'title' | 'catalogId' | 'folder' | 'files'>> {
    const { hub, catalog } = this.options
    let repo: string
    let revision = 'main'
    let title: string
    let wanted: { role: 'model' | 'mmproj'; path: string; sha256: string | null }[]
    if (request.source === 'catalog') {
      const entry = catalog.entries.find((e) => e.id === request.id)
      if (!entry) throw new AppError('not-found', `There is no catalog model “${request.id}”.`)
      const model = request.quantisation ? entry.models.find((m) => m.quantisation === request.quantisation) : entry.models[0]
      if (!model) throw new AppError('not-found', `${entry.name} has no ${request.quantisation} file in the catalog.`)
      repo = entry.repo
      revision = entry.revision
      title = `${entry.name} (${model.quantisation})`
      wanted = [
        { role: 'model', path: model.file, sha256: model.sha256 },
        { role: 'mmproj', path: entry.mmproj.file, sha256: entry.mmproj.sha256 },
      ]
    } else {
      repo = request.repo
      title = `${request.model
        .split('/')
        .pop()!
        .replace(/\.gguf$/i, '')}${request.mmproj ? '' : ' (text only)'}`
      wanted = [
        { role: 'model', path: request.model, sha256: null },
        ...(request.mmproj ? [{ role: 'mmproj' as const, path: request.mmproj, sha256: null }] : []),
      ]
    }
    const listing = await hub.repoFiles(repo, revision)
    const all = [...listing.models, ...listing.projectors]
    const files = wanted.map(({ role, path, sha256 }) => {
      const remote: HubFile | undefined = all.find((f) => f.path === path)
      if (!remote) throw new AppError('not-found', `${path} is not in ${repo} on Hugging Face.`)
      if (sha256 && remote.sha256 && sha256 !== remote.sha256) {
        throw new AppError(
          'bad-model-file',
          `${path} on Hugging Face is not the file this catalog names (its SHA-256 changed). Update the app, or pick it through search instead.`,
        )
      }
      // A pinned or LFS SHA-256 is the stronger check; the git blob SHA-1 stands in only without one.
      const sha = sha256 ?? remote.sha256
      return {
        url: hub.fileUrl(repo, revision, path),
        fileName: path.split('/').pop()!,
        role,
        size: remote.bytes,
        sha256: sha,
        gitBlobSha1: sha ? null : remote.gitBlobSha1,
        done: false,
      }
    })
    const folder = files[0]!.fileName.replace(/\.gguf$/i, '')
    return { title, catalogId: request.source === 'catalog' ? request.id : null, folder, files }
  }

  private view(job: StoredJob): DownloadJob {
    const live = this.live.get(job.id)
    const downloaded = job.files.map((f, i) => (f.done ? f.size : Math.min(f.size, live?.downloaded[i] ?? 0)))
    const totalBytes = job.files.reduce((n, f) => n + f.size, 0)
    const target = (role: 'model' | 'mmproj'): string | null => {
      const f = job.files.find((x) => x.role === role)
      return job.state === 'done' && f ? join(this.options.root, job.folder, f.fileName) : null
    }
    return {
      id: job.id,
      title: job.title,
      catalogId: job.catalogId,
      ocrPack: job.ocrPack,
      folder: job.folder,
      files: job.files.map((f, i) => ({
        fileName: f.fileName,
        role: f.role,
        totalBytes: f.size,
        downloadedBytes: downloaded[i]!,
        done: f.done,
        checksum: checksumOf(f),
      })),
      state: job.state,
      totalBytes,
      downloadedBytes: downloaded.reduce((a, b) => a + b, 0),
      bytesPerSecond: job.state === 'downloading' ? (live?.bytesPerSecond ?? null) : null,
      etaSeconds: job.state === 'downloading' ? (live?.etaSeconds ?? null) : null,
      retry: job.state === 'downloading' ? (live?.retry ?? null) : null,
      error: job.error,
      modelPath: target('model'),
      mmprojPath: target('mmproj'),
    }
  }

  /** Tells the window; saves the list when a state changed (progress alone is not saved). */
  private async changed(save: boolean): Promise<void> {
    this.options.onChange?.(this.list())
    if (!save) return
    try {
      await mkdir(this.staging, { recursive: true })
      await writeFileAtomic(this.listFile(), JSON.stringify([...this.jobs, ...this.unreadable], null, 1), { fsync: true })
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

  /**
   * A job's end, shown to the window even when the list cannot be saved (a full disk): the job
   * keeps its state here and the list is saved with the next change. Failing here stopped the
   * queue, and quitting, over a file the user never sees.
   */
  private async changedBestEffort(): Promise<void> {
    await this.changed(true).catch(() => undefined)
  }
}

function checksumOf(file: z.infer<typeof StoredFile>): DownloadChecksum | null {
  return file.sha256 ? 'sha256' : file.gitBlobSha1 ? 'git-blob-sha1' : null
}
