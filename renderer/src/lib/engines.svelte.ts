// The remote engines (inference servers elsewhere) as the window knows them: the list from
// Settings, where keys are kept, and which engine new conversations use. Shared by Settings,
// the header picker and the chat controller. Its fields are private: components read them
// through the getters and change them only through the methods, which throw main's errors.
import { isPrivateHost } from '@contract'
import type { ConnectionReport, EngineChoice, KeyStorage, RemoteEngineInput, RemoteEngineView, RemoteEnginesView } from '@contract'
import type { AssistantClient } from './assistant'
import type { DeepReadonly } from './readonly'

/** Whether the "allow unencrypted" toggle matters for this address: plain http to the internet. */
export function needsUnencryptedConsent(address: string): boolean {
  try {
    // Read once and dropped: nothing reacts to it.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const url = new URL(address.trim())
    return url.protocol === 'http:' && !isPrivateHost(url.hostname)
  } catch {
    return false
  }
}

/** The remote engine answering a conversation, as the window shows it. */
export interface RemoteAnswerer extends EngineChoice {
  name: string
  images: RemoteEngineView['images']
}

export class EnginesController {
  // Arrives whole from main and is replaced, never edited in place.
  #view = $state.raw<RemoteEnginesView>({ engines: [], keyStorage: 'session', defaultEngine: null })
  readonly #client: AssistantClient
  // Listeners, not state: nothing renders from them.
  #removed: ((id: string) => void)[] = []

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** Calls `listener` with each engine removed from here; returns the function that stops it. */
  onRemoved(listener: (id: string) => void): () => void {
    this.#removed = [...this.#removed, listener]
    return () => void (this.#removed = this.#removed.filter((l) => l !== listener))
  }

  get engines(): DeepReadonly<RemoteEngineView[]> {
    return this.#view.engines
  }

  get keyStorage(): KeyStorage {
    return this.#view.keyStorage
  }

  /** The engine new conversations and quick-ask use; null: this computer's. */
  get defaultEngine(): DeepReadonly<EngineChoice> | null {
    return this.#view.defaultEngine
  }

  find(id: string): DeepReadonly<RemoteEngineView> | null {
    return this.#view.engines.find((e) => e.id === id) ?? null
  }

  /** Who answers with `choice`; null: this computer. */
  answerer(choice: DeepReadonly<EngineChoice> | null | undefined): RemoteAnswerer | null {
    if (!choice) return null
    const engine = this.find(choice.id)
    // A removed engine keeps its place: main says so when asked, rather than this computer answering unnoticed.
    // Images are judged per model, from what main knows of this one: main sends them by the same rule.
    return {
      id: choice.id,
      model: choice.model,
      name: engine?.name ?? 'a removed engine',
      images: engine?.imagesByModel[choice.model] ?? 'unknown',
    }
  }

  /** The models to pick from: those its last test found, else the one chosen when it was saved. */
  modelsOf(engine: DeepReadonly<RemoteEngineView>): string[] {
    if (engine.models.length) return [...engine.models]
    return engine.model ? [engine.model] : []
  }

  async refresh(): Promise<void> {
    this.#view = await this.#client.invoke('engines:list')
  }

  async add(input: RemoteEngineInput): Promise<DeepReadonly<RemoteEngineView>> {
    const added = await this.#client.invoke('engines:add', input)
    await this.refresh()
    return added
  }

  async update(input: RemoteEngineInput & { id: string }): Promise<void> {
    await this.#client.invoke('engines:update', input)
    await this.refresh()
  }

  async remove(id: string): Promise<void> {
    await this.#client.invoke('engines:remove', { id })
    for (const listener of this.#removed) listener(id)
    await this.refresh()
  }

  /** Tests a saved engine; what it learned (models, images) is kept by main, and read back here. */
  async test(id: string): Promise<ConnectionReport> {
    try {
      return await this.#client.invoke('engines:test', { id })
    } finally {
      // Even a failed test may have been preceded by a saved change the list should show.
      await this.refresh().catch(() => undefined)
    }
  }

  async setDefault(engine: EngineChoice | null): Promise<void> {
    this.#view = await this.#client.invoke('engines:set-default', { engine })
  }
}
