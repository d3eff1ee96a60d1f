// A conversation that outgrows the context keeps going: its oldest turns are left out of the
// prompt (never out of the conversation), the answer says how many, and a conversation set
// to "stop" is refused with the reason instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChatService, withoutOldestTurn } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { ChatChunk, ChatMessage, StoredMessage } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { greedy, scratchDir, startEngine } from '../support/engine.js'

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

async function send(chatId: string): Promise<StoredMessage> {
  const chats = createChatService(store, engine, new GenerationScheduler(engine))
  let done: StoredMessage | null = null
  for await (const chunk of chats.send(
    { chatId, text: 'And now?', sampling: greedy(8) },
    new AbortController().signal,
  ) as AsyncIterable<ChatChunk>)
    if (chunk.kind === 'done') done = chunk.message
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
})

describe('withoutOldestTurn', () => {
  const m = (role: ChatMessage['role'], text: string): ChatMessage => ({ role, text })
  it('drops the first question with all that answered it, keeping system prompts', () => {
    const turns = [m('system', 's'), m('user', 'q1'), m('assistant', 'a1'), m('user', 'q2'), m('assistant', 'a2'), m('user', 'q3')]
    expect(withoutOldestTurn(turns)?.map((t) => t.text)).toEqual(['s', 'q2', 'a2', 'q3'])
    expect(withoutOldestTurn([m('system', 's'), m('user', 'only')])).toBeNull()
  })
})
