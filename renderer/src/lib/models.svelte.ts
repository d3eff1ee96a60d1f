// The model manager's state in the window: the library, the catalog, downloads (kept
// current by main's push events), and Hugging Face search. Its fields are private:
// components read them through the getters and change them only through the methods.
import type {
  Catalog,
  CatalogEntry,
  DownloadFileState,
  DownloadJob,
  DownloadStart,
  EngineState,
  HubModel,
  HubRepoFiles,
  LibraryView,
} from '@contract'
import { errorText, stoppedByUser, type AssistantClient } from './assistant'
import { attempt } from './attempt'
import { fileName } from './format'
import type { DeepReadonly } from './readonly'

/** The parts of the Models page (and the first-run offer) whose actions can fail: each shows its own error. */
export type ModelsArea = 'import' | 'downloads' | 'library' | 'catalog' | 'search' | 'first-run'

/**
 * Where an action's error is shown: its area, and within it the card whose button was pressed
 * (a download's id, a library file's path, a catalog entry's id); no item: the area as a whole.
 * A list can be long, so the sentence goes beside the button, not at the top of the page.
 */
export interface ErrorPlace {
  area: ModelsArea
  item?: string
}

/**
 * What the first-run area says about its download once it is done, when it was not loaded by
 * itself: 'ready', another model was loaded (or loading) meanwhile and was left alone; 'failed',
 * its load was refused, for `text` (main's sentence). The offer itself is gone by then (the
 * library holds the model), and the download's card is on the Models page, so this is where
 * the user hears of it.
 */
export type FirstRunNote = FirstRunModel & ({ kind: 'ready' } | { kind: 'failed'; text: string })

/** The first-run download's model, as its note names it. */
interface FirstRunModel {
  /** The catalog entry's name. */
  name: string
  modelPath: string
  mmprojPath: string | null
}

/** The engine holds a model, or will in a moment: a load of another would replace it (and cut an answer it is giving). */
function holdsModel(engine: EngineState): boolean {
  return engine.state === 'ready' || engine.state === 'loading' || (engine.state === 'crashed' && engine.restarting)
}

/** What a search for less than two characters (spaces aside) says. */
export const SEARCH_TOO_SHORT = 'Type at least two characters to search.'

export class ModelsController {
  // Everything here arrives whole from main and is replaced, never edited in place: no deep proxies.
  #library = $state.raw<LibraryView | null>(null)
  #catalog = $state.raw<Catalog | null>(null)
  #downloads = $state.raw<DownloadJob[]>([])
  #results = $state.raw<HubModel[] | null>(null)
  #repo = $state.raw<HubRepoFiles | null>(null)
  #searching = $state(false)
  #importing = $state<'copy' | 'link' | null>(null)
  /** Each area's last error, with the card it belongs to: one per area, cleared when the area's next action starts. */
  #errors = $state.raw<Partial<Record<ModelsArea, { text: string; item: string | null }>>>({})
  /** Downloads the user started from the first-run offer (or found again by start()): load them when they finish. */
  // Bookkeeping, not state: nothing renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #loadWhenDone = new Set<string>()
  /** The first-run download's outcome, when there is something to say (see FirstRunNote). */
  #firstRunNote = $state.raw<FirstRunNote | null>(null)
  /** The download the note is about: its card on the Models page says the same. */
  #firstRunJob: string | null = null
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

  /** An import under way (the file dialog, then the check and the copy: minutes for a big model); null when none is. */
  get importing(): 'copy' | 'link' | null {
    return this.#importing
  }

  /** The error shown at this place: the area's last one, if it came from this item (or from the area as a whole). */
  errorIn(area: ModelsArea, item: string | null = null): string | null {
    const error = this.#errors[area]
    return error && error.item === item ? error.text : null
  }

  /** Forgets the errors of these areas (all when none are named): the page showing them was left. */
  clearErrors(...areas: ModelsArea[]): void {
    this.#errors = areas.length
      ? Object.fromEntries(Object.entries(this.#errors).filter(([area]) => !areas.includes(area as ModelsArea)))
      : {}
  }

  /** What the first-run area says about its finished download; null: nothing (loaded, or none). */
  get firstRunNote(): DeepReadonly<FirstRunNote> | null {
    return this.#firstRunNote
  }

  /** The user read the note and leaves it (the model stays in the library, to load from there). */
  dismissFirstRunNote(): void {
    this.#firstRunNote = null
  }

  /** Loads the first-run download's model (the note's Load or Try again). */
  async loadFirstRun(): Promise<boolean> {
    const note = this.#firstRunNote
    if (!note || !this.#firstRunJob) return false
    return this.#loadFirstRun(this.#firstRunJob, { name: note.name, modelPath: note.modelPath, mmprojPath: note.mmprojPath })
  }

  get recommended(): DeepReadonly<CatalogEntry> | null {
    return this.#catalog?.entries.find((e) => e.id === this.#catalog?.recommended) ?? null
  }

  get active(): DeepReadonly<DownloadJob[]> {
    return this.#downloads.filter((d) => d.state !== 'done')
  }

  /** Library files a download brought in with nothing published to check them against (main keeps the record). */
  get unverified(): DeepReadonly<string[]> {
    return this.#library?.unverified ?? []
  }

  async start(): Promise<() => void> {
    const offDownloads = this.#client.on('downloads:changed', (jobs) => this.#onDownloads(jobs))
    const offLibrary = this.#client.on('models:changed', () => void this.#refresh())
    // The note's model loaded some other way (the header's picker, the library's Load): nothing left to say.
    const offEngine = this.#client.on('engine:state', (state) => {
      if (state.state === 'ready' && state.info.modelPath === this.#firstRunNote?.modelPath) this.#firstRunNote = null
    })
    const [catalog, downloads] = await Promise.all([this.#client.invoke('models:catalog'), this.#client.invoke('downloads:list')])
    this.#catalog = catalog
    this.#downloads = downloads
    await this.#refresh()
    this.#rearmFirstRun()
    return () => {
      offDownloads()
      offLibrary()
      offEngine()
    }
  }

  async #refresh(): Promise<void> {
    // Not the user's action: it leaves an error of theirs in the library (a refused delete) where it is.
    await this.#attempt(
      { area: 'library' },
      async () => {
        this.#library = await this.#client.invoke('models:library')
      },
      'own',
    )
  }

  /**
   * Which download the offer started is kept in this window's memory, lost when the window is
   * reopened or the app restarts mid-download. It is found again from what main keeps: while
   * the library holds no model, an unfinished download of the recommended one is the download
   * the first-run offer shows as its own (started there or not), so it is loaded when done,
   * as the offer promises. Saving the wish with the job in main would need a contract change,
   * and a way to clear it once acted on, for a fact the window can read back from main.
   */
  #rearmFirstRun(): void {
    if (this.#library?.models.length !== 0) return
    for (const job of this.#downloads) {
      if (job.catalogId !== null && job.catalogId === this.#catalog?.recommended && job.state !== 'done') this.#loadWhenDone.add(job.id)
    }
  }

  #onDownloads(jobs: DownloadJob[]): void {
    this.#downloads = jobs
    for (const job of jobs) {
      if (job.state === 'done' && job.modelPath && this.#loadWhenDone.delete(job.id)) {
        const name = this.#catalog?.entries.find((e) => e.id === job.catalogId)?.name ?? job.title
        void this.#finishFirstRun(job.id, { name, modelPath: job.modelPath, mmprojPath: job.mmprojPath })
      }
    }
  }

  /**
   * The first-run download is done: its model is loaded unless the user loaded another
   * meanwhile, which stays (the note offers this one). Main is asked now, as it knows about
   * loads from every window; if it cannot say, nothing is replaced.
   */
  async #finishFirstRun(jobId: string, model: FirstRunModel): Promise<void> {
    const engine = await this.#client.invoke('engine:status').catch(() => null)
    if (engine && !holdsModel(engine)) {
      await this.#loadFirstRun(jobId, model)
      return
    }
    this.#firstRunJob = jobId
    this.#firstRunNote = { kind: 'ready', ...model }
  }

  /**
   * Loads the first-run download's model. A failure is said in the first-run area, where the
   * user is, and on the download's card for the Models page; a load the user stopped is none.
   */
  async #loadFirstRun(jobId: string, model: FirstRunModel): Promise<boolean> {
    const card: ErrorPlace = { area: 'downloads', item: jobId }
    this.#firstRunNote = null
    this.#report(card, null, 'own')
    try {
      await this.#loadModel(model)
      return true
    } catch (e) {
      if (stoppedByUser(e)) return false
      const text = errorText(e)
      this.#firstRunJob = jobId
      this.#firstRunNote = { kind: 'failed', ...model, text }
      this.#report(card, text)
      return false
    }
  }

  async load(entry: { modelPath: string; mmprojPath: string | null }, at: ErrorPlace): Promise<boolean> {
    return this.#attempt(at, () => this.#loadModel(entry))
  }

  /** Asks main to load a model with its projector, if it has one. */
  async #loadModel(entry: { modelPath: string; mmprojPath: string | null }): Promise<void> {
    await this.#client.invoke('engine:load', { modelPath: entry.modelPath, ...(entry.mmprojPath ? { mmprojPath: entry.mmprojPath } : {}) })
  }

  async download(request: DownloadStart, options: { at: ErrorPlace; loadWhenDone?: boolean }): Promise<boolean> {
    return this.#attempt(options.at, async () => {
      const job = await this.#client.invoke('downloads:start', request)
      if (options.loadWhenDone) this.#loadWhenDone.add(job.id)
      this.#downloads = await this.#client.invoke('downloads:list')
    })
  }

  pause(id: string, at: ErrorPlace = { area: 'downloads', item: id }): Promise<boolean> {
    return this.#attempt(at, async () => void (this.#downloads = await this.#client.invoke('downloads:pause', { id })))
  }

  resume(id: string, at: ErrorPlace = { area: 'downloads', item: id }): Promise<boolean> {
    return this.#attempt(at, async () => void (this.#downloads = await this.#client.invoke('downloads:resume', { id })))
  }

  /** Deletes what the download fetched; the page asks first. */
  cancel(id: string): Promise<boolean> {
    this.#loadWhenDone.delete(id)
    return this.#attempt(
      { area: 'downloads', item: id },
      async () => void (this.#downloads = await this.#client.invoke('downloads:cancel', { id })),
    )
  }

  dismiss(id: string): Promise<boolean> {
    return this.#attempt(
      { area: 'downloads', item: id },
      async () => void (this.#downloads = await this.#client.invoke('downloads:dismiss', { id })),
    )
  }

  async import(mode: 'copy' | 'link'): Promise<boolean> {
    if (this.#importing) return false
    this.#importing = mode
    try {
      return await this.#attempt({ area: 'import' }, async () => {
        const view = await this.#client.invoke('models:import', { mode })
        if (view) this.#library = view
      })
    } finally {
      this.#importing = null
    }
  }

  /** Deletes a model (with its projector) or an unusable file; a linked model is only forgotten. */
  remove(path: string): Promise<boolean> {
    return this.#attempt(
      { area: 'library', item: path },
      async () => void (this.#library = await this.#client.invoke('models:delete', { path })),
    )
  }

  reveal(path: string, at: ErrorPlace): Promise<boolean> {
    return this.#attempt(at, async () => void (await this.#client.invoke('models:reveal', { path })))
  }

  async search(query: string): Promise<void> {
    // The field's minlength counts spaces: "   " passes it, and main would refuse it in its own terms.
    if (query.trim().length < 2) {
      this.#report({ area: 'search' }, SEARCH_TOO_SHORT)
      return
    }
    this.#searching = true
    this.#repo = null
    // The last search's results would read as this one's answer under its error.
    this.#results = null
    await this.#attempt({ area: 'search' }, async () => {
      this.#results = await this.#client.invoke('models:search', { query: query.trim() })
    })
    this.#searching = false
  }

  async openRepo(repo: string): Promise<void> {
    this.#searching = true
    await this.#attempt({ area: 'search' }, async () => {
      this.#repo = await this.#client.invoke('models:repo', { repo })
    })
    this.#searching = false
  }

  /** Back from a repository's files to the search results. */
  closeRepo(): void {
    this.#repo = null
  }

  /** Runs an action whose error goes to `at`; when it starts it clears the area's error ('area'), or only one from the same place ('own'). */
  #attempt(at: ErrorPlace, task: () => Promise<void>, clears: 'area' | 'own' = 'area'): Promise<boolean> {
    return attempt((text) => this.#report(at, text, clears), task)
  }

  /** Shows `text` at `at` (the area's error until then goes), or with null clears the area's error (only one from `at`: 'own'). */
  #report(at: ErrorPlace, text: string | null, clears: 'area' | 'own' = 'area'): void {
    const item = at.item ?? null
    const current = this.#errors[at.area]
    if (text === null && (!current || (clears === 'own' && current.item !== item))) return
    this.#errors = { ...this.#errors, [at.area]: text === null ? undefined : { text, item } }
  }
}

/**
 * The unfinished download of a model file (its path in the repository), if there is one: main
 * keeps one per model file, whether the catalog or a search started it, and offers that one
 * again rather than a second.
 */
export function downloadOfModel(jobs: DeepReadonly<DownloadJob[]>, path: string): DeepReadonly<DownloadJob> | undefined {
  const name = fileName(path)
  return jobs.find((job) => job.state !== 'done' && job.files.some((f) => f.role === 'model' && f.fileName === name))
}

/** The files of a download that cannot be verified: the hub published no checksum for them. */
export function unverifiedFiles(job: DeepReadonly<DownloadJob>): DeepReadonly<DownloadFileState>[] {
  return job.files.filter((f) => f.checksum === null)
}
