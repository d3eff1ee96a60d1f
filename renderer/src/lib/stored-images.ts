// A conversation's stored images as the window fetches them: one object URL per image, and
// the text read on one on request. Kept apart from the chat controller, which only routes to it.
import type { ScreenText } from '@contract'
import { errorText, type AssistantClient } from './assistant'

export class StoredImages {
  // A plain cache of one conversation's images: nothing renders from the map itself.
  readonly #urls = new Map<string, Promise<string>>()
  #chatId: string | null = null
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** A URL for a stored image, fetched once; a fetch that failed is tried again on the next look. */
  url(chatId: string, imageId: string, mime: string): Promise<string> {
    if (chatId !== this.#chatId) this.#release(chatId)
    let url = this.#urls.get(imageId)
    if (!url) {
      const fetched = this.#client
        .invoke('chats:image', { chatId, imageId })
        .then((bytes) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime })))
      this.#urls.set(imageId, fetched)
      // A failure is not kept: the file may be back (restored from a backup) when the
      // conversation is opened again. The caller still gets the rejection.
      fetched.catch(() => {
        if (this.#urls.get(imageId) === fetched) this.#urls.delete(imageId)
      })
      url = fetched
    }
    return url
  }

  // A blob holds the whole image file in the window's memory until its URL is revoked: kept for
  // every conversation looked at, a morning of 4K screenshots would be hundreds of megabytes.
  // Only the conversation on screen asks for URLs, so the others' are let go when it changes;
  // an <img> that already shows one keeps its decoded picture.
  #release(chatId: string): void {
    for (const url of this.#urls.values()) url.then(URL.revokeObjectURL, () => {})
    this.#urls.clear()
    this.#chatId = chatId
  }

  /** Reads the text on a stored image now; main keeps it with the image. A failure comes back as the text, with its reason. */
  async readText(chatId: string, imageId: string): Promise<ScreenText> {
    try {
      return await this.#client.invoke('chats:image-text', { chatId, imageId })
    } catch (e) {
      return { status: 'failed', reason: errorText(e) }
    }
  }
}
