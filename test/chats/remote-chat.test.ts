// A conversation answered by a remote engine (a real llama-server on 127.0.0.1), through the
// same chat service as the local engine: the answer names its engine and model, the text layer
// and images go with it, and a server that dies mid-answer leaves the partial answer, marked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findLlamaServer, startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { ChatChunk, StoredMessage } from '../../electron/ipc/contract.js'
import { openRemoteEngines, type RemoteEngines } from '../../electron/remote/engines.js'
import type { TextLayerUse } from '../../electron/ocr/text-layer.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const bin = await findLlamaServer()
if (!bin.found) console.warn(`[remote chat] skipping: ${bin.reason}`)

describe.skipIf(!bin.found)('a conversation on a remote engine', () => {
  let server: LlamaServer
  let engine: EngineClient
  let store: ChatStore
  let remotes: RemoteEngines
  let engineId: string
  let model: string

  beforeAll(async () => {
    const fx = await ensureFixtures()
    server = await startLlamaServer({ binary: (bin as { path: string }).path, model: fx.textModel, mmproj: fx.mmproj })
    // The local engine stays empty: the remote one must answer without it.
    engine = startEngine()
    const dir = await scratchDir()
    store = new ChatStore(dir)
    remotes = await openRemoteEngines({ path: `${dir}/remote-engines.json`, secrets: () => null })
    engineId = (await remotes.add({ name: 'Test server', baseUrl: `${server.url}/v1`, allowUnencrypted: false })).id
    const report = await remotes.test(engineId)
    expect(report.images).toBe('accepted')
    model = report.model!
  })
  afterAll(async () => {
    await server?.stop()
    await engine?.dispose()
  })

  async function ask(
    chatId: string,
    onChunk?: (c: ChatChunk) => void,
    signal = new AbortController().signal,
  ): Promise<StoredMessage | null> {
    const chats = createChatService(store, engine, new GenerationScheduler(engine), null, remotes)
    let done: StoredMessage | null = null
    const stream = chats.send(
      { chatId, text: 'What is in the picture?', images: [{ bytes: await solidPng(64, 64) }], sampling: { maxTokens: 12, seed: 3 } },
      signal,
    )
    for await (const chunk of stream) {
      onChunk?.(chunk)
      if (chunk.kind === 'done') done = chunk.message
    }
    return done
  }

  it('streams an answer from the server, naming its engine and model, with the server’s counts', async () => {
    const chat = await store.create()
    await store.update(chat.id, (c) => void (c.engine = { id: engineId, model }))
    let tokens = 0
    const done = await ask(chat.id, (c) => {
      if (c.kind === 'tokens') tokens += c.count
    })
    expect(done).toMatchObject({ role: 'assistant', status: 'complete', engine: 'Test server', model })
    expect(tokens).toBeGreaterThan(0)
    expect(done!.stats!.tokensOut).toBe(tokens)
    expect(done!.stats!.tokensIn).toBeGreaterThan(10)
    expect((await store.get(chat.id)).engine).toEqual({ id: engineId, model })
  })

  it('a server model that refuses images is remembered, the question asked again without them, and the conversation goes on', async () => {
    const fx = await ensureFixtures()
    // A text-only llama-server, never tested in Settings: its images are unknown until refused.
    const blind = await startLlamaServer({ binary: (bin as { path: string }).path, model: fx.textModel })
    try {
      const { id } = await remotes.add({ name: 'Text only', baseUrl: `${blind.url}/v1`, allowUnencrypted: false })
      const choice = { id, model: 'llama3.1' }
      expect(remotes.generator(choice).canSee).toBe(true)
      const chat = await store.create()
      await store.update(chat.id, (c) => void (c.engine = choice))
      // Its image refused (the text layer is off here, so nothing to give instead): said, with the reason.
      await expect(ask(chat.id)).rejects.toMatchObject({ code: 'remote', message: /does not accept images/ })
      expect(remotes.generator(choice).canSee).toBe(false)
      // Before, every later question failed the same way, the earlier image going again each time.
      const chats = createChatService(store, engine, new GenerationScheduler(engine), null, remotes)
      let done: StoredMessage | null = null
      for await (const c of chats.send(
        { chatId: chat.id, text: 'And in words?', sampling: { maxTokens: 8, seed: 3 } },
        new AbortController().signal,
      ))
        if (c.kind === 'done') done = c.message
      expect(done).toMatchObject({ status: 'complete', engine: 'Text only' })
      expect(done!.notes?.join(' ')).toMatch(/The model cannot see images: an image of an earlier question was left out/)
      expect((await store.get(chat.id)).messages.map((m) => [m.role, m.images.length])).toEqual([
        ['user', 1],
        ['user', 0],
        ['assistant', 0],
      ])

      // With the text layer on (the app's default), another model's refusal is answered at once,
      // from the text read on the image, the question asked again.
      const other = { id, model: 'qwen3' }
      const reading: TextLayerUse = {
        layer: {
          read: async () => ({
            status: 'read',
            text: 'Invoice 42 is overdue',
            lines: 1,
            confidence: 0.95,
            unsure: 0,
            language: 'en',
            ms: 1,
          }),
          reload: () => undefined,
          close: async () => undefined,
        },
        mode: () => 'auto',
      }
      const withText = createChatService(store, engine, new GenerationScheduler(engine), reading, remotes)
      const fresh = await store.create()
      await store.update(fresh.id, (c) => void (c.engine = other))
      let answered: StoredMessage | null = null
      for await (const c of withText.send(
        {
          chatId: fresh.id,
          text: 'What is in the picture?',
          images: [{ bytes: await solidPng(64, 64) }],
          sampling: { maxTokens: 8, seed: 3 },
        },
        new AbortController().signal,
      ))
        if (c.kind === 'done') answered = c.message
      expect(answered).toMatchObject({ status: 'complete' })
      expect(answered!.notes?.join(' ')).toMatch(/cannot see images/)
      expect(remotes.generator(other).canSee).toBe(false)
    } finally {
      await blind.stop()
    }
  })

  it('a full context: the oldest turns go before the question is sent, several at once, and the server’s cache holds the rest', async () => {
    const fx = await ensureFixtures()
    const small = await startLlamaServer({
      binary: (bin as { path: string }).path,
      model: fx.textModel,
      mmproj: fx.mmproj,
      contextSize: 512,
    })
    try {
      const sent: string[] = []
      const recording: typeof fetch = (input, init) => {
        sent.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`)
        return fetch(input, init)
      }
      const dir = await scratchDir()
      const smallRemotes = await openRemoteEngines({
        path: `${dir}/remote-engines.json`,
        secrets: () => null,
        engineOptions: { fetch: recording },
      })
      const { id } = await smallRemotes.add({ name: 'Small', baseUrl: `${small.url}/v1`, allowUnencrypted: false })
      const chat = await store.create()
      await store.update(chat.id, (c) => void (c.engine = { id, model }))
      const chats = createChatService(store, engine, new GenerationScheduler(engine), null, smallRemotes)
      const answers: StoredMessage[] = []
      for (let turn = 0; turn < 12; turn++) {
        let done: StoredMessage | null = null
        for await (const c of chats.send(
          {
            chatId: chat.id,
            text: `Screen ${turn}: what changed?`,
            images: [{ bytes: await solidPng(64, 64, turn % 2 ? '#cc6633' : '#3366cc') }],
            sampling: { maxTokens: 16, seed: 1 },
          },
          new AbortController().signal,
        ))
          if (c.kind === 'done') done = c.message
        answers.push(done!)
      }
      const stats = answers.map((a) => a.stats!)
      console.log(
        `[remote chat] in/cached/dropped per turn: ${stats.map((s) => `${s.tokensIn}/${s.cachedTokens}/${s.droppedTurns ?? 0}`).join(' ')}`,
      )
      // /props said the context before the first question: no question was refused, one request each.
      expect(sent.filter((r) => r === 'GET /props')).toHaveLength(1)
      expect(sent.filter((r) => r === 'POST /v1/chat/completions')).toHaveLength(12)
      expect(stats.every((s) => s.tokensIn + 16 <= 512)).toBe(true)
      expect(stats.at(-1)!.droppedTurns).toBeGreaterThan(0)
      // Before, each follow-up left out one turn more than the last: 3 of 460 tokens cached each time.
      // Now a follow-up that leaves out what the last answer did finds that answer's prompt cached.
      const followUps = stats.flatMap((s, i) =>
        i > 0 && (s.droppedTurns ?? 0) === (stats[i - 1]!.droppedTurns ?? 0) ? [[stats[i - 1]!, s]] : [],
      )
      expect(followUps.length).toBeGreaterThanOrEqual(8)
      for (const [before, after] of followUps) expect(after!.cachedTokens).toBeGreaterThanOrEqual(0.9 * before!.tokensIn)
    } finally {
      await small.stop()
    }
  })

  it('keeps the partial answer, marked, when the server dies mid-answer', async () => {
    const fx = await ensureFixtures()
    const doomed = await startLlamaServer({ binary: (bin as { path: string }).path, model: fx.textModel })
    const { id } = await remotes.add({ name: 'Doomed', baseUrl: `${doomed.url}/v1`, allowUnencrypted: false })
    const chat = await store.create()
    await store.update(chat.id, (c) => void (c.engine = { id, model }))
    const chats = createChatService(store, engine, new GenerationScheduler(engine), null, remotes)
    let tokens = 0
    const run = async (): Promise<void> => {
      for await (const c of chats.send(
        { chatId: chat.id, text: 'Talk at length.', sampling: { maxTokens: 4000, seed: 1 } },
        new AbortController().signal,
      ))
        if (c.kind === 'tokens' && (tokens += c.count) >= 5) void doomed.stop()
    }
    await expect(run()).resolves.toBeUndefined()
    const answer = (await store.get(chat.id)).messages.at(-1)!
    expect(answer.role).toBe('assistant')
    expect(answer.text.length).toBeGreaterThan(0)
    expect(answer.status).toBe('error')
    expect(answer.error).toMatch(/stopped answering|closed|connection/i)
  })
})
