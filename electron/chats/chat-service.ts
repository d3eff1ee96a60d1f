// Conversations that are kept: a question and its answer are saved as they happen, so
// a closed window, a crashed engine or a crashed app loses at most the last second of
// an answer, and an interrupted answer is marked as such.
import type { ChatChunk, ChatMessage, Conversation, ImageInput, Sampling, StoredMessage } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import type { ChatStore } from './store.js'

/** Partial answers are saved this often while they stream. */
const SAVE_INTERVAL_MS = 1000

export interface ChatService {
  send(
    request: { chatId: string; text: string; images?: ImageInput[]; sampling?: Sampling },
    signal: AbortSignal,
  ): AsyncGenerator<ChatChunk>
  regenerate(request: { chatId: string; messageId: string; sampling?: Sampling }, signal: AbortSignal): AsyncGenerator<ChatChunk>
  edit(request: { chatId: string; messageId: string; text: string; sampling?: Sampling }, signal: AbortSignal): AsyncGenerator<ChatChunk>
}

export function createChatService(store: ChatStore, engine: EngineClient, scheduler: GenerationScheduler): ChatService {
  async function* answer(chat: Conversation, sampling: Sampling | undefined, signal: AbortSignal): AsyncGenerator<ChatChunk> {
    const history = await toEngineMessages(chat)
    const reply = store.newMessage('assistant', '')
    const state = engine.state()
    reply.model = state.state === 'ready' ? state.info.modelPath : null
    await store.update(chat.id, (c) => {
      c.messages.push(reply)
      // Remembered, so opening the conversation later can offer this model back.
      if (state.state === 'ready') c.model = { modelPath: state.info.modelPath, mmprojPath: state.info.mmprojPath }
    })
    yield { kind: 'message', message: { ...reply } }

    let lastSave = performance.now()
    let failure: unknown = null
    const save = (): Promise<Conversation> =>
      store.update(chat.id, (c) => {
        const m = c.messages.find((x) => x.id === reply.id)
        if (m) Object.assign(m, reply)
      })
    try {
      for await (const chunk of scheduler.generate(
        'ui',
        // The conversation's answer format: a grammar holds the model to JSON, or to its schema.
        { messages: history, sampling, ...(chat.settings.format ? { format: chat.settings.format } : {}) },
        signal,
      )) {
        if (chunk.kind === 'tokens') {
          reply.text += chunk.text
          yield { kind: 'tokens', messageId: reply.id, text: chunk.text, count: chunk.count }
          if (performance.now() - lastSave > SAVE_INTERVAL_MS) {
            lastSave = performance.now()
            await save()
          }
        } else {
          reply.stats = chunk.stats
          reply.status =
            chunk.stats.stopReason === 'cancelled' ? 'stopped' : chunk.stats.stopReason === 'engine-crashed' ? 'cut-off' : 'complete'
        }
      }
    } catch (error) {
      if (signal.aborted) reply.status = 'stopped'
      else {
        failure = error
        reply.status = 'error'
        reply.error = error instanceof Error ? error.message : String(error)
      }
    }
    if (reply.status === 'streaming') reply.status = signal.aborted ? 'stopped' : 'complete'
    // An answer that failed or was stopped before saying anything is not kept: the question
    // stays, ready to retry.
    if (reply.text === '' && (reply.status === 'error' || (reply.status === 'stopped' && !reply.stats?.tokensOut))) {
      await store.update(chat.id, (c) => void (c.messages = c.messages.filter((m) => m.id !== reply.id)))
      if (failure) throw failure
      return
    }
    await save()
    yield { kind: 'done', message: { ...reply } }
  }

  async function toEngineMessages(chat: Conversation): Promise<ChatMessage[]> {
    const messages: ChatMessage[] = chat.systemPrompt.trim() ? [{ role: 'system', text: chat.systemPrompt }] : []
    for (const m of chat.messages) {
      if (m.role === 'assistant' && m.status === 'error') continue
      const images = await Promise.all(
        m.images.map(async (image) => ({ bytes: await store.readImage(chat.id, image), name: image.name ?? undefined })),
      )
      messages.push({ role: m.role, text: m.text, ...(images.length ? { images } : {}) })
    }
    return messages
  }

  function findMessage(chat: Conversation, id: string, role: StoredMessage['role']): number {
    const index = chat.messages.findIndex((m) => m.id === id)
    if (index < 0 || chat.messages[index]!.role !== role)
      throw new AppError('not-found', `That ${role === 'user' ? 'question' : 'answer'} is no longer in this conversation.`)
    return index
  }

  return {
    async *send({ chatId, text, images = [], sampling }, signal) {
      const stored = []
      for (const image of images) stored.push(await store.saveImage(chatId, image.bytes, image.name))
      const question = store.newMessage('user', text, stored)
      const chat = await store.update(chatId, (c) => {
        c.messages.push(question)
        if (c.messages.length === 1 && c.title === 'New conversation') c.title = titleFrom(text)
      })
      yield { kind: 'message', message: question }
      yield* answer(chat, sampling, signal)
    },

    async *regenerate({ chatId, messageId, sampling }, signal) {
      const chat = await store.update(chatId, (c) => {
        c.messages = c.messages.slice(0, findMessage(c, messageId, 'assistant'))
      })
      yield* answer(chat, sampling, signal)
    },

    async *edit({ chatId, messageId, text, sampling }, signal) {
      let edited: StoredMessage | null = null
      const chat = await store.update(chatId, (c) => {
        const index = findMessage(c, messageId, 'user')
        edited = { ...c.messages[index]!, text }
        c.messages = [...c.messages.slice(0, index), edited]
      })
      yield { kind: 'message', message: edited! }
      yield* answer(chat, sampling, signal)
    },
  }
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0]!.replace(/\s+/g, ' ')
  return line.length > 60 ? `${line.slice(0, 57)}…` : line
}
