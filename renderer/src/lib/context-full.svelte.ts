// The chat window's alert, and the offer that can come with it: when main refused a question
// because the conversation (set to stop and ask) no longer fits the model's context, to answer
// it leaving out the oldest turns.
import type { Conversation, StoredMessage } from '@contract'
import { AssistantError } from './assistant'
import type { DeepReadonly } from './readonly'

export class Alert {
  #text = $state<string | null>(null)
  /** Offered with the alert, when it says a conversation set to stop and ask no longer fits: answer it leaving out the oldest turns. */
  #leaveOut = $state.raw<(() => void) | null>(null)

  get text(): string | null {
    return this.#text
  }

  /** Every alert, or none, replaces the one before and takes the offer made with it away. */
  set text(text: string | null) {
    this.#text = text
    this.#leaveOut = null
  }

  get canLeaveOutOldest(): boolean {
    return this.#leaveOut !== null
  }

  /** Offers, with the alert shown now, to answer leaving out the oldest turns. */
  offer(leaveOut: () => void): void {
    this.#leaveOut = leaveOut
  }

  /** The offer, once: the alert and the offer go. */
  takeOffer(): (() => void) | null {
    const offered = this.#leaveOut
    this.text = null
    return offered
  }
}

/**
 * Main refused `question` for the context in `chat`, set to stop and ask, the alert shown says
 * so, and a turn before it could be left out (a question alone too long for the context is no choice).
 */
export function canLeaveOut(
  e: unknown,
  chat: DeepReadonly<Conversation>,
  question: DeepReadonly<StoredMessage>,
  shown: string | null,
): boolean {
  if (!(e instanceof AssistantError) || e.code !== 'context-overflow') return false
  if (chat.settings.contextFull !== 'stop' || shown !== e.message) return false
  const at = chat.messages.findIndex((m) => m.id === question.id)
  return at > 0 && chat.messages.slice(0, at).some((m) => m.role === 'user')
}
