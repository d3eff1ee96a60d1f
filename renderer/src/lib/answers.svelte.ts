// The window's questions and the answers they get: what is asked (a question, an edit or a
// regenerate, always in the open conversation), the answers being written (one per conversation,
// going on in the background while another is open), what is said about each conversation, and
// the questions main gave back. The open conversation is the host's.
import { SvelteMap } from 'svelte/reactivity'
import { MESSAGES, tooLongText, type ChatChunk, type Conversation, type ImageInput } from '@contract'
import { errorText, type AssistantClient, type AssistantStream } from './assistant'
import { Answer, type AnswerEvents, type AskAgain } from './answer.svelte'
import { Alerts, canLeaveOut, type AlertKey } from './context-full.svelte'
import type { ConversationList } from './conversation-list.svelte'
import { samplingOf } from './conversation-settings.svelte'
import { tooManyImages, type PendingImage, type ReturnedQuestion } from './pending-images'
import type { DeepReadonly } from './readonly'

/** What the answers need of the window around them. */
export interface AnswersHost {
  /** The open conversation; null before the first question of a new one. */
  current(): Conversation | null
  /** Opens `chat`, a new conversation made for a first question. */
  show(chat: Conversation): void
  /** A question can be asked: a remote engine answers, or a model is loaded here. */
  ready(): boolean
  /** Images can go with a question: the model sees them, or gets their text. */
  takesImages(): boolean
  readonly conversations: ConversationList
}

export class Answers {
  /** The answers being written, by conversation, in the order they were asked. */
  readonly #answers = new SvelteMap<string, Answer>()
  readonly #alerts = new Alerts()
  /** Questions main refused before storing them, each for the composer of its own conversation. */
  readonly #returned = new SvelteMap<AlertKey, ReturnedQuestion>()
  /** What a screen reader hears when an answer written in the background ends. */
  #ended = $state('')
  /** Conversations being deleted: the end of an answer that was being written in one is no error to show. */
  // Read only while a stream ends, never by a component: nothing re-renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #deleting = new Set<string>()
  readonly #client: AssistantClient
  readonly #host: AnswersHost

  constructor(client: AssistantClient, host: AnswersHost) {
    this.#client = client
    this.#host = host
  }

  /** An answer is being written in conversation `id` (or waits its turn to be). */
  answering(id: string | undefined): boolean {
    return id !== undefined && this.#answers.has(id)
  }

  /** The conversation being answered as the window holds it, the answer so far applied; undefined when none is. */
  conversationOf(id: string): Conversation | undefined {
    return this.#answers.get(id)?.conversation
  }

  /**
   * The conversation to show for `stored`, main's copy: while it is being answered (or was
   * when it was opened, `answering`), the one the answer streams into, which holds it as far as
   * it has got (main saves it only every second), with what main changed meanwhile (the title it
   * names a new one by, its model). Its settings are the window's own, changed only here.
   */
  toShow(stored: Conversation, answering: Conversation | undefined): Conversation {
    const live = this.#answers.get(stored.id)?.conversation ?? answering
    if (!live) return stored
    const { messages: _messages, settings: _settings, systemPrompt: _systemPrompt, ...saved } = stored
    Object.assign(live, saved)
    return live
  }

  /**
   * The conversation whose answer the one in `id` waits behind: asked earlier, on the same engine
   * (which writes one answer at a time), and still going; null once `id`'s answer has begun.
   */
  waitingBehind(id: string | undefined): DeepReadonly<Conversation> | null {
    const mine = id === undefined ? undefined : this.#answers.get(id)
    if (!mine || mine.writing) return null
    for (const other of this.#answers.values()) {
      if (other === mine) break
      if ((other.conversation.engine?.id ?? null) === (mine.conversation.engine?.id ?? null)) return other.conversation
    }
    return null
  }

  /** A sentence for screen readers on how the last answer written in the background ended. */
  get ended(): string {
    return this.#ended
  }

  error(key: AlertKey): string | null {
    return this.#alerts.text(key)
  }

  /** Shows `text` as the alert of `key` (null: none), in place of the one before. */
  say(key: AlertKey, text: string | null): void {
    this.#alerts.say(key, text)
  }

  /** The alert of `key` says the conversation (set to stop and ask) no longer fits the context, and the question can be answered leaving out its oldest turns. */
  canLeaveOutOldest(key: AlertKey): boolean {
    return this.#alerts.canLeaveOutOldest(key)
  }

  /** Answers the question refused for the context in the open conversation once more, this once leaving out the oldest turns; the setting stays. */
  leaveOutOldest(): void {
    const chat = this.#host.current()
    if (!chat) return
    const again = this.#alerts.takeOffer(chat.id)
    this.#alerts.say(chat.id, this.#notReady())
    if (this.#alerts.text(chat.id) === null) again?.(chat)
  }

  /** A question main refused before storing it (an image it cannot read), in `key`: its composer takes it back. */
  returned(key: AlertKey): DeepReadonly<ReturnedQuestion> | null {
    return this.#returned.get(key) ?? null
  }

  /** Hands the question returned in `key` to the composer, once. */
  takeReturned(key: AlertKey): ReturnedQuestion | null {
    const back = this.#returned.get(key) ?? null
    this.#returned.delete(key)
    return back
  }

  /** Returns false when the message is refused here, so the composer keeps it. */
  send(text: string, images: PendingImage[]): boolean {
    let asked: AlertKey = this.#host.current()?.id ?? null
    this.#alerts.say(asked, null)
    if (images.length > 0 && !this.#host.takesImages()) {
      this.#alerts.say(asked, MESSAGES.noVision)
      return false
    }
    const refused = this.#notReady() ?? tooLongText(text) ?? tooManyImages(images)
    if (refused !== null) {
      this.#alerts.say(asked, refused)
      return false
    }
    // A plain copy: the composer's list is its state, emptied once the question is sent.
    const pending = images.map(({ url, name, bytes }) => ({ url, name, bytes }))
    void this.#withConversation(asked, (chat) => {
      asked = chat.id
      const chatId = chat.id
      const attachments: ImageInput[] = pending.map((i) => ({ bytes: i.bytes, name: i.name }))
      // Asked again, the question main stored is answered again (an edit that changes nothing), not sent twice.
      return this.#run(
        chat,
        this.#client.stream('chats:send', { chatId, text, images: attachments, sampling: samplingOf(chat) }),
        (question) =>
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
      // question and its images go back to be sent again, rather than lost. To its own
      // conversation's composer: the window may show another one by now.
      if (!heard) this.#returned.set(asked, { text, images: pending })
      // Stored with the question, the images are shown from their files from now on: the
      // composer's previews (a 4K screenshot each) are let go, or every one sent stayed in memory.
      else for (const image of pending) URL.revokeObjectURL(image.url)
    })
    return true
  }

  regenerate(messageId: string): void {
    const key = this.#host.current()?.id ?? null
    // An alert left from before is not about this answer (null: none is put in its place).
    this.#alerts.say(key, this.#notReady())
    if (this.#alerts.text(key) !== null) return
    void this.#withConversation(key, (chat) =>
      this.#run(chat, this.#client.stream('chats:regenerate', { chatId: chat.id, messageId, sampling: samplingOf(chat) }), () =>
        this.#client.stream('chats:regenerate', { chatId: chat.id, messageId, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
  }

  /** Returns false when the edit is refused here, so the editor stays open with it. */
  edit(messageId: string, text: string): boolean {
    const key = this.#host.current()?.id ?? null
    this.#alerts.say(key, this.#notReady() ?? tooLongText(text))
    if (this.#alerts.text(key) !== null) return false
    void this.#withConversation(key, (chat) =>
      this.#run(chat, this.#client.stream('chats:edit', { chatId: chat.id, messageId, text, sampling: samplingOf(chat) }), () =>
        this.#client.stream('chats:edit', { chatId: chat.id, messageId, text, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
    return true
  }

  /** Stops the answer being written in conversation `id`, and only that one. */
  async stop(id: string | undefined): Promise<void> {
    if (id !== undefined) await this.#answers.get(id)?.cancel()
  }

  /** Runs `remove`, the deletion of conversation `id`, once the answer being written in it is stopped and over. */
  async deleting(id: string, remove: () => Promise<void>): Promise<void> {
    this.#deleting.add(id)
    try {
      // The answer being written in it is stopped, and its end waited for, first: before, Stop
      // stayed on while main went on answering into a deleted conversation, until its next save
      // failed with "That conversation no longer exists." shown as an error.
      const answer = this.#answers.get(id)
      if (answer) {
        await answer.cancel()
        await answer.done.catch(() => false)
      }
      await remove()
    } finally {
      this.#deleting.delete(id)
    }
    this.#alerts.say(id, null)
    this.#returned.delete(id)
  }

  /** The open conversation's sampling, read when a question is asked again. */
  #sampling(): ReturnType<typeof samplingOf> {
    return samplingOf(this.#host.current())
  }

  /**
   * Why nothing can be asked now, or null. Main would refuse too, but only once the question's
   * turn came, and an edit or a regenerate is refused here as a question is.
   */
  #notReady(): string | null {
    return this.#host.ready() ? null : 'Load a model first.'
  }

  /** Runs `task` in the open conversation, or a new one; resolves to whether main answered anything. */
  async #withConversation(key: AlertKey, task: (chat: Conversation) => Promise<boolean>): Promise<boolean> {
    let chat = this.#host.current()
    if (!chat) {
      try {
        chat = await this.#client.invoke('chats:create', {})
      } catch (e) {
        this.#alerts.say(key, errorText(e))
        return false
      }
      this.#host.show(chat)
      // The window's state now (a deep proxy): the answer is applied to what the window shows.
      chat = this.#host.current()!
      // Listed now, not once its first answer ends: before, a first conversation was missing
      // from the list for as long as its answer streamed. Shown even under a search, as create() does.
      this.#host.conversations.clearSearch()
      await this.#host.conversations.refresh().catch(() => undefined)
    }
    return task(chat)
  }

  /**
   * Resolves to whether main sent anything back: nothing means it stored nothing. `again` asks
   * the question once more leaving out the oldest turns, offered if the conversation is set to
   * stop and ask and main says it no longer fits.
   */
  #run(chat: Conversation, stream: AssistantStream<ChatChunk>, again?: AskAgain): Promise<boolean> {
    const answer = new Answer(chat, stream, this.#events, again)
    this.#answers.set(chat.id, answer)
    return answer.done
  }

  /** Main's copy of the answered conversation, in place of the window's (its messages as main kept them). */
  async #readBack(answer: Answer): Promise<void> {
    const stored = await this.#client.invoke('chats:get', { id: answer.chatId }).catch(() => null)
    if (stored) Object.assign(answer.conversation, stored)
  }

  readonly #events: AnswerEvents = {
    // Stopped before a word: main dropped the empty answer, so show what it kept.
    endedEarly: (answer) => this.#readBack(answer),
    failed: async (answer, e, question) => {
      const { chatId, again } = answer
      // A conversation deleted while its answer was written: what main says of it then is no news.
      if (this.#deleting.has(chatId)) return
      // Said in its own conversation: shown there, now or when it is opened again.
      this.#alerts.say(chatId, errorText(e))
      await this.#readBack(answer)
      if (again && question && canLeaveOut(e, answer.conversation, question, this.#alerts.text(chatId)))
        this.#alerts.offer(chatId, (chat) => void this.#run(chat, again(question)))
    },
    settled: async (answer) => {
      // Unless another answer has begun in it since.
      if (this.#answers.get(answer.chatId) === answer) this.#answers.delete(answer.chatId)
      await this.#host.conversations.refresh()
      // The first question names a new conversation.
      const title = this.#host.conversations.titleOf(answer.chatId)
      if (title !== undefined) answer.conversation.title = title
      if (this.#host.current()?.id !== answer.chatId && !this.#deleting.has(answer.chatId)) {
        const failed = this.#alerts.text(answer.chatId) !== null
        this.#ended = `The answer in “${answer.conversation.title}” ${failed ? 'failed; open the conversation to see why' : 'is done'}.`
      }
    },
  }
}
