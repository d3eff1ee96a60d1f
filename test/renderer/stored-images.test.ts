// A conversation's stored images as the window fetches them: fetched once, and a failed fetch
// is not kept, so the next look tries again (a file restored from a backup shows).
import { resolveObjectURL } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { StoredImages } from '../../renderer/src/lib/stored-images.js'
import { FakeAssistant } from './fake-assistant.js'

const CHAT = '0b6c7c2e-1f0d-4f61-8d6e-5f8d3c1a9b21'
const IMAGE = '5e0b1a64-3c55-4a7e-9f0e-2f4c8a1d7b93'

describe('StoredImages.url', () => {
  it('fetches an image once, and hands every later look the same URL', async () => {
    const main = new FakeAssistant().answer('chats:image', new Uint8Array([1, 2, 3]))
    const images = new StoredImages(main.client)
    const first = await images.url(CHAT, IMAGE, 'image/png')
    expect(first).toMatch(/^blob:/)
    expect(await images.url(CHAT, IMAGE, 'image/png')).toBe(first)
    expect(main.requests('chats:image')).toEqual([{ chatId: CHAT, imageId: IMAGE }])
  })

  it('does not keep a failure: the next look asks main again', async () => {
    const main = new FakeAssistant().refuse('chats:image', {
      code: 'not-found',
      message: 'That image is no longer stored with this conversation.',
    })
    const images = new StoredImages(main.client)
    await expect(images.url(CHAT, IMAGE, 'image/png')).rejects.toThrow('no longer stored')
    // The file is back.
    main.answer('chats:image', new Uint8Array([1, 2, 3]))
    expect(await images.url(CHAT, IMAGE, 'image/png')).toMatch(/^blob:/)
    expect(main.requests('chats:image')).toHaveLength(2)
  })
})

describe('StoredImages, another conversation opened', () => {
  it('lets go of the last conversation’s image files, and fetches them again when it is back', async () => {
    const main = new FakeAssistant().answer('chats:image', new Uint8Array([1, 2, 3]))
    const images = new StoredImages(main.client)
    const OTHER_CHAT = '7d1f3a52-9c4e-4b0a-8e21-6a5b4c3d2e10'
    const OTHER_IMAGE = 'c2a9e8f1-4b3d-4e5a-9f60-718293a4b5c6'
    const first = await images.url(CHAT, IMAGE, 'image/png')
    expect(resolveObjectURL(first)).toBeDefined()
    await images.url(OTHER_CHAT, OTHER_IMAGE, 'image/png')
    // Revoked once the fetch it waited for is settled.
    await Promise.resolve()
    expect(resolveObjectURL(first)).toBeUndefined()
    const again = await images.url(CHAT, IMAGE, 'image/png')
    expect(again).not.toBe(first)
    expect(resolveObjectURL(again)).toBeDefined()
    expect(main.requests('chats:image')).toHaveLength(3)
  })
})
