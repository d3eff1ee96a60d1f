// The chat window's state: the conversation list, the open conversation, and the
// answer streaming into it. Its fields are private: components read them through the
// getters and change them only through the methods.
import {
  LIMITS,
  MESSAGES,
  formatBytes,
  tooLongText,
  type ChatChunk,
  type ChatSettings,
  type ChatSummary,
  type Conversation,
  type DamagedConversation,
  type EngineChoice,
  type EngineSettings,
  type EngineState,
  type ImageInput,
  type Sampling,
  type ScreenTextMode,
  type StoredMessage,
} from '@contract'
import { fileName } from './format'
import { AssistantError, errorText, stoppedByUser, type AssistantClient, type AssistantStream } from './assistant'
import { applyChunk } from './chunks'
import { chooseFormat, type AnswerKind } from './answer-format'
import type { DeepReadonly } from './readonly'
import { StoredImages } from './stored-images'
import type { EnginesController, RemoteAnswerer } from './engines.svelte'

export interface PendingImage {
  url: string
  name: string
  bytes: Uint8Array
}

/** A question main refused before storing it, with its images: the composer takes it back. */
export interface ReturnedQuestion {
  text: string
  images: PendingImage[]
}

/**
 * Why these attachments cannot go with one message (more than the IPC contract takes, or an
 * image larger than it takes), in the user's words; null when they can. Checked before sending,
 * as tooLongText is: main's schema would refuse them with its own terse text.
 */
export function tooManyImages(images: readonly PendingImage[]): string | null {
  const most = LIMITS.imagesPerMessage
  if (images.length > most) {
    const over = images.length - most
    return `You attached ${images.length} images; one message can take at most ${most}. Remove ${over}, or ask about ${over === 1 ? 'it' : 'them'} in another message.`
  }
  const large = images.find((i) => i.bytes.byteLength > LIMITS.imageBytes)
  if (large)
    return `${large.name} is larger than ${formatBytes(LIMITS.imageBytes)}, the most one image can be. Attach a smaller copy of it.`
  return null
}

// The answer-format helpers live beside the controller; importers of the controller find them here as before.
export { EXAMPLE_SCHEMA, parseSchema, type AnswerKind } from './answer-format'

/** The question a failed answer was to, asked again leaving out the conversation's oldest turns. */
type AskAgain = (question: DeepReadonly<StoredMessage>) => AssistantStream<ChatChunk>

/** How long typing in the search box settles before the list is asked for again. */
export const SEARCH_DELAY_MS = 150

export class ChatController {
  // Lists and engine states arrive whole from main and are replaced, never edited: no deep proxies.
  #list = $state.raw<ChatSummary[]>([])
  #damaged = $state.raw<DamagedConversation[]>([])
  #engine = $state.raw<EngineState>({ state: 'idle' })
  // Deep: a streaming answer is applied to the open conversation's messages in place (applyChunk).
  #current = $state<Conversation | null>(null)
  #query = $state('')
  #streaming = $state(false)
  #alert = $state<string | null>(null)
  /** Offered with the alert, when it says a conversation set to stop and ask no longer fits: answer it leaving out the oldest turns. */
  #leaveOut = $state.raw<(() => void) | null>(null)
  #returned = $state.raw<ReturnedQuestion | null>(null)
  #screenTextMode = $state<ScreenTextMode>('auto')
  #active: AssistantStream<ChatChunk> | null = null
  /** The conversation the answer streams into, and the run that ends once its stream has. */
  #activeChat: string | null = null
  #running: Promise<boolean> | null = null
  /** Conversations being deleted: the end of an answer that was being written in one is no error to show. */
  // Read only while a stream ends, never by a component: nothing re-renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #deleting = new Set<string>()
  #settingsChanges = 0
  #searchTimer: ReturnType<typeof setTimeout> | undefined
  readonly #client: AssistantClient
  readonly #images: StoredImages
  readonly #engines: EnginesController | null

  /** Without `engines`, every conversation is answered on this computer. */
  constructor(client: AssistantClient, engines?: EnginesController) {
    this.#client = client
    this.#engines = engines ?? null
    this.#images = new StoredImages(client)
    // Main gives a removed engine's conversations back to this computer; the open one follows,
    // or the window went on saying a removed engine answers while this computer did.
    engines?.onRemoved((id) => {
      if (this.#current?.engine?.id === id) this.#current.engine = null
    })
  }

  /** The conversations, newest first, filtered by the search text. */
  get list(): DeepReadonly<ChatSummary[]> {
    return this.#list
  }

  /** Conversations that could not be read at start: not in the list, kept on disk as they were. */
  get damaged(): DeepReadonly<DamagedConversation[]> {
    return this.#damaged
  }

  /** Shows a damaged conversation's file in the system's file manager. */
  async revealDamaged(id: string): Promise<void> {
    try {
      await this.#client.invoke('chats:reveal-damaged', { id })
    } catch (e) {
      this.#error = errorText(e)
    }
  }

  /** The search text the list is filtered by. */
  get query(): string {
    return this.#query
  }

  /** The open conversation; null before the first question of a new one. */
  get current(): DeepReadonly<Conversation> | null {
    return this.#current
  }

  get engine(): DeepReadonly<EngineState> {
    return this.#engine
  }

  /** An answer is streaming into the open conversation. */
  get streaming(): boolean {
    return this.#streaming
  }

  get error(): string | null {
    return this.#alert
  }

  /** Every alert, or none, replaces the one before and takes the offer made with it away. */
  get #error(): string | null {
    return this.#alert
  }

  set #error(text: string | null) {
    this.#alert = text
    this.#leaveOut = null
  }

  /** The alert says the conversation (set to stop and ask) no longer fits the context, and the question can be answered leaving out its oldest turns. */
  get canLeaveOutOldest(): boolean {
    return this.#leaveOut !== null
  }

  /** Answers the question refused for the context once more, this once leaving out the oldest turns; the setting stays. */
  leaveOutOldest(): void {
    const again = this.#leaveOut
    this.#error = this.#notReady()
    if (this.#error === null) again?.()
  }

  /** A question main refused before storing it (an image it cannot read): the composer takes it back. */
  get returned(): DeepReadonly<ReturnedQuestion> | null {
    return this.#returned
  }

  /** Hands the returned question to the composer, once. */
  takeReturned(): ReturnedQuestion | null {
    const back = this.#returned
    this.#returned = null
    return back
  }

  /** The remote engine that answers the open conversation (before one is open: the default); null: this computer. */
  get remote(): RemoteAnswerer | null {
    return this.#engines?.answerer(this.#current ? this.#current.engine : this.#engines.defaultEngine) ?? null
  }

  /** A question can be asked: a remote engine answers, or a model is loaded here. */
  get ready(): boolean {
    return this.remote !== null || this.#engine.state === 'ready'
  }

  /** While no question can be asked, what the window says instead: the model on its way, or that one is needed. */
  get notReadyHint(): string {
    return this.#engine.state === 'loading' ? `Loading ${fileName(this.#engine.modelPath)}…` : 'Load a model to start'
  }

  get vision(): boolean {
    const remote = this.remote
    if (remote) return remote.images !== 'refused'
    return this.#engine.state === 'ready' && this.#engine.info.vision
  }

  /** The model cannot see, but gets the text read on images instead (the text layer is on). */
  get textOnly(): boolean {
    const remote = this.remote
    const blind = remote ? remote.images === 'refused' : this.#engine.state === 'ready' && !this.#engine.info.vision
    return blind && this.#screenTextMode !== 'never'
  }

  /** The conversation was answered by another model than the one loaded now (a remote engine's needs none here). */
  get modelMismatch(): DeepReadonly<Conversation['model']> {
    const wanted = this.#current?.model
    if (!wanted || this.remote) return null
    const loaded = this.#engine.state === 'ready' ? this.#engine.info : null
    return loaded && loaded.modelPath === wanted.modelPath && loaded.mmprojPath === wanted.mmprojPath ? null : wanted
  }

  async start(): Promise<() => void> {
    this.#engine = await this.#client.invoke('engine:status')
    await this.#readEngineSettings()
    const offEngine = this.#client.on('engine:state', (s) => (this.#engine = s))
    // Quick-ask hands a conversation over to this window.
    const offOpen = this.#client.on('chat:open', ({ chatId }) => void this.#refresh().then(() => this.open(chatId)))
    await this.#refresh()
    // Said, not fatal: the list works without them.
    this.#damaged = await this.#client.invoke('chats:damaged', {}).catch(() => [])
    if (this.#list[0]) await this.open(this.#list[0].id)
    return () => {
      offEngine()
      offOpen()
      clearTimeout(this.#searchTimer)
    }
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

  /** Filters the list by `text`, once typing has paused for SEARCH_DELAY_MS. */
  search(text: string): void {
    this.#query = text
    clearTimeout(this.#searchTimer)
    this.#searchTimer = setTimeout(() => void this.#refresh(), SEARCH_DELAY_MS)
  }

  async #refresh(): Promise<void> {
    const query = this.#query.trim()
    this.#list = await this.#client.invoke('chats:list', query ? { query } : {})
  }

  async open(id: string): Promise<void> {
    if (this.#streaming) await this.stop()
    this.#error = null
    this.#current = await this.#client.invoke('chats:get', { id })
  }

  async create(): Promise<void> {
    if (this.#streaming) await this.stop()
    this.#error = null
    this.#current = await this.#client.invoke('chats:create', {})
    // The new conversation would be hidden by a search that does not match it.
    clearTimeout(this.#searchTimer)
    this.#query = ''
    await this.#refresh()
  }

  async rename(id: string, title: string): Promise<void> {
    const updated = await this.#client.invoke('chats:update', { id, title })
    if (this.#current?.id === id) this.#current.title = updated.title
    await this.#refresh()
  }

  async setSystemPrompt(systemPrompt: string): Promise<void> {
    if (!this.#current || this.#current.systemPrompt === systemPrompt) return
    await this.#client.invoke('chats:update', { id: this.#current.id, systemPrompt })
    this.#current.systemPrompt = systemPrompt
  }

  /** Which engine answers the open conversation from now on; nothing is unloaded here. */
  async setEngine(engine: EngineChoice | null): Promise<void> {
    const chat = this.#current
    if (!chat) return
    await this.#client.invoke('chats:update', { id: chat.id, engine })
    chat.engine = engine
  }

  async loadConversationModel(): Promise<void> {
    const wanted = this.#current?.model
    if (!wanted) return
    this.#error = null
    try {
      await this.#client.invoke('engine:load', {
        modelPath: wanted.modelPath,
        ...(wanted.mmprojPath ? { mmprojPath: wanted.mmprojPath } : {}),
      })
    } catch (e) {
      if (!stoppedByUser(e)) this.#error = errorText(e)
    }
  }

  async setSettings(settings: ChatSettings): Promise<void> {
    const chat = this.#current
    if (!chat) return
    // A plain copy: settings spread from the open conversation hold its state proxies, which IPC cannot send.
    const plain = $state.snapshot(settings) as ChatSettings
    const previous = $state.snapshot(chat.settings) as ChatSettings
    // Applied at once, so a question sent right after uses them; saved behind, and taken back if main refuses them.
    chat.settings = plain
    const change = ++this.#settingsChanges
    try {
      await this.#client.invoke('chats:update', { id: chat.id, settings: plain })
    } catch (e) {
      // Unless a later change has been applied since.
      if (change === this.#settingsChanges) chat.settings = previous
      throw e
    }
  }

  /**
   * Sets how the open conversation's answers are written. A schema comes as the text typed
   * (absent: the conversation's own schema, else EXAMPLE_SCHEMA) and is saved only if it is
   * a JSON object. Returns why nothing was saved, or null.
   */
  async setAnswerFormat(kind: AnswerKind, schemaText?: string): Promise<string | null> {
    const settings = this.#current?.settings
    if (!settings) return null
    const chosen = chooseFormat(settings, kind, schemaText)
    if ('error' in chosen) return chosen.error
    const { format: _old, ...rest } = settings
    try {
      await this.setSettings(chosen.format ? { ...rest, format: chosen.format } : rest)
      return null
    } catch (e) {
      return errorText(e)
    }
  }

  #sampling(): Sampling {
    const settings = this.#current?.settings
    return settings ? { maxTokens: settings.maxTokens, temperature: settings.temperature } : {}
  }

  async remove(id: string): Promise<void> {
    this.#deleting.add(id)
    try {
      // The answer being written in it is stopped, and its end waited for, first: before, Stop
      // stayed on while main went on answering into a deleted conversation, until its next save
      // failed with "That conversation no longer exists." shown as an error.
      if (this.#activeChat === id) {
        await this.stop()
        await this.#running?.catch(() => false)
      }
      await this.#client.invoke('chats:delete', { id })
    } finally {
      this.#deleting.delete(id)
    }
    if (this.#current?.id === id) this.#current = null
    await this.#refresh()
  }

  /** A URL for a stored image, fetched once. */
  imageUrl(imageId: string, mime: string): Promise<string> {
    const chatId = this.#current?.id
    return chatId ? this.#images.url(chatId, imageId, mime) : Promise.resolve('')
  }

  /**
   * Reads the text on a stored image now (the text layer was set to Never, or the reading failed).
   * A failure is shown as the image's text, with its reason.
   */
  async readImageText(messageId: string, imageId: string): Promise<void> {
    const chatId = this.#current?.id
    if (!chatId) return
    const text = await this.#images.readText(chatId, imageId)
    if (this.#current?.id !== chatId) return
    const image = this.#current.messages.find((m) => m.id === messageId)?.images.find((i) => i.id === imageId)
    if (image) image.text = text
  }

  /** Returns false when the message is refused here, so the composer keeps it. */
  send(text: string, images: PendingImage[]): boolean {
    this.#error = null
    if (images.length > 0 && !this.vision && !this.textOnly) {
      this.#error = MESSAGES.noVision
      return false
    }
    const refused = this.#notReady() ?? tooLongText(text) ?? tooManyImages(images)
    if (refused !== null) {
      this.#error = refused
      return false
    }
    // A plain copy: the composer's list is its state, emptied once the question is sent.
    const pending = images.map(({ url, name, bytes }) => ({ url, name, bytes }))
    void this.#withConversation((chatId) => {
      const attachments: ImageInput[] = pending.map((i) => ({ bytes: i.bytes, name: i.name }))
      // Asked again, the question main stored is answered again (an edit that changes nothing), not sent twice.
      return this.#run(this.#client.stream('chats:send', { chatId, text, images: attachments, sampling: this.#sampling() }), (question) =>
        this.#client.stream('chats:edit', {
          chatId,
          messageId: question.id,
          text: question.text,
          sampling: this.#sampling(),
          contextFull: 'drop-oldest',
        }),
      )
    }).then((heard) => {
      // The composer was emptied when the question went; main answered nothing, so stored
      // nothing (an image it cannot read, a stop while the question waited its turn): the
      // question and its images go back to be sent again, rather than lost.
      if (!heard) this.#returned = { text, images: pending }
      // Stored with the question, the images are shown from their files from now on: the
      // composer's previews (a 4K screenshot each) are let go, or every one sent stayed in memory.
      else for (const image of pending) URL.revokeObjectURL(image.url)
    })
    return true
  }

  regenerate(messageId: string): void {
    // An alert left from before is not about this answer (null: none is put in its place).
    this.#error = this.#notReady()
    if (this.#error !== null) return
    void this.#withConversation((chatId) =>
      this.#run(this.#client.stream('chats:regenerate', { chatId, messageId, sampling: this.#sampling() }), () =>
        this.#client.stream('chats:regenerate', { chatId, messageId, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
  }

  /** Returns false when the edit is refused here, so the editor stays open with it. */
  edit(messageId: string, text: string): boolean {
    this.#error = this.#notReady() ?? tooLongText(text)
    if (this.#error !== null) return false
    void this.#withConversation((chatId) =>
      this.#run(this.#client.stream('chats:edit', { chatId, messageId, text, sampling: this.#sampling() }), () =>
        this.#client.stream('chats:edit', { chatId, messageId, text, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
    return true
  }

  async stop(): Promise<void> {
    await this.#active?.cancel()
  }

  /**
   * Why nothing can be asked now, or null. Main would refuse too, but only once the question's
   * turn came, and an edit or a regenerate is refused here as a question is.
   */
  #notReady(): string | null {
    return this.ready ? null : 'Load a model first.'
  }

  /**
   * Main refused the question for the context in the open conversation, set to stop and ask, and
   * a turn before it could be left out (a question alone too long for the context is no choice).
   */
  #askable(e: unknown, chatId: string, question: StoredMessage): boolean {
    const chat = this.#current
    if (!(e instanceof AssistantError) || e.code !== 'context-overflow' || chat?.id !== chatId) return false
    if (chat.settings.contextFull !== 'stop' || this.#alert !== e.message) return false
    const at = chat.messages.findIndex((m) => m.id === question.id)
    return at > 0 && chat.messages.slice(0, at).some((m) => m.role === 'user')
  }

  /** Runs `task` in the open conversation, or a new one; resolves to whether main answered anything. */
  async #withConversation(task: (chatId: string) => Promise<boolean>): Promise<boolean> {
    if (!this.#current) {
      try {
        this.#current = await this.#client.invoke('chats:create', {})
      } catch (e) {
        this.#error = errorText(e)
        return false
      }
      // Listed now, not once its first answer ends: before, a first conversation was missing
      // from the list for as long as its answer streamed. Shown even under a search, as create() does.
      clearTimeout(this.#searchTimer)
      this.#query = ''
      await this.#refresh().catch(() => undefined)
    }
    return task(this.#current.id)
  }

  /**
   * Resolves to whether main sent anything back: nothing means it stored nothing. `again` asks
   * the question once more leaving out the oldest turns, offered if the conversation is set to
   * stop and ask and main says it no longer fits.
   */
  #run(stream: AssistantStream<ChatChunk>, again?: AskAgain): Promise<boolean> {
    const chat = this.#current!
    this.#streaming = true
    this.#active = stream
    this.#activeChat = chat.id
    const running = this.#follow(stream, chat.id, again)
    this.#running = running
    return running
  }

  async #follow(stream: AssistantStream<ChatChunk>, chatId: string, again?: AskAgain): Promise<boolean> {
    let ended = false
    let heard = false
    /** The question being answered, as main sent it back (stored, for a new one). */
    let question: StoredMessage | null = null
    try {
      for await (const chunk of stream) {
        heard = true
        if (chunk.kind === 'message' && chunk.message.role === 'user') question = chunk.message
        if (this.#current?.id !== chatId) continue
        if (applyChunk(this.#current.messages, chunk)) ended = true
      }
      // Stopped before a word: main dropped the empty answer, so show what it kept.
      if (!ended && this.#current?.id === chatId) this.#current = await this.#client.invoke('chats:get', { id: chatId })
    } catch (e) {
      // A conversation deleted while its answer was written: what main says of it then is no news.
      if (!this.#deleting.has(chatId)) this.#error = errorText(e)
      if (this.#current?.id === chatId) this.#current = await this.#client.invoke('chats:get', { id: chatId }).catch(() => this.#current)
      const asked = question
      if (again && asked && this.#askable(e, chatId, asked)) this.#leaveOut = () => void this.#run(again(asked))
    } finally {
      // Unless another answer has begun since (a conversation opened while this one was stopping).
      if (this.#active === stream) {
        this.#streaming = false
        this.#active = null
        this.#activeChat = null
        this.#running = null
      }
      await this.#refresh()
      // The first question names a new conversation.
      const summary = this.#list.find((s) => s.id === chatId)
      if (summary && this.#current?.id === chatId) this.#current.title = summary.title
    }
    return heard
  }
}
