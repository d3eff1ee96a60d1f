// A deleted conversation's screenshots leave the engine's prepared-image cache too, as the app
// wires them (main/index.ts): the store's image ids and the cache's content keys name the same images.
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { forgetPrepared } from '../../electron/images/prepared-cache.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let engine: EngineClient
let prepared: string

beforeAll(async () => {
  const fx = await ensureFixtures()
  prepared = await scratchDir()
  engine = startEngine(undefined, false, { ENGINE_IMAGE_CACHE: prepared })
  await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
})
afterAll(async () => engine?.dispose())

describe("a deleted conversation's prepared images", () => {
  it('go with it, unless another conversation still holds the same image', async () => {
    const store = new ChatStore(await scratchDir(), { imagesGone: (ids) => forgetPrepared(prepared, ids) })
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const ask = async (chatId: string, bytes: Uint8Array[]): Promise<void> => {
      const request = { chatId, text: 'What is this?', images: bytes.map((b) => ({ bytes: b })), sampling: greedy(2) }
      for await (const _chunk of chats.send(request, new AbortController().signal));
    }
    const [secret, shared] = await Promise.all([solidPng(64, 64, '#0a7d3e'), solidPng(64, 64, '#7d0a3e')])
    const a = await store.create()
    const b = await store.create()
    await ask(a.id, [secret, shared])
    await ask(b.id, [shared])
    expect(await readdir(prepared)).toHaveLength(2)

    await store.delete(a.id)
    const left = await readdir(prepared)
    expect(left).toHaveLength(1)
    const [sharedImage] = (await store.get(b.id)).messages[0]!.images
    expect(left[0]!.startsWith(sharedImage!.id)).toBe(true)
    await store.delete(b.id)
    expect(await readdir(prepared)).toEqual([])
  })
})
