// The chat window's list of conversations: newest first, filtered by the search text, and
// those that could not be read at start.
import type { ChatSummary, DamagedConversation } from '@contract'
import { errorText, type AssistantClient } from './assistant'
import type { DeepReadonly } from './readonly'

/** How long typing in the search box settles before the list is asked for again. */
export const SEARCH_DELAY_MS = 150

export class ConversationList {
  // Lists arrive whole from main and are replaced, never edited: no deep proxies.
  #list = $state.raw<ChatSummary[]>([])
  #damaged = $state.raw<DamagedConversation[]>([])
  #query = $state('')
  #searchTimer: ReturnType<typeof setTimeout> | undefined
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** The conversations, newest first, filtered by the search text. */
  get list(): DeepReadonly<ChatSummary[]> {
    return this.#list
  }

  /** Conversations that could not be read at start: not in the list, kept on disk as they were. */
  get damaged(): DeepReadonly<DamagedConversation[]> {
    return this.#damaged
  }

  /** The search text the list is filtered by. */
  get query(): string {
    return this.#query
  }

  async readDamaged(): Promise<void> {
    // Said, not fatal: the list works without them.
    this.#damaged = await this.#client.invoke('chats:damaged', {}).catch(() => [])
  }

  /** Shows a damaged conversation's file in the system's file manager; resolves to why it could not, or null. */
  async revealDamaged(id: string): Promise<string | null> {
    try {
      await this.#client.invoke('chats:reveal-damaged', { id })
      return null
    } catch (e) {
      return errorText(e)
    }
  }

  /** Filters the list by `text`, once typing has paused for SEARCH_DELAY_MS. */
  search(text: string): void {
    this.#query = text
    clearTimeout(this.#searchTimer)
    this.#searchTimer = setTimeout(() => void this.refresh(), SEARCH_DELAY_MS)
  }

  /** Drops the search text, for a conversation a search that does not match it would hide. */
  clearSearch(): void {
    clearTimeout(this.#searchTimer)
    this.#query = ''
  }

  async refresh(): Promise<void> {
    const query = this.#query.trim()
    this.#list = await this.#client.invoke('chats:list', query ? { query } : {})
  }

  /** The title main lists for a conversation (it names a new one from its first question). */
  titleOf(id: string): string | undefined {
    return this.#list.find((s) => s.id === id)?.title
  }

  stop(): void {
    clearTimeout(this.#searchTimer)
  }
}
