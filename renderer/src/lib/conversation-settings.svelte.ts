// A conversation's own settings as the window edits them: its system prompt, the engine that
// answers it, the sampling its answers are asked with, and how they are written.
import type { ChatSettings, Conversation, EngineChoice, Sampling } from '@contract'
import { errorText, type AssistantClient } from './assistant'
import { chooseFormat, type AnswerKind } from './answer-format'

/** The sampling a conversation's answers are asked with; none before one is open. */
export function samplingOf(chat: Conversation | null): Sampling {
  return chat ? { maxTokens: chat.settings.maxTokens, temperature: chat.settings.temperature } : {}
}

export class ConversationSettings {
  #settingsChanges = 0
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  async setSystemPrompt(chat: Conversation, systemPrompt: string): Promise<void> {
    if (chat.systemPrompt === systemPrompt) return
    await this.#client.invoke('chats:update', { id: chat.id, systemPrompt })
    chat.systemPrompt = systemPrompt
  }

  /** Which engine answers `chat` from now on; nothing is unloaded here. */
  async setEngine(chat: Conversation, engine: EngineChoice | null): Promise<void> {
    await this.#client.invoke('chats:update', { id: chat.id, engine })
    chat.engine = engine
  }

  async setSettings(chat: Conversation, settings: ChatSettings): Promise<void> {
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
   * Sets how `chat`'s answers are written. A schema comes as the text typed (absent: the
   * conversation's own schema, else EXAMPLE_SCHEMA) and is saved only if it is a JSON object.
   * Returns why nothing was saved, or null.
   */
  async setAnswerFormat(chat: Conversation, kind: AnswerKind, schemaText?: string): Promise<string | null> {
    const settings = chat.settings
    const chosen = chooseFormat(settings, kind, schemaText)
    if ('error' in chosen) return chosen.error
    const { format: _old, ...rest } = settings
    try {
      await this.setSettings(chat, chosen.format ? { ...rest, format: chosen.format } : rest)
      return null
    } catch (e) {
      return errorText(e)
    }
  }
}
