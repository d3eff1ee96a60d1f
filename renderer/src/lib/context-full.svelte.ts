// What the window says about each conversation's questions, and the offer that can come with
// it: when main refused a question because the conversation (set to stop and ask) no longer
// fits the model's context, to answer it leaving out the oldest turns. Each conversation has
// its own, so what an answer written in the background said waits in its conversation.
import { SvelteMap } from 'svelte/reactivity'
import type { Conversation, StoredMessage } from '@contract'
import { AssistantError } from './assistant'
import type { DeepReadonly } from './readonly'

/** Whose alert: a conversation's id, or null while none is open (before a new one's first question). */
export type AlertKey = string | null

/** Answers the refused question again in `chat`, leaving out the oldest turns. */
export type LeaveOut = (chat: Conversation) => void

interface Said {
  text: string
  /** Offered with the alert, when it says a conversation set to stop and ask no longer fits. */
  leaveOut: LeaveOut | null
}

export class Alerts {
  readonly #said = new SvelteMap<AlertKey, Said>()

  text(key: AlertKey): string | null {
    return this.#said.get(key)?.text ?? null
  }

  /** Every alert, or none, replaces the one before in its conversation and takes the offer made with it away. */
  say(key: AlertKey, text: string | null): void {
    if (text === null) this.#said.delete(key)
    else this.#said.set(key, { text, leaveOut: null })
  }

  canLeaveOutOldest(key: AlertKey): boolean {
    return (this.#said.get(key)?.leaveOut ?? null) !== null
  }

  /** Offers, with the alert shown now in `key`, to answer leaving out the oldest turns. */
  offer(key: AlertKey, leaveOut: LeaveOut): void {
    const said = this.#said.get(key)
    if (said) this.#said.set(key, { ...said, leaveOut })
  }

  /** The offer, once: the alert and the offer go. */
  takeOffer(key: AlertKey): LeaveOut | null {
    const offered = this.#said.get(key)?.leaveOut ?? null
    this.#said.delete(key)
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
