// HEIC photos (an iPhone's default) become JPEGs on the way in: stored so the window can show
// them, prepared so the model sees them. The fixture is a 64x48 #cc3300 picture made with
// libheif's heif-enc (Debian's libheif-examples): `heif-enc -q 50 -o red-64x48.heic red.jpg`.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { ChatStore } from '../../electron/chats/store.js'
import { decodableImage, isHevcHeif } from '../../electron/images/heic.js'
import { prepareImage } from '../../electron/images/prepare.js'
import { createChatService } from '../../electron/chats/chat-service.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import { scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const heic = async (): Promise<Uint8Array> =>
  new Uint8Array(await readFile(fileURLToPath(new URL('../fixtures/red-64x48.heic', import.meta.url))))

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of stream) void chunk
}

/** The mean colour of an image, as [r, g, b]. */
async function meanColour(bytes: Uint8Array): Promise<number[]> {
  const { channels } = await sharp(bytes).stats()
  return channels.slice(0, 3).map((c) => Math.round(c.mean))
}

describe('HEIC photos', () => {
  it('are recognised, and decoded to a JPEG of the same size and colour; other images pass as they are', async () => {
    const photo = await heic()
    expect(await isHevcHeif(photo)).toBe(true)
    const jpeg = await decodableImage(photo)
    const meta = await sharp(jpeg).metadata()
    expect(meta).toMatchObject({ format: 'jpeg', width: 64, height: 48 })
    const [r, g, b] = await meanColour(jpeg)
    expect(Math.abs(r! - 0xcc)).toBeLessThan(12)
    expect(Math.abs(g! - 0x33)).toBeLessThan(12)
    expect(Math.abs(b! - 0x00)).toBeLessThan(12)

    const png = await solidPng(20, 10)
    expect(await isHevcHeif(png)).toBe(false)
    expect(await decodableImage(png)).toBe(png)
  })

  it('a damaged one is refused as a HEIC photo that could not be decoded, not as a corrupt image of no kind', async () => {
    const photo = await heic()
    // The header intact, the coded picture cut off.
    const cut = photo.slice(0, photo.byteLength - 120)
    await expect(decodableImage(cut, 'IMG_0001.HEIC')).rejects.toMatchObject({
      code: 'bad-image',
      message: expect.stringMatching(/^IMG_0001\.HEIC is a HEIC photo that could not be decoded/),
    })
  })

  it('are stored as JPEG, which the window can show, and prepared for the model', async () => {
    const store = new ChatStore(await scratchDir())
    const engine = startEngine()
    try {
      const chats = createChatService(store, engine, new GenerationScheduler(engine))
      const chat = await store.create()
      // No model is loaded: the question is kept, with its photo, and the answer refused.
      const asking = chats.send(
        { chatId: chat.id, text: 'what is this?', images: [{ bytes: await heic(), name: 'IMG_0001.HEIC' }] },
        new AbortController().signal,
      )
      await expect(drain(asking)).rejects.toMatchObject({ code: 'no-model' })
      const [image] = (await store.get(chat.id)).messages[0]!.images
      expect(image).toMatchObject({ mime: 'image/jpeg', width: 64, height: 48, name: 'IMG_0001.HEIC' })
      expect((await sharp(await store.readImage(chat.id, image!)).metadata()).format).toBe('jpeg')
    } finally {
      await engine.dispose()
    }

    // The local API hands images over as they came: prepared the same way.
    const prepared = await prepareImage(await heic())
    expect(prepared.mime).toBe('image/jpeg')
    expect(prepared.width / prepared.height).toBeCloseTo(64 / 48, 1)
  })
})
