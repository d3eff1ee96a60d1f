// The model manager's state in the window: the library, the catalog, downloads (kept
// current by main's push events), and Hugging Face search. Components read it; only its
// methods change it.
import type { Catalog, CatalogEntry, DownloadFileState, DownloadJob, DownloadStart, HubModel, HubRepoFiles, LibraryEntry, LibraryView } from '@contract'
import { errorText, type AssistantClient } from './assistant'

export class ModelsController {
  library = $state<LibraryView | null>(null)
  catalog = $state<Catalog | null>(null)
  downloads = $state<DownloadJob[]>([])
  results = $state<HubModel[] | null>(null)
  repo = $state<HubRepoFiles | null>(null)
  searching = $state(false)
  error = $state<string | null>(null)
  /** Downloads the user started from the first-run offer: load them when they finish. */
  // Bookkeeping, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private loadWhenDone = new Set<string>()

  constructor(private readonly client: AssistantClient) {}

  get recommended(): CatalogEntry | null {
    return this.catalog?.entries.find((e) => e.id === this.catalog?.recommended) ?? null
  }

  get active(): DownloadJob[] {
    return this.downloads.filter((d) => d.state !== 'done')
  }

  /** Library files a finished download brought in with nothing published to check them against. */
  get unverified(): string[] {
    return this.downloads
      .filter((d) => d.state === 'done')
      .flatMap((d) => unverifiedFiles(d).map((f) => (f.role === 'model' ? d.modelPath : d.mmprojPath)))
      .filter((path): path is string => path !== null)
  }

  async start(): Promise<() => void> {
    const offDownloads = this.client.on('downloads:changed', (jobs) => this.onDownloads(jobs))
    const offLibrary = this.client.on('models:changed', () => void this.refresh())
    const [catalog, downloads] = await Promise.all([this.client.invoke('models:catalog'), this.client.invoke('downloads:list')])
    this.catalog = catalog
    this.downloads = downloads
    await this.refresh()
    return () => {
      offDownloads()
      offLibrary()
    }
  }

  async refresh(): Promise<void> {
    await this.attempt(async () => {
      this.library = await this.client.invoke('models:library')
    })
  }

  private onDownloads(jobs: DownloadJob[]): void {
    this.downloads = jobs
    for (const job of jobs) {
      if (job.state === 'done' && job.modelPath && this.loadWhenDone.delete(job.id)) {
        void this.load({ modelPath: job.modelPath, mmprojPath: job.mmprojPath })
      }
    }
  }

  async load(entry: { modelPath: string; mmprojPath: string | null }): Promise<boolean> {
    return this.attempt(async () => {
      await this.client.invoke('engine:load', { modelPath: entry.modelPath, ...(entry.mmprojPath ? { mmprojPath: entry.mmprojPath } : {}) })
    })
  }

  async download(request: DownloadStart, options: { loadWhenDone?: boolean } = {}): Promise<boolean> {
    return this.attempt(async () => {
      const job = await this.client.invoke('downloads:start', request)
      if (options.loadWhenDone) this.loadWhenDone.add(job.id)
      this.downloads = await this.client.invoke('downloads:list')
    })
  }

  pause(id: string): Promise<boolean> {
    return this.attempt(async () => void (this.downloads = await this.client.invoke('downloads:pause', { id })))
  }

  resume(id: string): Promise<boolean> {
    return this.attempt(async () => void (this.downloads = await this.client.invoke('downloads:resume', { id })))
  }

  /** Deletes what the download fetched; the page asks first. */
  cancel(id: string): Promise<boolean> {
    this.loadWhenDone.delete(id)
    return this.attempt(async () => void (this.downloads = await this.client.invoke('downloads:cancel', { id })))
  }

  dismiss(id: string): Promise<boolean> {
    return this.attempt(async () => void (this.downloads = await this.client.invoke('downloads:dismiss', { id })))
  }

  import(mode: 'copy' | 'link'): Promise<boolean> {
    return this.attempt(async () => {
      const view = await this.client.invoke('models:import', { mode })
      if (view) this.library = view
    })
  }

  remove(entry: LibraryEntry | { path: string }): Promise<boolean> {
    const path = 'model' in entry ? entry.model.path : entry.path
    return this.attempt(async () => void (this.library = await this.client.invoke('models:delete', { path })))
  }

  reveal(path: string): Promise<boolean> {
    return this.attempt(async () => void (await this.client.invoke('models:reveal', { path })))
  }

  async search(query: string): Promise<void> {
    this.searching = true
    this.repo = null
    await this.attempt(async () => {
      this.results = await this.client.invoke('models:search', { query })
    })
    this.searching = false
  }

  async openRepo(repo: string): Promise<void> {
    this.searching = true
    await this.attempt(async () => {
      this.repo = await this.client.invoke('models:repo', { repo })
    })
    this.searching = false
  }

  private async attempt(task: () => Promise<void>): Promise<boolean> {
    this.error = null
    try {
      await task()
      return true
    } catch (e) {
      this.error = errorText(e)
      return false
    }
  }
}

/** The files of a download that cannot be verified: the hub published no checksum for them. */
export function unverifiedFiles(job: DownloadJob): DownloadFileState[] {
  return job.files.filter((f) => f.checksum === null)
}

/** "12.3 MB/s", "3 min left": the numbers a download bar shows. */
export function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return ''
  if (seconds < 60) return `${Math.ceil(seconds)} s left`
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`
  return `${(seconds / 3600).toFixed(1)} h left`
}
