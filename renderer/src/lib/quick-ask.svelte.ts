// Quick-ask's conversation about the screenshot in hand: the question box, the question
// asked and its streamed answer, and follow-ups in the same conversation. The screenshot goes
// with the conversation's first question only, so the conversation counts as started once
// main has stored that question, not when it is created: a first question refused, failed or
// stopped before it was stored is asked again with its screenshot, into no empty conversation.
import { tooLongText, type ChatChunk, type StoredMessage } from '@contract'
import { errorText, type AssistantClient, type AssistantStream } from './assistant'
import { applyChunk } from './chunks'

export class QuickConversation {
  /** The question box. */
  question = $state('')
  /** What the window says went wrong; the window's own checks set it too. */
  error = $state<string | null>(null)
  // Null until main has stored a question in it.
  #chatId = $state<string | null>(null)
  // Deep: the answer streams into its message in place (applyChunk).
  #messages = $state<StoredMessage[]>([])
  #asked = $state('')
  #streaming = $state(false)
  readonly #answer = $derived(this.#messages.findLast((m) => m.role === 'assistant') ?? null)
  // The question main stored whose answer failed or was stopped before a word: asking again asks it again.
  #unanswered: string | null = null
  #active: AssistantStream<ChatChunk> | null = null
  // Counts questions and screenshots: a stream from an earlier one is not shown.
  #turn = 0
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** The conversation, once its first question is stored: Open in chat opens it. */
  get chatId(): string | null {
    return this.#chatId
  }

  get messages(): readonly StoredMessage[] {
    return this.#messages
  }

  /** The latest answer, as it streams. */
  get answer(): StoredMessage | null {
    return this.#answer
  }

  /** The question the answer is for. */
  get asked(): string {
    return this.#asked
  }

  get streaming(): boolean {
    return this.#streaming
  }

  /**
   * A new screenshot starts a new conversation. An answer still being written is about the
   * one it replaces: it is stopped (kept in its conversation as far as it got), so the next
   * question is answered now instead of after it, and its last chunks are not shown.
   */
  reset(): void {
    void this.#active?.cancel().catch(() => undefined)
    this.#turn++
    this.#active = null
    this.#streaming = false
    this.#chatId = null
    this.#unanswered = null
    this.#messages = []
    this.#asked = ''
    this.error = null
  }

  /** Opens the conversation in the chat window; one deleted there meanwhile is said here. */
  async openInChat(): Promise<void> {
    if (this.#chatId === null) return
    try {
      await this.#client.invoke('quick:open-in-chat', { chatId: this.#chatId })
    } catch (e) {
      this.error = errorText(e)
    }
  }

  stop(): void {
    void this.#active?.cancel().catch(() => undefined)
  }

  /** Asks what is in the question box; the screenshot goes with the conversation's first question. */
  async ask(captureId: string | null): Promise<void> {
    const text = this.question.trim()
    if (!text || this.#streaming) return
    // Refused here, with the question left in the box to shorten, not by the contract in its words.
    const tooLong = tooLongText(text)
    if (tooLong !== null) {
      this.error = tooLong
      return
    }
    const turn = ++this.#turn
    const current = (): boolean => turn === this.#turn
    this.error = null
    this.#streaming = true
    this.#asked = text
    let chatId = this.#chatId
    let created: string | null = null
    let stored = false
    let answered = false
    try {
      if (chatId === null) chatId = created = (await this.#client.invoke('chats:create', { title: `Quick ask: ${text.slice(0, 50)}` })).id
      // A new screenshot came while the conversation was made: this question was about the old one.
      if (!current()) return
      const again = this.#unanswered
      const stream = again
        ? // The question is stored with its screenshot: asked again (as typed now), with no second copy.
          this.#client.stream('chats:edit', { chatId, messageId: again, text })
        : this.#client.stream('chats:send', { chatId, text, ...(created && captureId ? { captureId } : {}) })
      this.#active = stream
      for await (const chunk of stream) {
        if (chunk.kind === 'message' && chunk.message.role === 'user') {
          stored = true
          if (current()) {
            this.#chatId = chatId
            this.#unanswered = chunk.message.id
            // Asked: the box is free for a follow-up, unless something else was typed meanwhile.
            if (this.question.trim() === text) this.question = ''
          }
        } else if (chunk.kind === 'done') {
          // An answer that failed part-way is kept with its error: it is said, and asking again replaces it.
          answered = chunk.message.status !== 'error'
          if (!answered && current()) this.error = chunk.message.error ?? 'The answer could not be finished.'
        }
        if (current()) applyChunk(this.#messages, chunk)
      }
    } catch (e) {
      if (current()) this.error = errorText(e)
    } finally {
      // A conversation made for a question main never stored would stay in the list, empty.
      if (created && !stored) void this.#client.invoke('chats:delete', { id: created }).catch(() => undefined)
      if (current()) this.#finish(text, answered)
    }
  }

  #finish(text: string, answered: boolean): void {
    this.#streaming = false
    this.#active = null
    if (answered) {
      this.#unanswered = null
      return
    }
    // Main did not keep an answer that failed or was stopped before a word.
    const last = this.#messages.at(-1)
    if (last?.role === 'assistant' && last.status === 'streaming') this.#messages.pop()
    this.#asked = this.#messages.findLast((m) => m.role === 'user')?.text ?? ''
    // The question goes back in the box, to ask again as it is or changed.
    if (!this.question.trim()) this.question = text
  }
}
