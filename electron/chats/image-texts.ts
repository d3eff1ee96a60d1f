// The text layer's reading of a conversation's images, kept with them in the stored
// conversation, so each image is read once rather than before every question.
import type { Conversation, StoredImage, StoredMessage } from '../ipc/contract.js'
import type { ScreenText } from '../ocr/types.js'
import type { PromptSources } from './engine-prompt.js'

/**
 * Reads the text of a conversation's images that have none yet (the one just sent, or older
 * ones from before the text layer was on) and keeps it with them. Returns the questions
 * whose images changed.
 */
export type ImageTextReader = (chatId: string, chat: Conversation, signal: AbortSignal) => Promise<StoredMessage[]>

export function createImageTextReader({ store, text }: PromptSources): ImageTextReader {
  /** Images whose reading failed, by the text layer's generation it failed under. */
  const failedUnder = new Map<string, number>()

  return async function readTexts(chatId, chat, signal) {
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
}
