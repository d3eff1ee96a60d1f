// One answer being written: the stream main sends for a question, an edit or a regenerate,
// followed from its first chunk to its end, into the conversation it answers.
import type { ChatChunk, Conversation, StoredMessage } from '@contract'
import type { AssistantStream } from './assistant'
import { applyChunk } from './chunks'
import type { DeepReadonly } from './readonly'

/** The question a failed answer was to, asked again leaving out the conversation's oldest turns. */
export type AskAgain = (question: DeepReadonly<StoredMessage>) => AssistantStream<ChatChunk>

/** What the window does as an answer goes: each is told the answer it is about. */
export interface AnswerEvents {
  /** The stream ended without its final message (stopped before a word): main dropped the empty answer. */
  endedEarly(answer: Answer): Promise<void>
  /** The stream failed; `question` is the one answered, as main sent it back (null: it sent none). */
  failed(answer: Answer, error: unknown, question: StoredMessage | null): Promise<void>
  /** The answer is over, however it ended. */
  settled(answer: Answer): Promise<void>
}

export class Answer {
  /**
   * The conversation answered, as the window holds it: every chunk is applied to it, whether it
   * is open or not, so opening it again shows the answer where it has got to, and goes on.
   */
  readonly conversation: Conversation
  /** Asks the question again leaving out the oldest turns, offered if main says it no longer fits. */
  readonly again: AskAgain | undefined
  /** Resolves, once the answer is over, to whether main sent anything back: nothing means it stored nothing. */
  readonly done: Promise<boolean>
  /** Main has begun the answer itself; before, it may be waiting its turn behind another answer. */
  #writing = $state(false)
  readonly #stream: AssistantStream<ChatChunk>
  readonly #events: AnswerEvents

  /** `conversation` is the window's state (a deep proxy): what the chunks change in it re-renders. */
  constructor(conversation: Conversation, stream: AssistantStream<ChatChunk>, events: AnswerEvents, again?: AskAgain) {
    this.conversation = conversation
    this.again = again
    this.#stream = stream
    this.#events = events
    this.done = this.#follow()
  }

  get chatId(): string {
    return this.conversation.id
  }

  get writing(): boolean {
    return this.#writing
  }

  cancel(): Promise<void> {
    return this.#stream.cancel()
  }

  async #follow(): Promise<boolean> {
    let ended = false
    let heard = false
    /** The question being answered, as main sent it back (stored, for a new one). */
    let question: StoredMessage | null = null
    try {
      for await (const chunk of this.#stream) {
        heard = true
        if (chunk.kind === 'message' && chunk.message.role === 'user') question = chunk.message
        // Main sends the question and an empty answer before the engine takes it: the first words say it has.
        else if (chunk.kind !== 'message') this.#writing = true
        if (applyChunk(this.conversation.messages, chunk)) ended = true
      }
      if (!ended) await this.#events.endedEarly(this)
    } catch (e) {
      await this.#events.failed(this, e, question)
    } finally {
      await this.#events.settled(this)
    }
    return heard
  }
}
