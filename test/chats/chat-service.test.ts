// Conversations end to end on the real engine and the tiny models: what is said is
// saved as it happens, and survives stops, crashes and restarts.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { AnswerFormat, ChatChunk, StoredMessage } from '../../electron/ipc/contract.js'
import { openRemoteEngines } from '../../electron/remote/engines.js'
import { applyChunk } from '../../renderer/src/lib/chunks.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let fx: FixturePaths
let engine: EngineClient
let root: string
let store: ChatStore

beforeAll(async () => {
  fx = await ensureFixtures()
  engine = startEngine()
  root = await scratchDir()
  store = new ChatStore(root)
})
afterAll(async () => engine?.dispose())

async function drain(
  stream: AsyncIterable<ChatChunk>,
  onChunk?: (chunk: ChatChunk, tokens: number) => void,
): Promise<{ chunks: ChatChunk[]; done: StoredMessage | null; tokens: number }> {
  const chunks: ChatChunk[] = []
  let tokens = 0
  let done: StoredMessage | null = null
  for await (const chunk of stream) {
    chunks.push(chunk)
    if (chunk.kind === 'tokens') tokens += chunk.count
    if (chunk.kind === 'done') done = chunk.message
    onChunk?.(chunk, tokens)
  }
  return { chunks, done, tokens }
}

const signal = (): AbortSignal => new AbortController().signal

describe('chat service', () => {
  it('refuses to answer without a model, keeping the question and no empty answer', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    await expect(drain(chats.send({ chatId: chat.id, text: 'anyone there?', sampling: greedy(4) }, signal()))).rejects.toMatchObject({
      code: 'no-model',
    })
    expect((await store.get(chat.id)).messages).toMatchObject([{ role: 'user', text: 'anyone there?' }])
  })

  it('a regenerate or an edit that cannot be answered (no model, a server that cannot be reached) leaves the conversation and its images as they were', async () => {
    const chat = await store.create()
    const later = await store.saveImages(chat.id, [{ bytes: await solidPng(8, 8, '#336699'), name: 'later.png' }])
    const answered = (text: string): StoredMessage => ({ ...store.newMessage('assistant', text), status: 'complete' })
    await store.update(chat.id, (c) => {
      c.messages.push(
        store.newMessage('user', 'first q'),
        answered('first a'),
        store.newMessage('user', 'second q', later),
        answered('second a'),
      )
    })
    const { messages } = await store.get(chat.id)
    const unchanged = async (): Promise<void> => {
      expect((await store.get(chat.id)).messages).toEqual(messages)
      expect((await new ChatStore(root).get(chat.id)).messages).toEqual(messages)
      expect(await readdir(join(root, chat.id, 'images'))).toHaveLength(1)
    }

    const local = createChatService(store, engine, new GenerationScheduler(engine))
    await expect(drain(local.regenerate({ chatId: chat.id, messageId: messages[1]!.id }, signal()))).rejects.toMatchObject({
      code: 'no-model',
    })
    await unchanged()
    await expect(
      drain(local.edit({ chatId: chat.id, messageId: messages[0]!.id, text: 'first q, edited' }, signal())),
    ).rejects.toMatchObject({ code: 'no-model' })
    await unchanged()

    // A remote engine fails only once it is asked: nothing answers at its address.
    const remotes = await openRemoteEngines({
      path: join(root, 'remote-engines.json'),
      secrets: () => null,
      engineOptions: { retries: 0, connectTimeoutMs: 2_000 },
    })
    const { id } = await remotes.add({ name: 'Gone', baseUrl: 'http://127.0.0.1:9/v1', allowUnencrypted: false })
    await store.update(chat.id, (c) => void (c.engine = { id, model: 'tiny' }))
    const remote = createChatService(store, engine, new GenerationScheduler(engine), null, remotes)
    await expect(drain(remote.regenerate({ chatId: chat.id, messageId: messages[3]!.id }, signal()))).rejects.toThrow(/127\.0\.0\.1/)
    await unchanged()
    await expect(drain(remote.edit({ chatId: chat.id, messageId: messages[2]!.id, text: 'second q, edited' }, signal()))).rejects.toThrow(
      /127\.0\.0\.1/,
    )
    await unchanged()
  })

  it('streams an answer and saves question, answer and stats; a restart finds them', async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    const { chunks, done, tokens } = await drain(
      chats.send({ chatId: chat.id, text: 'Describe the weather\nin detail', sampling: greedy(30) }, signal()),
    )
    expect(chunks[0]).toMatchObject({ kind: 'message', message: { role: 'user', text: 'Describe the weather\nin detail' } })
    expect(chunks[1]).toMatchObject({ kind: 'message', message: { role: 'assistant', status: 'streaming', text: '' } })
    expect(tokens).toBe(30)
    expect(done).toMatchObject({
      role: 'assistant',
      status: 'complete',
      model: fx.textModel,
      stats: { tokensOut: 30, stopReason: 'max-tokens' },
    })
    const restarted = await new ChatStore(root).get(chat.id)
    expect(restarted.title).toBe('Describe the weather')
    expect(restarted.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ])
    expect(restarted.messages[1]!.text).toBe(done!.text)
  })

  it('regenerates an answer in place and edits a question, dropping what followed', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create({ systemPrompt: 'You answer in one word.' })
    await drain(chats.send({ chatId: chat.id, text: 'first', sampling: greedy(5) }, signal()))
    await drain(chats.send({ chatId: chat.id, text: 'second', sampling: greedy(5) }, signal()))
    const before = await store.get(chat.id)
    expect(before.messages).toHaveLength(4)

    const again = await drain(
      chats.regenerate(
        { chatId: chat.id, messageId: before.messages[3]!.id, sampling: { ...greedy(7), seed: 99, temperature: 1 } },
        signal(),
      ),
    )
    const afterRegenerate = await store.get(chat.id)
    expect(afterRegenerate.messages).toHaveLength(4)
    expect(afterRegenerate.messages[3]!.id).toBe(again.done!.id)
    expect(afterRegenerate.messages[3]!.stats?.tokensOut).toBe(7)

    await drain(chats.edit({ chatId: chat.id, messageId: before.messages[0]!.id, text: 'first, edited' }, signal()))
    const afterEdit = await store.get(chat.id)
    expect(afterEdit.messages.map((m) => [m.role, m.text.slice(0, 13)])).toEqual([
      ['user', 'first, edited'],
      ['assistant', afterEdit.messages[1]!.text.slice(0, 13)],
    ])
    await expect(drain(chats.regenerate({ chatId: chat.id, messageId: afterEdit.messages[0]!.id }, signal()))).rejects.toMatchObject({
      code: 'not-found',
    })
  })

  it('a regenerate of an earlier answer says where it cut: its chunks, applied to the conversation shown, give the one stored', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    await drain(chats.send({ chatId: chat.id, text: 'one', sampling: greedy(3) }, signal()))
    await drain(chats.send({ chatId: chat.id, text: 'two', sampling: greedy(3) }, signal()))
    // What the window shows, changed only by the stream, as the window and quick-ask apply it.
    const shown = (await store.get(chat.id)).messages
    await drain(chats.regenerate({ chatId: chat.id, messageId: shown[1]!.id, sampling: greedy(3) }, signal()), (chunk) =>
      applyChunk(shown, chunk),
    )
    const stored = (await store.get(chat.id)).messages
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(shown.map((m) => m.id)).toEqual(stored.map((m) => m.id))
  })

  it('a stopped answer is kept and marked stopped', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    const controller = new AbortController()
    const { done, tokens } = await drain(
      chats.send({ chatId: chat.id, text: 'talk', sampling: greedy(20_000) }, controller.signal),
      (_c, n) => {
        if (n >= 40) controller.abort()
      },
    )
    expect(tokens).toBeLessThan(20_000)
    expect(done).toMatchObject({ status: 'stopped', stats: { stopReason: 'cancelled' } })
    expect((await new ChatStore(root).get(chat.id)).messages[1]).toMatchObject({ status: 'stopped', text: done!.text })
  })

  it("takes a conversation's turns one at a time: a question, edit or regenerate sent while an answer streams waits for it, and nothing interleaves", async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    await drain(chats.send({ chatId: chat.id, text: 'first', sampling: greedy(3) }, signal()))
    const other = await store.create()
    const roles = async (): Promise<string[]> => (await store.get(chat.id)).messages.map((m) => `${m.role}:${m.text.slice(0, 6)}`)

    // Quick-ask still answering while the chat window asks a follow-up; a third request is
    // stopped while it waits; another conversation is not held up by either.
    const controller = new AbortController()
    const withdrawn = new AbortController()
    let followUp: Promise<{ chunks: ChatChunk[]; done: StoredMessage | null }> | null = null
    let stoppedWaiting: Promise<{ chunks: ChatChunk[] }> | null = null
    let elsewhere: Promise<{ done: StoredMessage | null }> | null = null
    let during: string[] = []
    const { done } = await drain(chats.send({ chatId: chat.id, text: 'second', sampling: greedy(20_000) }, controller.signal), (_c, n) => {
      if (n === 10) {
        followUp = drain(chats.send({ chatId: chat.id, text: 'third', sampling: greedy(3) }, signal()))
        stoppedWaiting = drain(chats.send({ chatId: chat.id, text: 'never', sampling: greedy(3) }, withdrawn.signal))
        elsewhere = drain(chats.send({ chatId: other.id, text: 'elsewhere', sampling: greedy(3) }, signal()))
      }
      if (n === 30) {
        withdrawn.abort()
        // Nothing of the waiting ones is stored yet: the answer being written is the last message.
        void roles().then((now) => {
          during = now
          controller.abort()
        })
      }
    })
    expect(done).toMatchObject({ status: 'stopped' })
    expect(during).toEqual(['user:first', expect.stringMatching(/^assistant:/), 'user:second', expect.stringMatching(/^assistant:/)])
    const third = await followUp!
    expect(third.done).toMatchObject({ status: 'complete' })
    expect((await stoppedWaiting!).chunks).toEqual([])
    expect((await elsewhere!).done).toMatchObject({ status: 'complete' })
    // The follow-up came after the answer it waited for, and was asked with it.
    expect(await roles()).toEqual([
      'user:first',
      expect.stringMatching(/^assistant:/),
      'user:second',
      `assistant:${done!.text.slice(0, 6)}`,
      'user:third',
      `assistant:${third.done!.text.slice(0, 6)}`,
    ])

    // An edit and a regenerate sent while an answer streams each take their turn after it.
    const again = new AbortController()
    const saved = await store.get(chat.id)
    const later: Promise<unknown>[] = []
    await drain(chats.send({ chatId: chat.id, text: 'fourth', sampling: greedy(20_000) }, again.signal), (_c, n) => {
      if (n !== 10) return
      later.push(drain(chats.regenerate({ chatId: chat.id, messageId: saved.messages[5]!.id, sampling: greedy(3) }, signal())))
      later.push(
        drain(chats.edit({ chatId: chat.id, messageId: saved.messages[2]!.id, text: 'second, edited', sampling: greedy(3) }, signal())),
      )
      again.abort()
    })
    await Promise.all(later)
    // The regenerate cut what followed its answer (the stopped 'fourth'); the edit then cut from its question.
    expect(await roles()).toEqual(['user:first', expect.stringMatching(/^assistant:/), 'user:second', expect.stringMatching(/^assistant:/)])
    expect((await store.get(chat.id)).messages[2]!.text).toBe('second, edited')
  })

  it('a stop before the first word keeps the question, drops the empty answer, and is no error', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    const controller = new AbortController()
    const { done } = await drain(
      chats.send({ chatId: chat.id, text: 'oops, wrong question', sampling: greedy(50) }, controller.signal),
      (chunk) => {
        if (chunk.kind === 'message' && chunk.message.role === 'assistant') controller.abort()
      },
    )
    expect(done?.status ?? 'dropped').toMatch(/stopped|dropped/)
    const saved = await store.get(chat.id)
    expect(saved.messages[0]).toMatchObject({ role: 'user', text: 'oops, wrong question' })
    expect(saved.messages.every((m) => m.role === 'user' || m.text !== '')).toBe(true)
  })

  it('an engine crash mid-answer keeps the partial answer, marked cut off', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    let killed = false
    const { done } = await drain(
      chats.send({ chatId: chat.id, text: 'long answer please', sampling: greedy(20_000) }, signal()),
      (_c, n) => {
        if (n >= 30 && !killed) {
          killed = true
          engine.killForTesting()
        }
      },
    )
    expect(done).toMatchObject({ status: 'cut-off', stats: { stopReason: 'engine-crashed' } })
    expect(done!.text.length).toBeGreaterThan(0)
    expect((await new ChatStore(root).get(chat.id)).messages[1]).toMatchObject({ status: 'cut-off', text: done!.text })
    // The engine restarted with the model, so the conversation goes on.
    const next = await drain(chats.send({ chatId: chat.id, text: 'and now?', sampling: greedy(4) }, signal()))
    expect(next.done).toMatchObject({ status: 'complete' })
  })

  it('sends images with the question, stores them as files, and sends them again on regenerate', async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    const png = await solidPng(640, 480, '#00aa44')
    const { chunks, done } = await drain(
      chats.send({ chatId: chat.id, text: 'what colour?', images: [{ bytes: png, name: 'green.png' }], sampling: greedy(6) }, signal()),
    )
    expect(chunks[0]).toMatchObject({
      kind: 'message',
      message: { images: [{ mime: 'image/png', width: 640, height: 480, name: 'green.png' }] },
    })
    expect(done?.stats?.imageTokens).toBe(16)
    expect(await readdir(join(root, chat.id, 'images'))).toHaveLength(1)
    expect(await readFile(join(root, chat.id, 'conversation.json'), 'utf8')).not.toContain('base64')
    const again = await drain(chats.regenerate({ chatId: chat.id, messageId: done!.id, sampling: greedy(6) }, signal()))
    expect(again.done?.stats?.imageTokens).toBe(16)
  })

  it('refuses a non-image attachment before saving anything', async () => {
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const chat = await store.create()
    await expect(
      drain(
        chats.send(
          { chatId: chat.id, text: 'see file', images: [{ bytes: new TextEncoder().encode('%PDF-1.4'), name: 'doc.pdf' }] },
          signal(),
        ),
      ),
    ).rejects.toMatchObject({
      code: 'bad-image',
      message: 'doc.pdf is not an image that can be read.',
    })
    expect((await store.get(chat.id)).messages).toEqual([])
    // A good image beside the refused one is not stored either.
    await expect(
      drain(
        chats.send(
          {
            chatId: chat.id,
            text: 'see both',
            images: [
              { bytes: await solidPng(8, 8, '#123456'), name: 'fine.png' },
              { bytes: new TextEncoder().encode('%PDF-1.4'), name: 'doc.pdf' },
            ],
          },
          signal(),
        ),
      ),
    ).rejects.toMatchObject({ code: 'bad-image' })
    expect(await readdir(join(root, chat.id, 'images'))).toEqual([])
  })

  describe('answer format', () => {
    const PET = {
      type: 'object',
      properties: { kind: { enum: ['cat', 'dog'] }, name: { type: 'string', maxLength: 8 }, friendly: { type: 'boolean' } },
      required: ['kind', 'name', 'friendly'],
      additionalProperties: false,
    }
    const Pet = z.strictObject({ kind: z.enum(['cat', 'dog']), name: z.string().max(8), friendly: z.boolean() })
    const sampling = (seed: number) => ({ maxTokens: 200, temperature: 1, seed })

    /** A conversation answering in `format`: a question, then its answer regenerated with other seeds; the answers that ended on their own. */
    async function answers(format: AnswerFormat): Promise<{ chatId: string; texts: string[] }> {
      await engine.load({ modelPath: fx.textModel, gpu: false })
      const chats = createChatService(store, engine, new GenerationScheduler(engine))
      const chat = await store.create()
      await store.update(chat.id, (c) => {
        c.settings = { ...c.settings, format }
      })
      const texts: string[] = []
      let { done } = await drain(chats.send({ chatId: chat.id, text: 'Describe a pet.', sampling: sampling(1) }, signal()))
      for (let seed = 2; ; seed++) {
        if (done!.stats?.stopReason === 'eos') texts.push(done!.text)
        if (seed > 10) break
        ;({ done } = await drain(chats.regenerate({ chatId: chat.id, messageId: done!.id, sampling: sampling(seed) }, signal())))
      }
      // An edit answers in the format too.
      const question = (await store.get(chat.id)).messages[0]!
      ;({ done } = await drain(
        chats.edit({ chatId: chat.id, messageId: question.id, text: 'Another pet?', sampling: sampling(11) }, signal()),
      ))
      if (done!.stats?.stopReason === 'eos') texts.push(done!.text)
      expect(texts.length).toBeGreaterThan(0)
      // Stored as the model wrote it.
      expect((await store.get(chat.id)).messages[1]!.text).toBe(done!.text)
      return { chatId: chat.id, texts }
    }

    it('JSON: every answer that ends on its own is a JSON object, on send, regenerate and edit', async () => {
      for (const text of (await answers({ type: 'json' })).texts) {
        const value: unknown = JSON.parse(text)
        expect(typeof value === 'object' && value !== null && !Array.isArray(value), text).toBe(true)
      }
    })

    it('JSON matching a schema: every answer that ends on its own validates', async () => {
      for (const text of (await answers({ type: 'json_schema', schema: PET })).texts)
        expect(Pet.safeParse(JSON.parse(text)).success, text).toBe(true)
    })

    it('a schema keyword the grammar cannot enforce is refused by name, and nothing is lost', async () => {
      await engine.load({ modelPath: fx.textModel, gpu: false })
      const chats = createChatService(store, engine, new GenerationScheduler(engine))
      const chat = await store.create()
      await drain(chats.send({ chatId: chat.id, text: 'first', sampling: greedy(5) }, signal()))
      const before = await store.get(chat.id)
      await store.update(chat.id, (c) => {
        c.settings = { ...c.settings, format: { type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } } }
      })
      await expect(drain(chats.send({ chatId: chat.id, text: 'second', sampling: greedy(5) }, signal()))).rejects.toMatchObject({
        code: 'invalid-payload',
        message: expect.stringMatching(/uses the keyword "pattern"/),
      })
      const after = await new ChatStore(root).get(chat.id)
      // The question stays, ready to retry; no empty answer; what came before is untouched.
      expect(after.messages.slice(0, 2)).toEqual(before.messages)
      expect(after.messages.slice(2)).toMatchObject([{ role: 'user', text: 'second' }])
      expect(after.settings.format).toEqual({ type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } })
    })
  })
})
