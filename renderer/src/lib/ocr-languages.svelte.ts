// The text layer's language packs in the window: which pack reads screens, which are
// downloaded, their downloads (the model manager's, kept current by main's push events).
// Fields are private: components read them through the getters and act through the methods.
import type { DownloadJob, OcrLanguagesView, OcrPackView } from '@contract'
import type { AssistantClient } from './assistant'
import { attempt } from './attempt'
import type { DeepReadonly } from './readonly'

export class OcrLanguagesController {
  // Both arrive whole from main and are replaced, never edited in place.
  #view = $state.raw<OcrLanguagesView | null>(null)
  #downloads = $state.raw<DownloadJob[]>([])
  #error = $state<string | null>(null)
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** The packs and the choice as main last said; null until then. */
  get view(): DeepReadonly<OcrLanguagesView> | null {
    return this.#view
  }

  get error(): string | null {
    return this.#error
  }

  /** A pack's download in progress (or paused, or failed), if any. */
  downloadOf(id: string): DeepReadonly<DownloadJob> | null {
    return this.#downloads.find((d) => d.ocrPack === id && d.state !== 'done') ?? null
  }

  packName(id: string): string {
    return this.#view?.packs.find((p) => p.id === id)?.name ?? id
  }

  async start(): Promise<() => void> {
    const offView = this.#client.on('ocr:changed', (view) => void (this.#view = view))
    const offDownloads = this.#client.on('downloads:changed', (jobs) => void (this.#downloads = jobs))
    await this.#attempt(async () => {
      const [view, downloads] = await Promise.all([this.#client.invoke('ocr:languages'), this.#client.invoke('downloads:list')])
      this.#view = view
      this.#downloads = downloads
    })
    return () => {
      offView()
      offDownloads()
    }
  }

  /** 'auto' (from the system's languages) or a pack id. */
  choose(choice: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#view = await this.#client.invoke('ocr:set-language', { choice })))
  }

  download(pack: DeepReadonly<OcrPackView>): Promise<boolean> {
    return this.#attempt(async () => {
      await this.#client.invoke('downloads:start', { source: 'ocr', id: pack.id })
      this.#downloads = await this.#client.invoke('downloads:list')
    })
  }

  /** Stops a pack's download and deletes what it fetched. */
  cancel(job: DeepReadonly<DownloadJob>): Promise<boolean> {
    return this.#attempt(async () => void (this.#downloads = await this.#client.invoke('downloads:cancel', { id: job.id })))
  }

  remove(id: string): Promise<boolean> {
    return this.#attempt(async () => void (this.#view = await this.#client.invoke('ocr:delete-language', { id })))
  }

  #attempt(task: () => Promise<void>): Promise<boolean> {
    return attempt((error) => (this.#error = error), task)
  }
}
