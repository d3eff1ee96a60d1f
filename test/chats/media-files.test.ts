// A deleted conversation's screenshots leave the folder the vision server reads them from
// (electron/engine/server-media.ts), through the chat service, the engine client and the engine
// process as the app runs them: a picture another conversation holds stays there, and that
// conversation's follow-up still reuses it.
import { existsSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService, type ChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { serversUnder } from '../support/servers.js'
import { until } from '../support/until.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[media files] skipping: ${binary.reason}`)

/** The folder the engine's llama-server reads images from: its --media-path. */
async function mediaFolder(engine: EngineClient): Promise<string> {
  const [server] = await serversUnder(engine.pid!)
  const args = (await readFile(`/proc/${server}/cmdline`, 'utf8')).split('\0')
  return args[args.indexOf('--media-path') + 1]!
}

describe.skipIf(!binary.found)("a conversation's pictures in the vision server's folder", () => {
  let engine: EngineClient
  let store: ChatStore
  let chats: ChatService
  let dir: string

  beforeAll(async () => {
    const fx = await ensureFixtures()
    engine = startEngine(undefined, false, { ENGINE_VISION_BINDING: 'llama-server' })
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    dir = await mediaFolder(engine)
    store = new ChatStore(await scratchDir())
    chats = createChatService(store, engine, new GenerationScheduler(engine))
  })
  afterAll(async () => engine?.dispose())

  /** The answer to a question; the files it added to the folder. */
  const ask = async (chatId: string, text: string, pictures: Uint8Array[] = []): Promise<{ answer: StoredMessage; added: string[] }> => {
    const before = new Set(await readdir(dir))
    let answer: StoredMessage | null = null
    const request = { chatId, text, images: pictures.map((bytes) => ({ bytes })), sampling: greedy(4) }
    for await (const chunk of chats.send(request, new AbortController().signal)) if (chunk.kind === 'done') answer = chunk.message
    return { answer: answer!, added: (await readdir(dir)).filter((name) => !before.has(name)) }
  }
  const gone = (name: string): Promise<boolean> => until(() => !existsSync(join(dir, name)), 5000)

  it('go with a deleted conversation; one another conversation holds stays, and its follow-up reuses it', async () => {
    const [secret, shared] = await Promise.all([solidPng(64, 64, '#0a7d3e'), solidPng(64, 64, '#7d0a3e')])
    const b = await store.create()
    const first = await ask(b.id, 'What is this?', [shared])
    expect(first.added).toHaveLength(1)
    const sharedFile = join(dir, first.added[0]!)
    const written = (await stat(sharedFile)).mtimeMs
    const a = await store.create()
    const secretFiles = (await ask(a.id, 'And these?', [secret, shared])).added
    expect(secretFiles).toHaveLength(1)

    await store.delete(a.id)
    expect(await gone(secretFiles[0]!)).toBe(true)
    expect(existsSync(sharedFile)).toBe(true)

    // The other conversation's follow-up: its picture is neither written again nor evaluated again.
    const followUp = await ask(b.id, 'And now?')
    expect(followUp.answer.stats!.cachedTokens).toBeGreaterThanOrEqual(first.answer.stats!.tokensIn)
    expect((await stat(sharedFile)).mtimeMs).toBe(written)

    await store.delete(b.id)
    expect(await gone(first.added[0]!)).toBe(true)
  })

  it('a picture an edit drops goes too', async () => {
    const c = await store.create()
    await ask(c.id, 'First?')
    const later = await ask(c.id, 'Second?', [await solidPng(64, 64, '#3e0a7d')])
    expect(later.added).toHaveLength(1)
    const question = (await store.get(c.id)).messages.find((m) => m.role === 'user')!
    for await (const _chunk of chats.edit(
      { chatId: c.id, messageId: question.id, text: 'First, again?', sampling: greedy(2) },
      new AbortController().signal,
    ));
    expect(await gone(later.added[0]!)).toBe(true)
  })
})
