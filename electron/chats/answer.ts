// An answer to a kept conversation, streamed and saved as it is written, so a closed window, a
// crashed engine or a crashed app loses at most the last second of an answer, and an
// interrupted answer is marked as such.
import type { ChatChunk, Conversation, Sampling } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { RemoteHttpError } from '../remote/http.js'
import { overflowNumbers } from '../engine/context-limit.js'
import { answererOf, type Engines } from './answerer.js'
import { answerRoom, dropMore, keptWindow, sizeBefore, withoutTurns } from './context-window.js'
import { toEngineMessages, type PromptSources } from './engine-prompt.js'

/** Partial answers are saved this often while they stream. */
const SAVE_INTERVAL_MS = 1000

/** How one answer is asked for. */
export interface Asking {
  sampling?: Sampling
  /** This answer only: leave out the oldest turns if the conversation does not fit, whatever its setting. */
  contextFull?: 'drop-oldest'
}

/** What an answer needs: who may answer, and where the conversation and its images' text are kept. */
export type AnswerSources = Engines & PromptSources

/**
 * Answers `chat`, the conversation as it is to be answered. For an edit or a regenerate that is
 * not yet what is stored: `cut` makes the stored one so (drops the answer regenerated, or what
 * followed the question edited), and is applied only with the first word of the new answer.
 * Before, the turns were cut first, so a regenerate or an edit with no model loaded, or a server
 * that could not be reached, deleted every later turn and the images only they held, and
 * answered nothing; now a failure or a stop before the first word leaves them as they were.
 */
export async function* answer(
  sources: AnswerSources,
  chat: Conversation,
  { sampling, contextFull }: Asking,
  signal: AbortSignal,
  cut?: (stored: Conversation) => void,
): AsyncGenerator<ChatChunk> {
  const { store, engine, remotes } = sources
  let answerer = await answererOf(chat, sources, signal)
  let prompt = await toEngineMessages(chat, answerer, sources)
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
      if (!answerer.engineName && state.state === 'ready') c.model = { modelPath: state.info.modelPath, mmprojPath: state.info.mmprojPath }
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
          answerer = await answererOf(chat, sources, signal)
          const blind = await toEngineMessages(chat, answerer, sources)
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
