// A kept conversation as the engine gets it: each question with its stored images read back,
// or the text read on them when the text layer is on or the model cannot see; an image whose
// file is gone is said, not fatal.
import type { ChatMessage, Conversation, ImageInput, StoredImage, StoredMessage } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { TextLayerUse } from '../ocr/text-layer.js'
import { screenTextBudget, withImageText } from '../ocr/prompt.js'
import type { Answerer } from './answerer.js'
import type { Prompt } from './context-window.js'
import type { ChatStore } from './store.js'

/** The engine's prompt, and the notes to show with the answer about what it leaves out. */
export type EnginePrompt = Prompt & { notes: string[] }

/** Where a prompt's images and their text come from. */
export interface PromptSources {
  store: ChatStore
  /** Null: images go to the model as they are. */
  text: TextLayerUse | null
}

/**
 * The conversation as the engine gets it. With the text layer on, each question carries the
 * text of its images; a model that cannot see gets that text instead of the images.
 */
export async function toEngineMessages(
  chat: Conversation,
  { canSee, contextSize }: Pick<Answerer, 'canSee' | 'contextSize'>,
  { store, text }: PromptSources,
): Promise<EnginePrompt> {
  const messages: ChatMessage[] = chat.systemPrompt.trim() ? [{ role: 'system', text: chat.systemPrompt }] : []
  const sources: Prompt['sources'] = messages.map(() => null)
  const mode = text?.mode() ?? 'never'
  // The text of every question's images shares the room the context leaves for it.
  const budget = screenTextBudget(contextSize)
  const notes: string[] = []
  const last = chat.messages.findLast((m) => m.role === 'user')
  let missing = 0
  const present = async (m: StoredMessage): Promise<{ images: ImageInput[]; text: string }> => {
    const { images, gone } = await readImages(store, chat.id, m.images)
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
async function readImages(store: ChatStore, chatId: string, images: StoredImage[]): Promise<{ images: ImageInput[]; gone: number }> {
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
