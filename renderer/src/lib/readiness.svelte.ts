// Who answers a conversation and what it can take: this computer's engine (its state, pushed
// by main) or a remote engine, and whether a model that cannot see gets the text on images.
import type { Conversation, EngineSettings, EngineState, ScreenTextMode } from '@contract'
import { errorText, stoppedByUser, type AssistantClient } from './assistant'
import type { EnginesController, RemoteAnswerer } from './engines.svelte'
import { fileName } from './format'
import type { DeepReadonly } from './readonly'

type Chat = DeepReadonly<Conversation> | null

export class Readiness {
  // Engine states arrive whole from main and are replaced, never edited: no deep proxies.
  #engine = $state.raw<EngineState>({ state: 'idle' })
  #screenTextMode = $state<ScreenTextMode>('auto')
  readonly #client: AssistantClient
  readonly #engines: EnginesController | null

  constructor(client: AssistantClient, engines: EnginesController | null) {
    this.#client = client
    this.#engines = engines
  }

  get engine(): DeepReadonly<EngineState> {
    return this.#engine
  }

  /** Reads the engine state and settings, then follows the state main pushes; returns the unsubscribe. */
  async start(): Promise<() => void> {
    this.#engine = await this.#client.invoke('engine:status')
    await this.#readEngineSettings()
    return this.#client.on('engine:state', (s) => (this.#engine = s))
  }

  async #readEngineSettings(): Promise<void> {
    try {
      this.#screenTextMode = (await this.#client.invoke('engineSettings:get')).settings.screenText
    } catch {
      // Unknown: the default, so images are not refused for a setting that could not be read (main checks again).
      this.#screenTextMode = 'auto'
    }
  }

  /** The Settings dialog saved the engine settings: what images a text-only model takes follows them. */
  engineSettingsSaved(settings: EngineSettings): void {
    this.#screenTextMode = settings.screenText
  }

  /** The remote engine that answers `chat` (before one is open: the default); null: this computer. */
  remote(chat: Chat): RemoteAnswerer | null {
    return this.#engines?.answerer(chat ? chat.engine : this.#engines.defaultEngine) ?? null
  }

  /** A question can be asked: a remote engine answers, or a model is loaded here. */
  ready(chat: Chat): boolean {
    return this.remote(chat) !== null || this.#engine.state === 'ready'
  }

  /** While no question can be asked, what the window says instead: the model on its way, or that one is needed. */
  get notReadyHint(): string {
    return this.#engine.state === 'loading' ? `Loading ${fileName(this.#engine.modelPath)}…` : 'Load a model to start'
  }

  vision(chat: Chat): boolean {
    const remote = this.remote(chat)
    if (remote) return remote.images !== 'refused'
    return this.#engine.state === 'ready' && this.#engine.info.vision
  }

  /** The model cannot see, but gets the text read on images instead (the text layer is on). */
  textOnly(chat: Chat): boolean {
    const remote = this.remote(chat)
    const blind = remote ? remote.images === 'refused' : this.#engine.state === 'ready' && !this.#engine.info.vision
    return blind && this.#screenTextMode !== 'never'
  }

  /** Loads `model` here; resolves to why it failed, or null (loaded, or stopped by the user). */
  async load(model: DeepReadonly<NonNullable<Conversation['model']>>): Promise<string | null> {
    try {
      await this.#client.invoke('engine:load', {
        modelPath: model.modelPath,
        ...(model.mmprojPath ? { mmprojPath: model.mmprojPath } : {}),
      })
      return null
    } catch (e) {
      return stoppedByUser(e) ? null : errorText(e)
    }
  }

  /** The conversation was answered by another model than the one loaded now (a remote engine's needs none here). */
  modelMismatch(chat: Chat): DeepReadonly<Conversation['model']> {
    const wanted = chat?.model
    if (!wanted || this.remote(chat)) return null
    const loaded = this.#engine.state === 'ready' ? this.#engine.info : null
    return loaded && loaded.modelPath === wanted.modelPath && loaded.mmprojPath === wanted.mmprojPath ? null : wanted
  }
}
