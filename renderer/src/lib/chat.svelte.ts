// The chat window's state: the conversation list, the open conversation, and the
// answer streaming into it. Components read it; only its methods change it.
import { MESSAGES, type ChatChunk, type ChatSettings, type ChatSummary, type Conversation, type EngineState, type ImageInput, type Sampling, type StoredMessage } from '@contract'
import { errorText, type AssistantClient, type AssistantStream } from './assistant'
import { applyChunk } from './chunks'

export interface PendingImage {
  url: string
  name: string
  bytes: Uint8Array
}

export class ChatController {
  list = $state<ChatSummary[]>([])
  query = $state('')
  current = $state<Conversation | null>(null)
  engine = $state<EngineState>({ state: 'idle' })
  streaming = $state(false)
  error = $state<string | null>(null)
  private active: AssistantStream<ChatChunk> | null = null
  // A plain cache, not state: nothing renders from the map itself.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private imageUrls = new Map<string, Promise<string>>()

  constructor(private readonly client: AssistantClient) {}

  get vision(): boolean {
    return this.engine.state === 'ready' && this.engine.info.vision
  }

  async start(): Promise<() => void> {
    this.engine = await this.client.invoke('engine:status')
    const offEngine = this.client.on('engine:state', (s) => (this.engine = s))
    // Quick-ask hands a conversation over to this window.
    const offOpen = this.client.on('chat:open', ({ chatId }) => void this.refresh().then(() => this.open(chatId)))
    await this.refresh()
    if (this.list[0]) await this.open(this.list[0].id)
    return () => {
      offEngine()
      offOpen()
    }
  }

  async refresh(): Promise<void> {
    this.list = await this.client.invoke('chats:list', this.query.trim() ? { query: this.query.trim() } : {})
  }

  async open(id: string): Promise<void> {
    if (this.streaming) await this.stop()
    this.error = null
    this.current = await this.client.invoke('chats:get', { id })
  }

  async create(): Promise<void> {
    if (this.streaming) await this.stop()
    this.error = null
    this.current = await this.client.invoke('chats:create', {})
    this.query = ''
    await this.refresh()
  }

  async rename(id: string, title: string): Promise<void> {
    const updated = await this.client.invoke('chats:update', { id, title })
    if (this.current?.id === id) this.current.title = updated.title
    await this.refresh()
  }

  async setSystemPrompt(systemPrompt: string): Promise<void> {
    if (!this.current || this.current.systemPrompt === systemPrompt) return
    await this.client.invoke('chats:update', { id: this.current.id, systemPrompt })
    this.current.systemPrompt = systemPrompt
  }

  /** The conversation was answered by another model than the one loaded now. */
  get modelMismatch(): Conversation['model'] {
    const wanted = this.current?.model
    if (!wanted) return null
    const loaded = this.engine.state === 'ready' ? this.engine.info : null
    return loaded && loaded.modelPath === wanted.modelPath && loaded.mmprojPath === wanted.mmprojPath ? null : wanted
  }

  async loadConversationModel(): Promise<void> {
    const wanted = this.current?.model
    if (!wanted) return
    this.error = null
    try {
      await this.client.invoke('engine:load', { modelPath: wanted.modelPath, ...(wanted.mmprojPath ? { mmprojPath: wanted.mmprojPath } : {}) })
    } catch (e) {
      this.error = errorText(e)
    }
  }

  async setSettings(settings: ChatSettings): Promise<void> {
    if (!this.current) return
    // Applied at once, so a question sent right after uses them; saved behind.
    this.current.settings = settings
    await this.client.invoke('chats:update', { id: this.current.id, settings })
  }

  private sampling(): Sampling {
    const settings = this.current?.settings
    return settings ? { maxTokens: settings.maxTokens, temperature: settings.temperature } : {}
  }

  async remove(id: string): Promise<void> {
    await this.client.invoke('chats:delete', { id })
    if (this.current?.id === id) this.current = null
    await this.refresh()
  }

  /** A URL for a stored image, fetched once. */
  imageUrl(imageId: string, mime: string): Promise<string> {
    const chatId = this.current?.id
    let url = this.imageUrls.get(imageId)
    if (!url && chatId) {
      url = this.client.invoke('chats:image', { chatId, imageId }).then((bytes) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime })))
      this.imageUrls.set(imageId, url)
    }
    return url ?? Promise.resolve('')
  }

  /** Returns false when the message is refused here, so the composer keeps it. */
  send(text: string, images: PendingImage[]): boolean {
    this.error = null
    if (images.length > 0 && !this.vision) {
      this.error = MESSAGES.noVision
      return false
    }
    if (this.engine.state !== 'ready') {
      this.error = 'Load a model first.'
      return false
    }
    void this.withConversation(async (chatId) => {
      const attachments: ImageInput[] = images.map((i) => ({ bytes: i.bytes, name: i.name }))
      await this.run(this.client.stream('chats:send', { chatId, text, images: attachments, sampling: this.sampling() }))
    })
    return true
  }

  regenerate(message: StoredMessage): void {
    void this.withConversation((chatId) => this.run(this.client.stream('chats:regenerate', { chatId, messageId: message.id, sampling: this.sampling() })))
  }

  edit(message: StoredMessage, text: string): void {
    void this.withConversation((chatId) => this.run(this.client.stream('chats:edit', { chatId, messageId: message.id, text, sampling: this.sampling() })))
  }

  async stop(): Promise<void> {
    await this.active?.cancel()
  }

  private async withConversation(task: (chatId: string) => Promise<void>): Promise<void> {
    if (!this.current) this.current = await this.client.invoke('chats:create', {})
    await task(this.current.id)
  }

  private async run(stream: AssistantStream<ChatChunk>): Promise<void> {
    const chat = this.current!
    this.streaming = true
    this.active = stream
    let ended = false
    try {
      for await (const chunk of stream) {
        if (this.current?.id !== chat.id) continue
        if (applyChunk(this.current.messages, chunk)) ended = true
      }
      // Stopped before a word: main dropped the empty answer, so show what it kept.
      if (!ended && this.current?.id === chat.id) this.current = await this.client.invoke('chats:get', { id: chat.id })
    } catch (e) {
      this.error = errorText(e)
      if (this.current?.id === chat.id) this.current = await this.client.invoke('chats:get', { id: chat.id }).catch(() => this.current)
    } finally {
      this.streaming = false
      this.active = null
      await this.refresh()
      // The first question names a new conversation.
      const summary = this.list.find((s) => s.id === chat.id)
      if (summary && this.current?.id === chat.id) this.current.title = summary.title
    }
  }
}
