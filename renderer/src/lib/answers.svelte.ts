// The window's questions and the answer they get: what is asked (a question, an edit, a
// regenerate), the answer being written, the alert said about them, and a question main gave
// back. The open conversation is the host's: questions are asked in it.
import { MESSAGES, tooLongText, type ChatChunk, type Conversation, type ImageInput } from '@contract'
import { errorText, type AssistantClient, type AssistantStream } from './assistant'
import { Answer, type AnswerEvents, type AskAgain } from './answer.svelte'
import { Alert, canLeaveOut } from './context-full.svelte'
import type { ConversationList } from './conversation-list.svelte'
import { samplingOf } from './conversation-settings.svelte'
import { tooManyImages, type PendingImage, type ReturnedQuestion } from './pending-images'
import type { DeepReadonly } from './readonly'

/** What the answers need of the window around them. */
export interface AnswersHost {
  /** The open conversation; null before the first question of a new one. */
  current(): Conversation | null
  /** Opens `chat`: a new one for a first question, or main's copy of the open one read back. */
  show(chat: Conversation): void
  /** A question can be asked: a remote engine answers, or a model is loaded here. */
  ready(): boolean
  /** Images can go with a question: the model sees them, or gets their text. */
  takesImages(): boolean
  readonly conversations: ConversationList
}

export class Answers {
  #streaming = $state(false)
  #returned = $state.raw<ReturnedQuestion | null>(null)
  /** The answer being written, and the conversation it streams into. */
  #answer: Answer | null = null
  /** Conversations being deleted: the end of an answer that was being written in one is no error to show. */
  // Read only while a stream ends, never by a component: nothing re-renders from it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #deleting = new Set<string>()
  readonly #alert = new Alert()
  readonly #client: AssistantClient
  readonly #host: AnswersHost

  constructor(client: AssistantClient, host: AnswersHost) {
    this.#client = client
    this.#host = host
  }

  /** An answer is streaming into the open conversation. */
  get streaming(): boolean {
    return this.#streaming
  }

  get error(): string | null {
    return this.#alert.text
  }

  /** Shows `text` as the window's alert (null: none), in place of the one before. */
  say(text: string | null): void {
    this.#alert.text = text
  }

  /** The alert says the conversation (set to stop and ask) no longer fits the context, and the question can be answered leaving out its oldest turns. */
  get canLeaveOutOldest(): boolean {
    return this.#alert.canLeaveOutOldest
  }

  /** Answers the question refused for the context once more, this once leaving out the oldest turns; the setting stays. */
  leaveOutOldest(): void {
    const again = this.#alert.takeOffer()
    this.#alert.text = this.#notReady()
    if (this.#alert.text === null) again?.()
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

  /** Returns false when the message is refused here, so the composer keeps it. */
  send(text: string, images: PendingImage[]): boolean {
    this.#alert.text = null
    if (images.length > 0 && !this.#host.takesImages()) {
      this.#alert.text = MESSAGES.noVision
      return false
    }
    const refused = this.#notReady() ?? tooLongText(text) ?? tooManyImages(images)
    if (refused !== null) {
      this.#alert.text = refused
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
    this.#alert.text = this.#notReady()
    if (this.#alert.text !== null) return
    void this.#withConversation((chatId) =>
      this.#run(this.#client.stream('chats:regenerate', { chatId, messageId, sampling: this.#sampling() }), () =>
        this.#client.stream('chats:regenerate', { chatId, messageId, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
  }

  /** Returns false when the edit is refused here, so the editor stays open with it. */
  edit(messageId: string, text: string): boolean {
    this.#alert.text = this.#notReady() ?? tooLongText(text)
    if (this.#alert.text !== null) return false
    void this.#withConversation((chatId) =>
      this.#run(this.#client.stream('chats:edit', { chatId, messageId, text, sampling: this.#sampling() }), () =>
        this.#client.stream('chats:edit', { chatId, messageId, text, sampling: this.#sampling(), contextFull: 'drop-oldest' }),
      ),
    )
    return true
  }

  async stop(): Promise<void> {
    await this.#answer?.cancel()
  }

  /** Runs `remove`, the deletion of conversation `id`, once the answer being written in it is stopped and over. */
  async deleting(id: string, remove: () => Promise<void>): Promise<void> {
    this.#deleting.add(id)
    try {
      // The answer being written in it is stopped, and its end waited for, first: before, Stop
      // stayed on while main went on answering into a deleted conversation, until its next save
      // failed with "That conversation no longer exists." shown as an error.
      const answer = this.#answer
      if (answer?.chatId === id) {
        await this.stop()
        await answer.done.catch(() => false)
      }
      await remove()
    } finally {
      this.#deleting.delete(id)
    }
  }

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
  async #withConversation(task: (chatId: string) => Promise<boolean>): Promise<boolean> {
    let chat = this.#host.current()
    if (!chat) {
      try {
        chat = await this.#client.invoke('chats:create', {})
      } catch (e) {
        this.#alert.text = errorText(e)
        return false
      }
      this.#host.show(chat)
      // Listed now, not once its first answer ends: before, a first conversation was missing
      // from the list for as long as its answer streamed. Shown even under a search, as create() does.
      this.#host.conversations.clearSearch()
      await this.#host.conversations.refresh().catch(() => undefined)
    }
    return task(this.#host.current()!.id)
  }

  /**
   * Resolves to whether main sent anything back: nothing means it stored nothing. `again` asks
   * the question once more leaving out the oldest turns, offered if the conversation is set to
   * stop and ask and main says it no longer fits.
   */
  #run(stream: AssistantStream<ChatChunk>, again?: AskAgain): Promise<boolean> {
    this.#streaming = true
    const answer = new Answer(this.#host.current()!.id, stream, this.#events, again)
    this.#answer = answer
    return answer.done
  }

  /** The open conversation, when it is `chatId`. */
  #shown(chatId: string): Conversation | null {
    const chat = this.#host.current()
    return chat?.id === chatId ? chat : null
  }

  readonly #events: AnswerEvents = {
    shown: ({ chatId }) => this.#shown(chatId),
    endedEarly: async ({ chatId }) => {
      // Stopped before a word: main dropped the empty answer, so show what it kept.
      if (this.#shown(chatId)) this.#host.show(await this.#client.invoke('chats:get', { id: chatId }))
    },
    failed: async ({ chatId, again }, e, question) => {
      // A conversation deleted while its answer was written: what main says of it then is no news.
      if (!this.#deleting.has(chatId)) this.#alert.text = errorText(e)
      if (this.#shown(chatId)) {
        const stored = await this.#client.invoke('chats:get', { id: chatId }).catch(() => null)
        if (stored) this.#host.show(stored)
      }
      const chat = this.#shown(chatId)
      if (again && question && chat && canLeaveOut(e, chat, question, this.#alert.text))
        this.#alert.offer(() => void this.#run(again(question)))
    },
    settled: async (answer) => {
      // Unless another answer has begun since (a conversation opened while this one was stopping).
      if (this.#answer === answer) {
        this.#streaming = false
        this.#answer = null
      }
      await this.#host.conversations.refresh()
      // The first question names a new conversation.
      const title = this.#host.conversations.titleOf(answer.chatId)
      const chat = this.#shown(answer.chatId)
      if (title !== undefined && chat) chat.title = title
    },
  }
}
