// The text layer in conversations, on the real engine and tiny models with a stand-in reader
// (the recogniser itself is tested on real screens in reader.test.ts): the question's images
// keep their text, the model gets it, a model that cannot see answers from it, a slow reading
// does not hold the answer up, and search finds words that were in images.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { ChatChunk, StoredMessage } from '../../electron/ipc/contract.js'
import { NOT_SEEING } from '../../electron/ocr/prompt.js'
import { createTextLayer, type TextReader } from '../../electron/ocr/text-layer.js'
import type { OcrResult, ScreenTextMode } from '../../electron/ocr/types.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let fx: FixturePaths
let engine: EngineClient
let store: ChatStore

beforeAll(async () => {
  fx = await ensureFixtures()
  engine = startEngine()
  store = new ChatStore(await scratchDir())
})
afterAll(async () => engine?.dispose())

const SCREEN_LINES = ['Build failed', 'error TS2322: Type string is not assignable to type number', 'src/quantum-flux.ts line 42']
const box = { x: 0, y: 0, width: 1, height: 1 }
const screen: OcrResult = {
  width: 64,
  height: 64,
  blocks: [{ box, lines: SCREEN_LINES.map((text) => ({ text, box, confidence: 0.97 })) }],
  language: 'en',
  ms: 12,
}

function service(mode: ScreenTextMode, reader: TextReader, timeoutMs?: number) {
  const layer = createTextLayer(reader, timeoutMs ? { timeoutMs } : {})
  return createChatService(store, engine, new GenerationScheduler(engine), { layer, mode: () => mode })
}
const instant: TextReader = { read: async () => screen, close: async () => undefined }
const never: TextReader = {
  read: (_bytes, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
  close: async () => undefined,
}

async function ask(chats: ReturnType<typeof service>, text: string): Promise<{ chunks: ChatChunk[]; done: StoredMessage; chatId: string }> {
  const chat = await store.create()
  const chunks: ChatChunk[] = []
  for await (const chunk of chats.send(
    { chatId: chat.id, text, images: [{ bytes: await solidPng(64, 64) }], sampling: greedy(4) },
    new AbortController().signal,
  ))
    chunks.push(chunk)
  const done = chunks.findLast((c) => c.kind === 'done')
  if (!done || done.kind !== 'done') throw new Error('no answer')
  return { chunks, done: done.message, chatId: chat.id }
}

describe('text layer in conversations', () => {
  it('keeps the reading with the image, shows the question again with it, and gives it to the model', async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const withText = await ask(service('auto', instant), 'What failed?')
    const question = (await store.get(withText.chatId)).messages[0]!
    expect(question.images[0]!.text).toMatchObject({ status: 'read', text: SCREEN_LINES.join('\n'), lines: 3 })
    // First as sent, then again once its image holds its text (the window shows the text).
    const questions = withText.chunks.filter((c) => c.kind === 'message' && c.message.role === 'user')
    expect(questions).toHaveLength(2)
    expect(questions[1]!.kind === 'message' && questions[1]!.message.images[0]!.text?.status).toBe('read')
    // The prompt holds the text: more tokens in than the same question without it.
    const without = await ask(service('never', instant), 'What failed?')
    expect(without.chunks.filter((c) => c.kind === 'message' && c.message.role === 'user')).toHaveLength(1)
    expect((await store.get(without.chatId)).messages[0]!.images[0]!.text).toBeUndefined()
    expect(withText.done.stats!.tokensIn - without.done.stats!.tokensIn).toBeGreaterThan(20)
    expect(withText.done.notes).toBeUndefined()
  })

  it('lets a model that cannot see answer from the text on the image, and says so', async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
    const { done } = await ask(service('auto', instant), 'What failed?')
    expect(done.status).toBe('complete')
    expect(done.notes).toEqual([NOT_SEEING])
    expect(done.stats!.imageTokens).toBe(0)
    // With the text layer off, the image is refused as before.
    await expect(ask(service('never', instant), 'What failed?')).rejects.toMatchObject({ code: 'no-vision' })
  })

  it('answers without the text when reading takes too long, and says so', async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const started = performance.now()
    const { done, chatId } = await ask(service('auto', never, 300), 'Anything?')
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(done.status).toBe('complete')
    expect(done.notes).toEqual(['Image 1: The text was not read in time (300 ms).'])
    expect((await store.get(chatId)).messages[0]!.images[0]!.text).toMatchObject({ status: 'failed' })
  })

  it('does not hold every later question up reading again an image whose reading failed', async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    let reads = 0
    const slow: TextReader = { read: (bytes, signal) => (reads++, never.read(bytes, signal)), close: async () => undefined }
    const layer = createTextLayer(slow, { timeoutMs: 300 })
    const chats = createChatService(store, engine, new GenerationScheduler(engine), { layer, mode: () => 'auto' })
    const chat = await store.create()
    const say = async (text: string, images: { bytes: Uint8Array }[] = []): Promise<StoredMessage> => {
      let done: StoredMessage | null = null
      for await (const c of chats.send({ chatId: chat.id, text, images, sampling: greedy(2) }, new AbortController().signal))
        if (c.kind === 'done') done = c.message
      if (!done) throw new Error('no answer')
      return done
    }
    await say('What is on this screen?', [{ bytes: await solidPng(64, 64) }])
    expect(reads).toBe(1)
    await say('And now?')
    await say('Anything else?')
    expect(reads).toBe(1)
    // Another language may read it: once.
    layer.reload()
    await say('Try again?')
    await say('Once more?')
    expect(reads).toBe(2)
    expect((await store.get(chat.id)).messages[0]!.images[0]!.text).toMatchObject({ status: 'failed' })
  })

  it('finds a conversation by words that were only in its image', async () => {
    const { chatId } = await ask(service('auto', instant), 'Look at this')
    const found = await store.list('quantum-flux')
    expect(found.map((c) => c.id)).toContain(chatId)
    expect(found.every((c) => c.id !== chatId || c.title === 'Look at this')).toBe(true)
  })
})
