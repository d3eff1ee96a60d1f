// The model manager's state in the window: the library, the catalog, downloads (kept
// current by main's push events), and Hugging Face search. Its fields are private:
// components read them through the getters and change them only through the methods.
import type { Catalog, CatalogEntry, DownloadFileState, DownloadJob, DownloadStart, HubModel, HubRepoFiles, LibraryView } from '@contract'
import type { AssistantClient } from './assistant'
import { attempt } from './attempt'
import type { DeepReadonly } from './readonly'

export class ModelsController {
  // Everything here arrives whole from main and is replaced, never edited in place: no deep proxies.
  #library = $state.raw<LibraryView | null>(null)
  #catalog = $state.raw<Catalog | null>(null)
  #downloads = $state.raw<DownloadJob[]>([])
  #results = $state.raw<HubModel[] | null>(null)
  #repo = $state.raw<HubRepoFiles | null>(null)
  #searching = $state(false)
  #error = $state<string | null>(null)
  /** Downloads the user started from the first-run offer: load them when they finish. */
  // Bookkeeping, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #loadWhenDone = new Set<string>()
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** The models folder as main last read it; null until then. */
  get library(): DeepReadonly<LibraryView> | null {
    return this.#library
  }

  get catalog(): DeepReadonly<Catalog> | null {
    return this.#catalog
  }

  /** Every download main keeps, finished ones included until dismissed. */
  get downloads(): DeepReadonly<DownloadJob[]> {
    return this.#downloads
  }

  /** The last Hugging Face search's repositories; null before the first search. */
  get results(): DeepReadonly<HubModel[]> | null {
    return this.#results
  }

  /** The repository whose files are being chosen from; null while the results show. */
  get repo(): DeepReadonly<HubRepoFiles> | null {
    return this.#repo
  }

  /** A search or a repository's file list is being fetched. */
  get searching(): boolean {
    return this.#searching
  }

  get error(): string | null {
    return this.#error
  }

  get recommended(): DeepReadonly<CatalogEntry> | null {
    return this.#catalog?.entries.find((e) => e.id === this.#catalog?.recommended) ?? null
  }

  get active(): DeepReadonly<DownloadJob[]> {
    return this.#downloads.filter((d) => d.state !== 'done')
  }

  /** Library files a finished download brought in with nothing published to check them against. */
  get unverified(): string[] {
    return this.#downloads
      .filter((d) => d.state === 'done')
      .flatMap((d) => unverifiedFiles(d).map((f) => (f.role === 'model' ? d.modelPath : d.mmprojPath)))
      .filter((path): path is string => path !== null)
  }

  async start(): Promise<() => void> {
    const offDownloads = this.#client.on('downloads:changed', (jobs) => this.#onDownloads(jobs))
    const offLibrary = this.#client.on('models:changed', () => void this.#refresh())
    const [catalog, downloads] = await Promise.all([this.#client.invoke('models:catalog'), this.#client.invoke('downloads:list')])
    this.#catalog = catalog
    this.#downloads = downloads
    await this.#refresh()
    return () => {
      offDownloads()
      offLibrary()
    }
  }

  async #refresh(): Promise<void> {
    await this.#attempt(async () => {
      this.#library = await this.#client.invoke('models:library')
    })
  }

  #onDownloads(jobs: DownloadJob[]): void {
    this.#downloads = jobs
    for (const job of jobs) {
      if (job.state === 'done' && job.modelPath && this.#loadWhenDone.delete(job.id)) {
        void this.load({ modelPath: job.modelPath, mmprojPath: job.mmprojPath })
      }
    }
  }

  async load(entry: { modelPath: string; mmprojPath: string | null }): Promise<boolean> {
    return this.#attempt(async () => {
      await this.#client.invoke('engine:load', {
        modelPath: entry.modelPath,
        ...(entry.mmprojPath ? { mmprojPath: entry.mmprojPath } : {}),
      })
    })
  }

  async download(request: DownloadStart, options: { loadWhenDone?: boolean } = {}): Promise<boolean> {
    return this.#attempt(async () => {
      const job = await this.#client.invoke('downloads:start', request)
      if (options.loadWhenDone) this.#loadWhenDone.add(job.id)
      this.#downloads = await this.#client.invoke('downloads:list')
    })
  }

  pause(id: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#downloads = await this.#client.invoke('downloads:pause', { id })))
  }

  resume(id: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#downloads = await this.#client.invoke('downloads:resume', { id })))
  }

  /** Deletes what the download fetched; the page asks first. */
  cancel(id: string): Promise<boolean> {
    this.#loadWhenDone.delete(id)
    return this.#attempt(async () => void (this.#downloads = await this.#client.invoke('downloads:cancel', { id })))
  }

  dismiss(id: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#downloads = await this.#client.invoke('downloads:dismiss', { id })))
  }

  import(mode: 'copy' | 'link'): Promise<boolean> {
    return this.#attempt(async () => {
      const view = await this.#client.invoke('models:import', { mode })
      if (view) this.#library = view
    })
  }

  /** Deletes a model (with its projector) or an unusable file; a linked model is only forgotten. */
  remove(path: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#library = await this.#client.invoke('models:delete', { path })))
  }

  reveal(path: string): Promise<boolean> {
    return this.#attempt(async () => void (await this.#client.invoke('models:reveal', { path })))
  }

  async search(query: string): Promise<void> {
    this.#searching = true
    this.#repo = null
    await this.#attempt(async () => {
      this.#results = await this.#client.invoke('models:search', { query })
    })
    this.#searching = false
  }

  async openRepo(repo: string): Promise<void> {
    this.#searching = true
    await this.#attempt(async () => {
      this.#repo = await this.#client.invoke('models:repo', { repo })
    })
    this.#searching = false
  }

  /** Back from a repository's files to the search results. */
  closeRepo(): void {
    this.#repo = null
  }

  #attempt(task: () => Promise<void>): Promise<boolean> {
    return attempt((error) => (this.#error = error), task)
  }
}

/** The files of a download that cannot be verified: the hub published no checksum for them. */
export function unverifiedFiles(job: DeepReadonly<DownloadJob>): DeepReadonly<DownloadFileState>[] {
  return job.files.filter((f) => f.checksum === null)
}
