// A conversation's stored images as the window fetches them: one object URL per image, and
// the text read on one on request. Kept apart from the chat controller, which only routes to it.
import type { ScreenText } from '@contract'
import { errorText, type AssistantClient } from './assistant'

export class StoredImages {
  // A plain cache: nothing renders from the map itself.
  readonly #urls = new Map<string, Promise<string>>()
  readonly #client: AssistantClient

  constructor(client: AssistantClient) {
    this.#client = client
  }

  /** A URL for a stored image, fetched once; a fetch that failed is tried again on the next look. */
  url(chatId: string, imageId: string, mime: string): Promise<string> {
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

  /** Reads the text on a stored image now; main keeps it with the image. A failure comes back as the text, with its reason. */
  async readText(chatId: string, imageId: string): Promise<ScreenText> {
    try {
      return await this.#client.invoke('chats:image-text', { chatId, imageId })
    } catch (e) {
      return { status: 'failed', reason: errorText(e) }
    }
  }
}
