// A conversation that outgrows the context keeps going: its oldest turns are left out of the
// prompt (never out of the conversation), the answer says how many, and a conversation set
// to "stop" is refused with the reason instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService } from '../../electron/chats/chat-service.js'
import { answerRoom, dropMore, dropTarget, withoutTurns } from '../../electron/chats/context-window.js'
import { contextOverflow, overflowNumbers } from '../../electron/engine/context-limit.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { ChatChunk, ChatMessage, GenerateRequest, GenerationStats, StoredMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'

const binary = await findServerBinary()
let fx: FixturePaths
let engine: EngineClient
let store: ChatStore

beforeAll(async () => {
  fx = await ensureFixtures()
  engine = startEngine()
  store = new ChatStore(await scratchDir())
  await engine.load({ modelPath: fx.textModel, gpu: false, contextSize: 512 })
})
afterAll(async () => engine?.dispose())

const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')
const SHORT = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ')

/** A conversation of `turns` long question/answer pairs, written as the window would have kept them. */
async function longConversation(turns: number, contextFull?: 'stop', text = LONG): Promise<string> {
  const chat = await store.create({ systemPrompt: 'You are terse.' })
  await store.update(chat.id, (c) => {
    if (contextFull) c.settings = { ...c.settings, contextFull }
    for (let i = 0; i < turns; i++) {
      const question = store.newMessage('user', `Question ${i}: ${text}`)
      const answer: StoredMessage = { ...store.newMessage('assistant', `Answer ${i}: ${text}`), status: 'complete' }
      c.messages.push(question, answer)
    }
  })
  return chat.id
}

async function send(chatId: string, text = 'And now?'): Promise<StoredMessage> {
  const chats = createChatService(store, engine, new GenerationScheduler(engine))
  return answered(chats.send({ chatId, text, sampling: greedy(8) }, new AbortController().signal))
}

async function answered(stream: AsyncIterable<ChatChunk>): Promise<StoredMessage> {
  let done: StoredMessage | null = null
  for await (const chunk of stream) if (chunk.kind === 'done') done = chunk.message
  return done!
}

describe('a conversation larger than the context', () => {
  it('leaves out its oldest turns, says how many, and keeps every message', async () => {
    const chatId = await longConversation(6)
    const done = await send(chatId)
    expect(done.status).toBe('complete')
    expect(done.stats!.droppedTurns).toBeGreaterThanOrEqual(1)
    expect(done.stats!.tokensIn + 8).toBeLessThanOrEqual(512)
    expect(done.notes?.at(-1)).toMatch(
      /^The conversation no longer fits the model's context: its (oldest turn was|\d+ oldest turns were) left out/,
    )
    expect((await store.get(chatId)).messages).toHaveLength(14)
  })

  it('a conversation that fits leaves nothing out', async () => {
    const done = await send(await longConversation(1, undefined, 'short'))
    expect(done.stats!.droppedTurns).toBeUndefined()
    expect(done.notes).toBeUndefined()
  })

  it('set to stop, says the context is full and keeps the question', async () => {
    const chatId = await longConversation(6, 'stop')
    await expect(send(chatId)).rejects.toMatchObject({ code: 'context-overflow' })
    expect((await store.get(chatId)).messages.at(-1)).toMatchObject({ role: 'user', text: 'And now?' })
  })

  it('set to stop, the question asked again to leave out the oldest turns is answered so, once; the setting stays', async () => {
    const chatId = await longConversation(12, 'stop', SHORT)
    await expect(send(chatId)).rejects.toMatchObject({ code: 'context-overflow' })
    const question = (await store.get(chatId)).messages.at(-1)!
    // As the window asks it: the stored question answered again, this once leaving out the oldest turns.
    const chats = createChatService(store, engine, new GenerationScheduler(engine))
    const done = await answered(
      chats.edit(
        { chatId, messageId: question.id, text: question.text, sampling: greedy(8), contextFull: 'drop-oldest' },
        new AbortController().signal,
      ),
    )
    expect(done.status).toBe('complete')
    expect(done.stats!.droppedTurns).toBeGreaterThanOrEqual(1)
    const stored = await store.get(chatId)
    expect(stored.settings.contextFull).toBe('stop')
    expect(stored.messages.map((m) => m.role).slice(-3)).toEqual(['assistant', 'user', 'assistant'])
    expect(stored.messages.filter((m) => m.text === 'And now?')).toHaveLength(1)
    // What the user agreed to leave out stays out of the follow-ups; only more would be asked about.
    const next = await send(chatId, 'And then?')
    expect(next.stats!.droppedTurns).toBe(done.stats!.droppedTurns)
    const more = await send(chatId, `Then this: ${SHORT} ${SHORT}`).catch((e: unknown) => e)
    expect(more).toMatchObject({ code: 'context-overflow' })
    const asked = (await store.get(chatId)).messages.at(-1)!
    const longer = await answered(
      chats.edit(
        { chatId, messageId: asked.id, text: asked.text, sampling: greedy(8), contextFull: 'drop-oldest' },
        new AbortController().signal,
      ),
    )
    expect(longer.stats!.droppedTurns).toBeGreaterThan(done.stats!.droppedTurns!)
    // A regenerate is asked about, and answered so when asked to, the same way.
    const regenerate = (contextFull?: 'drop-oldest'): Promise<StoredMessage> =>
      answered(
        chats.regenerate(
          { chatId, messageId: longer.id, sampling: greedy(8), ...(contextFull ? { contextFull } : {}) },
          new AbortController().signal,
        ),
      )
    await expect(regenerate()).rejects.toMatchObject({ code: 'context-overflow' })
    expect((await regenerate('drop-oldest')).stats!.droppedTurns).toBe(longer.stats!.droppedTurns)
  })
})

// On llama-server, which keeps a conversation's prompt in its cache (the in-process bindings
// read a vision model's images again every time).
describe.skipIf(!binary.found)('follow-ups once the context is full, on llama-server', () => {
  let vision: EngineClient
  /** What the engine was asked, request by request. */
  const asked: GenerateRequest[] = []
  const MAX_TOKENS = 120
  const CONTEXT = 2048

  beforeAll(async () => {
    vision = startEngine(undefined, false, { ENGINE_VISION_BINDING: 'llama-server' })
    expect(await vision.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false, contextSize: CONTEXT })).toMatchObject({
      binding: 'llama-server',
      contextSize: CONTEXT,
    })
    const generate = vision.generate.bind(vision)
    vision.generate = (request, ...rest) => {
      asked.push(request)
      return generate(request, ...rest)
    }
  })
  afterAll(async () => vision?.dispose())

  it('start where the answer before them started, so the server reads only the new question, and leave the answer its room', async () => {
    const chats = createChatService(store, vision, new GenerationScheduler(vision))
    const chat = await store.create({ systemPrompt: 'Be terse.' })
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`).join(' ')
    const answers: (GenerationStats & { questions: number })[] = []
    for (let i = 0; i < 24; i++) {
      let done: StoredMessage | null = null
      const image = await solidPng(64, 64, `#${((i * 40) % 256).toString(16).padStart(2, '0')}3366`)
      for await (const chunk of chats.send(
        { chatId: chat.id, text: `Picture ${i}: ${words}`, images: [{ bytes: image }], sampling: greedy(MAX_TOKENS) },
        new AbortController().signal,
      ))
        if (chunk.kind === 'done') done = chunk.message
      // The turns the engine was given: every question but those the answer says were left out.
      const questions = asked.at(-1)!.messages.filter((m) => m.role === 'user').length
      expect(questions + (done!.stats!.droppedTurns ?? 0)).toBe(i + 1)
      answers.push({ ...done!.stats!, questions })
    }
    const firstDrop = answers.findIndex((s) => s.droppedTurns)
    expect(firstDrop).toBeGreaterThan(0)
    // Every answer had room for all it was asked to write: none was cut by the context.
    for (const s of answers) {
      expect(s.stopReason).not.toBe('context-full')
      expect(s.tokensIn + MAX_TOKENS).toBeLessThanOrEqual(CONTEXT)
    }
    // A follow-up that left out no more than the answer before it found that answer's whole
    // prompt in the server's cache. Before, each one left out one more turn than the last,
    // and the server read all but the system prompt again (cached 16 of 210).
    const dropsOf = (i: number): number => (answers[i]!.droppedTurns ?? 0) - (answers[i - 1]!.droppedTurns ?? 0)
    const later = answers.slice(firstDrop + 1).map((s, k) => ({ s, more: dropsOf(firstDrop + 1 + k), before: answers[firstDrop + k]! }))
    const following = later.filter((f) => f.more === 0)
    for (const { s, before } of following) expect(s.cachedTokens).toBeGreaterThanOrEqual(before.tokensIn)
    // Drops are rare, and each leaves out several turns at once.
    const drops = later.filter((f) => f.more > 0)
    expect(following.length).toBeGreaterThanOrEqual(2 * drops.length)
    expect(following.length).toBeGreaterThanOrEqual(4)
    for (const { more } of drops) expect(more).toBeGreaterThanOrEqual(2)
    expect(dropsOf(firstDrop)).toBeGreaterThanOrEqual(2)
  })

  it('a long answer asked for when the conversation nearly fills the context gets its room: older turns go first', async () => {
    const chats = createChatService(store, vision, new GenerationScheduler(vision))
    const chat = await store.create({ systemPrompt: 'Be terse.' })
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`).join(' ')
    const send = async (i: number, maxTokens: number): Promise<StoredMessage> => {
      let done: StoredMessage | null = null
      const image = await solidPng(64, 64, `#66${((i * 40) % 256).toString(16).padStart(2, '0')}33`)
      for await (const chunk of chats.send(
        { chatId: chat.id, text: `Picture ${i}: ${words}`, images: [{ bytes: image }], sampling: greedy(maxTokens) },
        new AbortController().signal,
      ))
        if (chunk.kind === 'done') done = chunk.message
      return done!
    }
    // Short answers until the conversation fits the context with room for little more (a turn is about 70 tokens).
    let last = await send(0, 8)
    for (let i = 1; last.stats!.tokensIn + last.stats!.tokensOut < CONTEXT - 220; i++) last = await send(i, 8)
    expect(last.stats!.droppedTurns).toBeUndefined()
    const long = await send(100, 400)
    // Before, the whole conversation was sent as it still fitted, and the answer stopped where the
    // context ended, under 150 tokens in.
    expect(long.stats).toMatchObject({ tokensOut: 400, stopReason: 'max-tokens', droppedTurns: expect.any(Number) })
    expect(long.stats!.tokensIn + 400).toBeLessThanOrEqual(CONTEXT)
  })
})

describe('leaving out turns', () => {
  const m = (role: ChatMessage['role'], text: string): ChatMessage => ({ role, text })
  const turns = [m('system', 's'), m('user', 'q1'), m('assistant', 'a1'), m('user', 'q2'), m('assistant', 'a2'), m('user', 'q3')]

  it('drops the first questions with all that answered them, keeping system prompts', () => {
    expect(withoutTurns(turns, 1).map((t) => t.text)).toEqual(['s', 'q2', 'a2', 'q3'])
    expect(withoutTurns(turns, 2).map((t) => t.text)).toEqual(['s', 'q3'])
    expect(withoutTurns(turns, 0)).toBe(turns)
  })

  it('without numbers, one more turn at a time; never the question asked', () => {
    expect(dropMore(turns, 0, null, null, 1)).toBe(1)
    expect(dropMore(turns, 2, null, null, 1)).toBeNull()
    expect(dropMore([m('system', 's'), m('user', 'only')], 0, null, null, 1)).toBeNull()
  })

  it('with the numbers, enough turns at once to leave the answer its room and a quarter of the context', () => {
    const even = [m('user', 'x'.repeat(100)), m('assistant', 'y'.repeat(100)), m('user', 'x'.repeat(100)), m('assistant', 'y'.repeat(100))]
    const long = [...even, ...even, ...even, m('user', 'x'.repeat(100))]
    // 700 characters at a token each: 200 a turn. Room 100, a quarter 250: cut to 650 at most.
    expect(dropTarget(1000, 100)).toBe(650)
    expect(dropMore(long, 0, { total: 1300, imageTokens: 0 }, 1000, 100)).toBe(4)
    // Images count at the prompt's tokens per image: the first turn, its image with it, is 800 of 1,900.
    const pictured = long.map((t, i) => (i === 0 ? { ...t, images: [{ bytes: new Uint8Array(1) }] } : t))
    expect(dropMore(pictured, 0, { total: 1900, imageTokens: 600 }, 1000, 100)).toBe(4)
  })

  it('keeps the answer a room of its longest answer, at most a quarter of the context', () => {
    expect(answerRoom(1024, 8192)).toBe(1024)
    expect(answerRoom(1024, 2048)).toBe(512)
    expect(answerRoom(0, 2048)).toBe(1)
  })

  it("reads the numbers back from the engine's refusal", () => {
    expect(overflowNumbers(contextOverflow(1515, 16, 256).message)).toEqual({ needed: 1515, imageTokens: 16, contextSize: 256 })
    expect(overflowNumbers(contextOverflow(300, 0, 256).message)).toEqual({ needed: 300, imageTokens: 0, contextSize: 256 })
    expect(overflowNumbers('The conversation is longer than the model on the server can take (400).')).toBeNull()
  })
})
