// Conversations that are kept: a question and its answer are saved as they happen, so
// a closed window, a crashed engine or a crashed app loses at most the last second of
// an answer, and an interrupted answer is marked as such.
import type {
  ChatChunk,
  ChatMessage,
  Conversation,
  GenerateChunk,
  GenerateRequest,
  ImageInput,
  Sampling,
  StoredImage,
  StoredMessage,
} from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { RemoteHttpError } from '../remote/http.js'
import type { EngineClient } from '../engine/client.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import type { ChatStore } from './store.js'
import type { TextLayerUse } from '../ocr/text-layer.js'
import type { RemoteEngines } from '../remote/engines.js'
import { framed } from '../engine/frames.js'
import type { ScreenText } from '../ocr/types.js'
import { screenTextBudget, withImageText } from '../ocr/prompt.js'
import { decodableImage } from '../images/heic.js'
import { overflowNumbers } from '../engine/context-limit.js'
import { answerRoom, dropMore, keptWindow, sizeBefore, withoutTurns, type Prompt } from './context-window.js'

/** Partial answers are saved this often while they stream. */
const SAVE_INTERVAL_MS = 1000

/** How one answer is asked for. */
interface Asking {
  sampling?: Sampling
  /** This answer only: leave out the oldest turns if the conversation does not fit, whatever its setting. */
  contextFull?: 'drop-oldest'
}

export interface ChatService {
  send(request: { chatId: string; text: string; images?: ImageInput[] } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
  regenerate(request: { chatId: string; messageId: string } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
  edit(request: { chatId: string; messageId: string; text: string } & Asking, signal: AbortSignal): AsyncGenerator<ChatChunk>
}

interface Answerer {
  generate(request: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateChunk>
  canSee: boolean
  contextSize: number | null
  /** A remote engine's name; null for this computer's. */
  engineName: string | null
  model: string | null
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
  /** Who answers this conversation: the engine on this computer (through the scheduler it shares with the API), or a remote one. */
  function answererOf(chat: Conversation): Answerer {
    if (chat.engine) {
      if (!remotes) throw new AppError('not-found', 'Remote engines are not available here.')
      const remote = remotes.generator(chat.engine)
      return {
        // The local engine's host already sends a frame's tokens together; a server's arrive one read each.
        generate: (request, signal) => framed(remote.engine.generate(request, signal, 'ui')),
        canSee: remote.canSee,
        // The server's context size is not known: the text layer keeps its default bound.
        contextSize: null,
        engineName: remote.name,
        model: chat.engine.model,
      }
    }
    const state = engine.state()
    return {
      generate: (request, signal) => scheduler.generate('ui', request, signal),
      canSee: state.state !== 'ready' || state.info.vision,
      contextSize: state.state === 'ready' ? state.info.contextSize : null,
      engineName: null,
      model: state.state === 'ready' ? state.info.modelPath : null,
    }
  }

  /**
   * Answers `chat`, the conversation as it is to be answered. For an edit or a regenerate that is
   * not yet what is stored: `cut` makes the stored one so (drops the answer regenerated, or what
   * followed the question edited), and is applied only with the first word of the new answer.
   * Before, the turns were cut first, so a regenerate or an edit with no model loaded, or a server
   * that could not be reached, deleted every later turn and the images only they held, and
   * answered nothing; now a failure or a stop before the first word leaves them as they were.
   */
  async function* answer(
    chat: Conversation,
    { sampling, contextFull }: Asking,
    signal: AbortSignal,
    cut?: (stored: Conversation) => void,
  ): AsyncGenerator<ChatChunk> {
    let answerer = answererOf(chat)
    let prompt = await toEngineMessages(chat, answerer)
    const { notes } = prompt
    const reply = store.newMessage('assistant', '')
    if (notes.length) reply.notes = notes
    reply.model = answerer.model
    if (answerer.engineName) reply.engine = answerer.engineName
    const state = engine.state()
    // Shown at once (the window shows it being written), stored with the answer's first word.
    yield { kind: 'message', message: { ...reply } }

    let lastSave = performance.now()
    let kept = false
    const keep = async (): Promise<void> => {
      if (kept) return
      await store.update(chat.id, (c) => {
        cut?.(c)
        c.messages.push({ ...reply })
        // Remembered, so opening the conversation later can offer this model back.
        if (!answerer.engineName && state.state === 'ready')
          c.model = { modelPath: state.info.modelPath, mmprojPath: state.info.mmprojPath }
      })
      kept = true
      lastSave = performance.now()
    }
    let failure: unknown = null
    const save = (): Promise<Conversation> =>
      store.update(chat.id, (c) => {
        const m = c.messages.find((x) => x.id === reply.id)
        if (m) Object.assign(m, reply)
      })
    // Unless the user chose to be asked, a conversation that outgrew the context leaves out its
    // oldest turns (see context-window.ts). Asked, it still leaves out what its earlier answers
    // did (the user agreed to that): only leaving out more is asked about.
    const dropping = (contextFull ?? chat.settings.contextFull) !== 'stop'
    const maxTokens = sampling?.maxTokens ?? chat.settings.maxTokens
    const room = answerRoom(maxTokens, answerer.contextSize ?? Infinity)
    let dropped = keptWindow(prompt, answerer)
    if (dropping && answerer.contextSize) {
      const size = sizeBefore(prompt, dropped, answerer)
      if (size && size.total + room > answerer.contextSize)
        dropped = dropMore(prompt.messages, dropped, size, answerer.contextSize, room) ?? dropped
    }
    let turns = withoutTurns(prompt.messages, dropped)
    try {
      for (;;) {
        try {
          for await (const chunk of answerer.generate(
            // The conversation's answer format: a grammar holds the model to JSON, or to its schema.
            { messages: turns, sampling, ...(chat.settings.format ? { format: chat.settings.format } : {}) },
            signal,
          )) {
            if (chunk.kind === 'tokens') {
              await keep()
              reply.text += chunk.text
              yield { kind: 'tokens', messageId: reply.id, text: chunk.text, count: chunk.count }
              if (performance.now() - lastSave > SAVE_INTERVAL_MS) {
                lastSave = performance.now()
                await save()
              }
            } else {
              reply.stats = dropped ? { ...chunk.stats, droppedTurns: dropped } : chunk.stats
              reply.status =
                chunk.stats.stopReason === 'cancelled' ? 'stopped' : chunk.stats.stopReason === 'engine-crashed' ? 'cut-off' : 'complete'
            }
          }
          break
        } catch (error) {
          // A server's model that cannot see refused the images: it is remembered (the engine's
          // test probes only one of a server's models), and the question is asked again with
          // the text read on them instead. Before, every later question of the conversation,
          // text alone too, failed the same way, as its earlier images went again each time.
          if (error instanceof RemoteHttpError && error.imagesRefused && chat.engine && remotes && answerer.canSee && reply.text === '') {
            await remotes.imagesRefused(chat.engine)
            answerer = answererOf(chat)
            const blind = await toEngineMessages(chat, answerer)
            // Asked again only when no image is left to send (the question's own went as text, or it had none).
            if (blind.messages.some((m) => m.images?.length)) throw error
            prompt = blind
            turns = withoutTurns(prompt.messages, dropped)
            reply.notes = [...(reply.notes ?? []), ...blind.notes.filter((n) => !reply.notes?.includes(n))]
            continue
          }
          // The conversation outgrew the context: unless the user chose to be asked, its oldest
          // turns go, as many as leave the answer room by the engine's count, and the question
          // is tried again.
          if (!(error instanceof AppError && error.code === 'context-overflow' && reply.text === '') || !dropping) throw error
          const said = overflowNumbers(error.message)
          const more = dropMore(
            prompt.messages,
            dropped,
            said && { total: said.needed, imageTokens: said.imageTokens },
            said?.contextSize ?? answerer.contextSize,
            said ? answerRoom(maxTokens, said.contextSize) : room,
          )
          if (more === null) throw error
          dropped = more
          turns = withoutTurns(prompt.messages, dropped)
        }
      }
      if (dropped)
        reply.notes = [
          ...(reply.notes ?? []),
          `The conversation no longer fits the model's context: its ${dropped === 1 ? 'oldest turn was' : `${dropped} oldest turns were`} left out of this answer.`,
        ]
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
    // stays, ready to retry (an edit or a regenerate changed nothing).
    if (reply.text === '' && (reply.status === 'error' || (reply.status === 'stopped' && !reply.stats?.tokensOut))) {
      if (kept) await store.update(chat.id, (c) => void (c.messages = c.messages.filter((m) => m.id !== reply.id)))
      if (failure) throw failure
      return
    }
    // An answer that ended without a word (the model's first token was its last) is kept as before.
    await keep()
    await save()
    yield { kind: 'done', message: { ...reply } }
  }

  /**
   * The conversation as the engine gets it. With the text layer on, each question carries the
   * text of its images; a model that cannot see gets that text instead of the images.
   */
  async function toEngineMessages(chat: Conversation, { canSee, contextSize }: Answerer): Promise<Prompt & { notes: string[] }> {
    const messages: ChatMessage[] = chat.systemPrompt.trim() ? [{ role: 'system', text: chat.systemPrompt }] : []
    const sources: Prompt['sources'] = messages.map(() => null)
    const mode = text?.mode() ?? 'never'
    // The text of every question's images shares the room the context leaves for it.
    const budget = screenTextBudget(contextSize)
    const notes: string[] = []
    const last = chat.messages.findLast((m) => m.role === 'user')
    let missing = 0
    const present = async (m: StoredMessage): Promise<{ images: ImageInput[]; text: string }> => {
      const { images, gone } = await readImages(chat.id, m.images)
      missing += gone
      // The turn stays, and the model is told what it cannot see any more.
      const note = gone
        ? `\n\n[${gone === 1 ? 'An image' : `${gone} images`} of this message ${gone === 1 ? 'is' : 'are'} no longer stored on this computer.]`
        : ''
      return { images, text: m.text + note }
    }
    for (const m of chat.messages) {
      if (m.role === 'assistant' && m.status === 'error') continue
      if (m.role === 'user' && m.images.length && text) {
        const kept = await present(m)
        const turn = withImageText(
          { role: 'user', text: kept.text, images: kept.images },
          m.images.map((i) => i.text),
          {
            mode,
            canSee,
            budget,
          },
        )
        // Notes about earlier questions were said with their answers.
        if (m === last) notes.push(...turn.notes)
        messages.push(turn.message)
        sources.push(m)
        continue
      }
      const kept = await present(m)
      messages.push({ role: m.role, text: kept.text, ...(kept.images.length ? { images: kept.images } : {}) })
      sources.push(m)
    }
    // A model that cannot see gets no image of an earlier question, whatever the text layer's
    // setting: with it set to Never they would go again with every question and be refused
    // every time. The question asked now keeps its images, to be refused with the reason
    // rather than answered as if they had been seen.
    if (!canSee) {
      let left = 0
      const asked = messages.findLastIndex((m) => m.role === 'user')
      for (const [i, m] of messages.entries()) {
        if (!m.images?.length || i === asked) continue
        left += m.images.length
        const { images: _left, ...rest } = m
        messages[i] = rest
      }
      if (left)
        notes.push(
          `The model cannot see images: ${left === 1 ? 'an image of an earlier question was' : `${left} images of earlier questions were`} left out of the conversation it was given.`,
        )
    }
    if (missing)
      notes.push(
        `${missing === 1 ? 'An image' : `${missing} images`} of this conversation ${missing === 1 ? 'is' : 'are'} no longer stored on this computer; the model was told.`,
      )
    return { messages, sources, notes }
  }

  /** A message's images as stored; one whose file is gone (deleted by hand, a damaged disk) is counted, not fatal. */
  async function readImages(chatId: string, images: StoredImage[]): Promise<{ images: ImageInput[]; gone: number }> {
    const read = await Promise.all(
      images.map(async (image) => {
        try {
          return { bytes: await store.readImage(chatId, image), name: image.name ?? undefined }
        } catch (error) {
          if (error instanceof AppError && error.code === 'not-found') return null
          throw error
        }
      }),
    )
    const found = read.filter((image) => image !== null)
    return { images: found, gone: images.length - found.length }
  }

  /** Images whose reading failed, by the text layer's generation it failed under. */
  const failedUnder = new Map<string, number>()

  /**
   * Reads the text of a conversation's images that have none yet (the one just sent, or older
   * ones from before the text layer was on) and keeps it with them. Returns the questions
   * whose images changed.
   */
  async function readTexts(chatId: string, chat: Conversation, signal: AbortSignal): Promise<StoredMessage[]> {
    if (!text || text.mode() === 'never') return []
    const generation = text.layer.generation?.() ?? 0
    const asked = chat.messages.findLast((m) => m.role === 'user')
    // An earlier question's image whose reading failed is read again only once the text layer
    // was reloaded since (another language): before, it was read again before every question and
    // each waited the full timeout for a screen too slow to read. The question asked now (a
    // regenerate or an edit) has its own images read again, as the user asked again.
    const retried = (m: StoredMessage, image: StoredImage): boolean => m === asked || failedUnder.get(image.id) !== generation
    const unread = chat.messages.flatMap((m) =>
      m.images.filter((i) => !i.text || (i.text.status === 'failed' && retried(m, i))).map((image) => ({ m, image })),
    )
    if (!unread.length) return []
    const read = await Promise.all(
      unread.map(async ({ image }) => {
        const bytes = await store.readImage(chatId, image).catch(() => null)
        const found: ScreenText = bytes
          ? await text.layer.read(bytes, { signal })
          : { status: 'failed', reason: 'The image is no longer stored on this computer.' }
        if (found.status === 'failed') failedUnder.set(image.id, generation)
        else failedUnder.delete(image.id)
        return { id: image.id, text: found }
      }),
    )
    // Kept with the stored images, found by id: before an edit or a regenerate is answered, the
    // stored conversation still holds the turns it will drop, and the edited question's old text.
    const apply = (messages: StoredMessage[]): StoredMessage[] =>
      messages.filter((m) => {
        let touched = false
        for (const image of m.images) {
          const found = read.find((r) => r.id === image.id)
          if (found) {
            image.text = found.text
            touched = true
          }
        }
        return touched
      })
    await store.update(chatId, (c) => void apply(c.messages))
    return apply(chat.messages).map((m) => structuredClone(m))
  }

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
    yield* answer(chat, asking, signal, cut)
  }

  function findMessage(chat: Conversation, id: string, role: StoredMessage['role']): number {
    const index = chat.messages.findIndex((m) => m.id === id)
    if (index < 0 || chat.messages[index]!.role !== role)
      throw new AppError('not-found', `That ${role === 'user' ? 'question' : 'answer'} is no longer in this conversation.`)
    return index
  }

  // A conversation's turns are taken one at a time. A second question, edit or regenerate
  // while an answer is being written in it (quick-ask still answering while the chat window
  // asks a follow-up) interleaved the two: its question stored before the first answer, and
  // asked without it. It now waits for that answer to be saved, then goes on from it; stopped
  // while it waits, it ends having changed nothing.
  const queues = new Map<string, Promise<void>>()
  async function* inTurn(chatId: string, signal: AbortSignal, turn: () => AsyncGenerator<ChatChunk>): AsyncGenerator<ChatChunk> {
    const before = queues.get(chatId) ?? Promise.resolve()
    let end = (): void => undefined
    const mine = new Promise<void>((resolve) => (end = resolve))
    const queue = before.then(() => mine)
    queues.set(chatId, queue)
    try {
      await Promise.race([before, abortedOf(signal)])
      if (!signal.aborted) yield* turn()
    } finally {
      end()
      if (queues.get(chatId) === queue) queues.delete(chatId)
    }
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
    // only once the new answer begins (see answer).
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

function abortedOf(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0]!.replace(/\s+/g, ' ')
  return line.length > 60 ? `${line.slice(0, 57)}…` : line
}
