// A conversation whose stored image went missing (deleted by hand, a damaged disk) still
// answers: the turn is kept, the model is told the image is gone, and the answer says so.
// An image file damaged in place (emptied, cut short, replaced) counts as gone.
import { readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let engine: EngineClient
let root: string
let store: ChatStore

beforeAll(async () => {
  const fx = await ensureFixtures()
  engine = startEngine()
  root = await scratchDir()
  store = new ChatStore(root)
  await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
})
afterAll(async () => engine?.dispose())

async function send(chatId: string, text: string, images?: Uint8Array[]): Promise<StoredMessage> {
  const chats = createChatService(store, engine, new GenerationScheduler(engine))
  let done: StoredMessage | null = null
  const request = { chatId, text, sampling: greedy(4), ...(images ? { images: images.map((bytes) => ({ bytes })) } : {}) }
  for await (const chunk of chats.send(request, new AbortController().signal)) if (chunk.kind === 'done') done = chunk.message
  return done!
}

describe('a stored image that went missing', () => {
  it('keeps the turn, tells the model, and says so with the answer', async () => {
    const chat = await store.create()
    const first = await send(chat.id, 'What is this?', [await solidPng(64, 64)])
    expect(first.stats!.imageTokens).toBeGreaterThan(0)
    const folder = join(root, chat.id, 'images')
    for (const file of await readdir(folder)) await rm(join(folder, file))

    const withImage = first.stats!.tokensIn
    const next = await send(chat.id, 'And now?')
    expect(next.status).toBe('complete')
    expect(next.notes).toEqual(['An image of this conversation is no longer stored on this computer; the model was told.'])
    // The image's tokens are gone from the prompt; the note took a few words' place.
    expect(next.stats!.imageTokens).toBe(0)
    expect(next.stats!.tokensIn).toBeGreaterThan(withImage - first.stats!.imageTokens)
    const kept = (await store.get(chat.id)).messages
    expect(kept).toHaveLength(4)
    expect(kept[0]!.images).toHaveLength(1)
  })

  it('counts an image file damaged in place as gone: a follow-up, a regenerate and an edit answer with the note', async () => {
    const gone = ['An image of this conversation is no longer stored on this computer; the model was told.']
    for (const damage of ['emptied', 'cut short', 'replaced'] as const) {
      const chat = await store.create()
      await send(chat.id, 'What is this?', [await solidPng(64, 64, '#22cc22')])
      const folder = join(root, chat.id, 'images')
      const [file] = await readdir(folder)
      const path = join(folder, file!)
      if (damage === 'emptied') await writeFile(path, '')
      else if (damage === 'cut short') await truncate(path, 40)
      else await writeFile(path, await solidPng(64, 64, '#cc2222'))

      const next = await send(chat.id, 'And now?')
      expect(next.status, damage).toBe('complete')
      expect(next.notes, damage).toEqual(gone)
      expect(next.stats!.imageTokens).toBe(0)
      const chats = createChatService(store, engine, new GenerationScheduler(engine))
      const [question, answer] = (await store.get(chat.id)).messages
      let regenerated: StoredMessage | null = null
      for await (const chunk of chats.regenerate(
        { chatId: chat.id, messageId: answer!.id, sampling: greedy(4) },
        new AbortController().signal,
      ))
        if (chunk.kind === 'done') regenerated = chunk.message
      expect(regenerated, damage).toMatchObject({ status: 'complete', notes: gone })
      let edited: StoredMessage | null = null
      for await (const chunk of chats.edit(
        { chatId: chat.id, messageId: question!.id, text: 'What was this?', sampling: greedy(4) },
        new AbortController().signal,
      ))
        if (chunk.kind === 'done') edited = chunk.message
      expect(edited, damage).toMatchObject({ status: 'complete', notes: gone })
      // The turn and its image's record are kept: only the picture is gone.
      expect((await store.get(chat.id)).messages[0]!.images).toHaveLength(1)
    }
  })
})
