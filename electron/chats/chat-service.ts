// Conversations that are kept: a question is stored as it is asked and its answer as it is
// written (answer.ts), one turn of a conversation at a time (turn-queue.ts). Here: sending a
// question, regenerating an answer and editing a question, each answered the same way.
import type { ChatChunk, Conversation, ImageInput, StoredMessage } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import type { ChatStore } from './store.js'
import type { TextLayerUse } from '../ocr/text-layer.js'
import type { RemoteEngines } from '../remote/engines.js'
import { decodableImage } from '../images/heic.js'
import { answer, type AnswerSources, type Asking } from './answer.js'
import { createImageTextReader } from './image-texts.js'
import { createTurnQueue } from './turn-queue.js'

export interface ChatService {
  send(request: { chatId: string; text: string; images?: ImageInput[] } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
  regenerate(request: { chatId: string; messageId: string } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
  edit(request: { chatId: string; messageId: string; text: string } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
}

export function createChatService(
  store: ChatStore,
  engine: EngineClient,
  scheduler: GenerationScheduler,
  /** Absent: images go to the model as they are. */
  text: TextLayerUse | null = null,
  /** The inference servers elsewhere a conversation may use; absent: this computer's engine only. */
  remotes: RemoteEngines | null = null,
): ChatService {
  const sources: AnswerSources = { store, engine, scheduler, text, remotes }
  const readTexts = createImageTextReader(sources)
  const inTurn = createTurnQueue()
  // Pictures no conversation holds any more (a deleted one's, an edit's) leave the engine too:
  // the files its vision server reads them from. Not waited for: a delete need not wait on the
  // engine. One that cannot be asked has ended, and the next removes the folder it left as it
  // starts its vision server.
  store.onImagesGone((imageIds) => void engine.forgetImages(imageIds).catch(() => undefined))

  async function* readThenAnswer(
    chatId: string,
    chat: Conversation,
    asking: Asking,
    signal: AbortSignal,
    cut?: (stored: Conversation) => void,
  ): AsyncGenerator<ChatChunk> {
    const changed = await readTexts(chatId, chat, signal)
    // Only the last question is shown again: an earlier one would drop what followed it in the window.
    const last = changed.findLast((m) => m.id === chat.messages.findLast((x) => x.role === 'user')?.id)
    if (last) yield { kind: 'message', message: last }
    yield* answer(sources, chat, asking, signal, cut)
  }

  return {
    send({ chatId, text, images = [], ...asking }, signal) {
      return inTurn(chatId, signal, async function* () {
        // A HEIC photo is stored as the JPEG it becomes, so the window can show it (see heic.ts).
        const readable = await Promise.all(
          images.map(async (image) => ({ ...image, bytes: await decodableImage(image.bytes, image.name) })),
        )
        const stored = await store.saveImages(chatId, readable)
        const question = store.newMessage('user', text, stored)
        const chat = await store.update(chatId, (c) => {
          c.messages.push(question)
          if (c.messages.length === 1 && c.title === 'New conversation') c.title = titleFrom(text)
        })
        yield { kind: 'message', message: question }
        yield* readThenAnswer(chatId, chat, asking, signal)
      })
    },

    // An edit and a regenerate answer the conversation as it is to be, and cut the stored one
    // only once the new answer begins (see answer.ts).
    regenerate({ chatId, messageId, ...asking }, signal) {
      return inTurn(chatId, signal, async function* () {
        const cut = (c: Conversation): void => void (c.messages = c.messages.slice(0, findMessage(c, messageId, 'assistant')))
        const chat = await store.get(chatId)
        cut(chat)
        // The question answered again says where the conversation was cut: a window applying the
        // stream drops what followed it. Before, only the last answer was replaced there, so
        // regenerating an earlier one left on screen turns that no longer existed.
        const question = chat.messages.findLast((m) => m.role === 'user')
        if (question) yield { kind: 'message', message: structuredClone(question) }
        yield* readThenAnswer(chatId, chat, asking, signal, cut)
      })
    },

    edit({ chatId, messageId, text, ...asking }, signal) {
      return inTurn(chatId, signal, async function* () {
        const cut = (c: Conversation): void => {
          const index = findMessage(c, messageId, 'user')
          c.messages = [...c.messages.slice(0, index), { ...c.messages[index]!, text }]
        }
        const chat = await store.get(chatId)
        cut(chat)
        yield { kind: 'message', message: structuredClone(chat.messages.at(-1)!) }
        yield* readThenAnswer(chatId, chat, asking, signal, cut)
      })
    },
  }
}

function findMessage(chat: Conversation, id: string, role: StoredMessage['role']): number {
  const index = chat.messages.findIndex((m) => m.id === id)
  if (index < 0 || chat.messages[index]!.role !== role)
    throw new AppError('not-found', `That ${role === 'user' ? 'question' : 'answer'} is no longer in this conversation.`)
  return index
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0]!.replace(/\s+/g, ' ')
  return line.length > 60 ? `${line.slice(0, 57)}…` : line
}
