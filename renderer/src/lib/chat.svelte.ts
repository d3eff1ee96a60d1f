// The chat window's state: the conversation list, the open conversation, and the answers
// streaming into it and, in the background, into others. Its fields are private: components
// read them through the getters and change them only through the methods. Each concern lives
// in a store of its own beside it: the list and search (conversation-list), who answers and
// what it takes (readiness), a conversation's settings (conversation-settings), the questions
// and their answers (answers, answer), and what is said with the context-full offer (context-full).
import type { ChatSettings, ChatSummary, Conversation, DamagedConversation, EngineChoice, EngineSettings, EngineState } from '@contract'
import type { AssistantClient } from './assistant'
import type { AnswerKind } from './answer-format'
import { Answers } from './answers.svelte'
import type { AlertKey } from './context-full.svelte'
import { ConversationList } from './conversation-list.svelte'
import { ConversationSettings } from './conversation-settings.svelte'
import type { PendingImage, ReturnedQuestion } from './pending-images'
import { Readiness } from './readiness.svelte'
import type { DeepReadonly } from './readonly'
import { StoredImages } from './stored-images'
import type { EnginesController, RemoteAnswerer } from './engines.svelte'

// The helpers that moved beside the controller; importers of the controller find them here as before.
export { EXAMPLE_SCHEMA, parseSchema, type AnswerKind } from './answer-format'
export { SEARCH_DELAY_MS } from './conversation-list.svelte'
export { tooManyImages, type PendingImage, type ReturnedQuestion } from './pending-images'

export class ChatController {
  // Deep: an answer is applied to its conversation's messages in place (applyChunk); open, it re-renders.
  #current = $state<Conversation | null>(null)
  readonly #conversations: ConversationList
  readonly #readiness: Readiness
  readonly #settings: ConversationSettings
  readonly #answers: Answers
  readonly #client: AssistantClient
  readonly #images: StoredImages

  /** Without `engines`, every conversation is answered on this computer. */
  constructor(client: AssistantClient, engines?: EnginesController) {
    this.#client = client
    this.#images = new StoredImages(client)
    this.#conversations = new ConversationList(client)
    this.#readiness = new Readiness(client, engines ?? null)
    this.#settings = new ConversationSettings(client)
    this.#answers = new Answers(client, {
      current: () => this.#current,
      show: (chat) => void (this.#current = chat),
      ready: () => this.ready,
      takesImages: () => this.vision || this.textOnly,
      conversations: this.#conversations,
    })
    // Main gives a removed engine's conversations back to this computer; the open one follows,
    // or the window went on saying a removed engine answers while this computer did.
    engines?.onRemoved((id) => {
      if (this.#current?.engine?.id === id) this.#current.engine = null
    })
  }

  /** The conversations, newest first, filtered by the search text. */
  get list(): DeepReadonly<ChatSummary[]> {
    return this.#conversations.list
  }

  /** Conversations that could not be read at start: not in the list, kept on disk as they were. */
  get damaged(): DeepReadonly<DamagedConversation[]> {
    return this.#conversations.damaged
  }

  /** Shows a damaged conversation's file in the system's file manager. */
  async revealDamaged(id: string): Promise<void> {
    const failed = await this.#conversations.revealDamaged(id)
    if (failed !== null) this.#answers.say(this.#key, failed)
  }

  /** The search text the list is filtered by. */
  get query(): string {
    return this.#conversations.query
  }

  /** The open conversation; null before the first question of a new one. */
  get current(): DeepReadonly<Conversation> | null {
    return this.#current
  }

  get engine(): DeepReadonly<EngineState> {
    return this.#readiness.engine
  }

  /** Whose alert and returned question the window shows: the open conversation's. */
  get #key(): AlertKey {
    return this.#current?.id ?? null
  }

  /** An answer is streaming into the open conversation (or waits its turn to). */
  get streaming(): boolean {
    return this.#answers.answering(this.#current?.id)
  }

  /** An answer is being written in conversation `id`, open or not. */
  answering(id: string): boolean {
    return this.#answers.answering(id)
  }

  /** The title of the conversation whose answer the open one's waits behind (the engine writes one at a time); null when it waits for none. */
  get waitingFor(): string | null {
    const ahead = this.#answers.waitingBehind(this.#current?.id)
    return ahead && (this.#conversations.titleOf(ahead.id) ?? ahead.title)
  }

  /** A sentence for screen readers on how the last answer written in the background ended. */
  get answerEnded(): string {
    return this.#answers.ended
  }

  /** The open conversation's alert: what was said about its questions, here or while it answered in the background. */
  get error(): string | null {
    return this.#answers.error(this.#key)
  }

  /** Something was said in conversation `id` (its answer failed in the background) that opening it shows. */
  alerted(id: string): boolean {
    return this.#answers.error(id) !== null
  }

  /** The alert says the conversation (set to stop and ask) no longer fits the context, and the question can be answered leaving out its oldest turns. */
  get canLeaveOutOldest(): boolean {
    return this.#answers.canLeaveOutOldest(this.#key)
  }

  /** Answers the question refused for the context once more, this once leaving out the oldest turns; the setting stays. */
  leaveOutOldest(): void {
    this.#answers.leaveOutOldest()
  }

  /** A question main refused before storing it (an image it cannot read): the composer takes it back. */
  get returned(): DeepReadonly<ReturnedQuestion> | null {
    return this.#answers.returned(this.#key)
  }

  /** Hands the returned question to the composer, once. */
  takeReturned(): ReturnedQuestion | null {
    return this.#answers.takeReturned(this.#key)
  }

  /** The remote engine that answers the open conversation (before one is open: the default); null: this computer. */
  get remote(): RemoteAnswerer | null {
    return this.#readiness.remote(this.#current)
  }

  /** A question can be asked: a remote engine answers, or a model is loaded here. */
  get ready(): boolean {
    return this.#readiness.ready(this.#current)
  }

  /** While no question can be asked, what the window says instead: the model on its way, or that one is needed. */
  get notReadyHint(): string {
    return this.#readiness.notReadyHint
  }

  get vision(): boolean {
    return this.#readiness.vision(this.#current)
  }

  /** The model cannot see, but gets the text read on images instead (the text layer is on). */
  get textOnly(): boolean {
    return this.#readiness.textOnly(this.#current)
  }

  /** The conversation was answered by another model than the one loaded now (a remote engine's needs none here). */
  get modelMismatch(): DeepReadonly<Conversation['model']> {
    return this.#readiness.modelMismatch(this.#current)
  }

  async start(): Promise<() => void> {
    const offEngine = await this.#readiness.start()
    // Quick-ask hands a conversation over to this window.
    const offOpen = this.#client.on('chat:open', ({ chatId }) => void this.#conversations.refresh().then(() => this.open(chatId)))
    await this.#conversations.refresh()
    await this.#conversations.readDamaged()
    const newest = this.#conversations.list[0]
    if (newest) await this.open(newest.id)
    return () => {
      offEngine()
      offOpen()
      this.#conversations.stop()
    }
  }

  /** The Settings dialog saved the engine settings: what images a text-only model takes follows them. */
  engineSettingsSaved(settings: EngineSettings): void {
    this.#readiness.engineSettingsSaved(settings)
  }

  /** Filters the list by `text`, once typing has paused for SEARCH_DELAY_MS. */
  search(text: string): void {
    this.#conversations.search(text)
  }

  // Opening another conversation, or a new one, leaves an answer being written to go on: before,
  // it was stopped, and a glance at an older conversation cut the answer short.
  async open(id: string): Promise<void> {
    this.#leave()
    // Taken now: the answer may end while main's copy is read.
    const answering = this.#answers.conversationOf(id)
    const stored = await this.#client.invoke('chats:get', { id })
    this.#current = this.#answers.toShow(stored, answering)
  }

  /** What was said in the conversation left was seen there; what an answer in the background says waits in its own. */
  #leave(): void {
    this.#answers.say(this.#key, null)
  }

  async create(): Promise<void> {
    this.#leave()
    this.#current = await this.#client.invoke('chats:create', {})
    // The new conversation would be hidden by a search that does not match it.
    this.#conversations.clearSearch()
    await this.#conversations.refresh()
  }

  async rename(id: string, title: string): Promise<void> {
    const updated = await this.#client.invoke('chats:update', { id, title })
    if (this.#current?.id === id) this.#current.title = updated.title
    const answering = this.#answers.conversationOf(id)
    if (answering) answering.title = updated.title
    await this.#conversations.refresh()
  }

  async setSystemPrompt(systemPrompt: string): Promise<void> {
    if (this.#current) await this.#settings.setSystemPrompt(this.#current, systemPrompt)
  }

  /** Which engine answers the open conversation from now on; nothing is unloaded here. */
  async setEngine(engine: EngineChoice | null): Promise<void> {
    if (this.#current) await this.#settings.setEngine(this.#current, engine)
  }

  async loadConversationModel(): Promise<void> {
    const wanted = this.#current?.model
    if (!wanted) return
    this.#answers.say(this.#key, null)
    const failed = await this.#readiness.load(wanted)
    if (failed !== null) this.#answers.say(this.#key, failed)
  }

  async setSettings(settings: ChatSettings): Promise<void> {
    if (this.#current) await this.#settings.setSettings(this.#current, settings)
  }

  /**
   * Sets how the open conversation's answers are written. A schema comes as the text typed
   * (absent: the conversation's own schema, else EXAMPLE_SCHEMA) and is saved only if it is
   * a JSON object. Returns why nothing was saved, or null.
   */
  async setAnswerFormat(kind: AnswerKind, schemaText?: string): Promise<string | null> {
    return this.#current ? this.#settings.setAnswerFormat(this.#current, kind, schemaText) : null
  }

  async remove(id: string): Promise<void> {
    await this.#answers.deleting(id, async () => void (await this.#client.invoke('chats:delete', { id })))
    if (this.#current?.id === id) this.#current = null
    await this.#conversations.refresh()
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
    return this.#answers.send(text, images)
  }

  regenerate(messageId: string): void {
    this.#answers.regenerate(messageId)
  }

  /** Returns false when the edit is refused here, so the editor stays open with it. */
  edit(messageId: string, text: string): boolean {
    return this.#answers.edit(messageId, text)
  }

  /** Stops the open conversation's answer; one being written in another goes on. */
  async stop(): Promise<void> {
    await this.#answers.stop(this.#current?.id)
  }
}
