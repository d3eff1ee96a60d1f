/// <reference types="svelte" />
// (The reference: the controller uses runes, and tsconfig.node.json names only Node's types.)
// Answers written in the background, under Node against a fake main: opening or creating
// another conversation leaves an answer going, each conversation keeps its own answer, Stop,
// alert and returned question, and a question asked while another answer is written waits
// for it, saying so.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Conversation } from '../../electron/ipc/contract.js'
import { ChatController, type PendingImage } from '../../renderer/src/lib/chat.svelte.js'
import { conversation, FakeAssistant, message, readyEngine, summary } from './fake-assistant.js'
import { watch } from './watch.svelte.js'

const image: PendingImage = { url: 'blob:x', name: 'cat.png', bytes: new Uint8Array([1, 2, 3]) }

describe('ChatController: answers in the background', () => {
  let main: FakeAssistant
  let chat: ChatController
  /** Main's conversations, newest first. */
  let stored: Conversation[]

  beforeEach(async () => {
    stored = [
      conversation('c2', [message('q2', 'user', 'second'), message('a2', 'assistant', 'two', 'complete')], 'Second'),
      conversation('c1', [message('q1', 'user', 'first'), message('a1', 'assistant', 'one', 'complete')], 'First'),
    ]
    main = new FakeAssistant()
      .answer('engine:status', readyEngine({ vision: true }))
      .answer('engineSettings:get', {
        settings: { cpuOnly: false, threads: 'auto', imageDetail: 'balanced', screenText: 'auto' },
        cpu: { logicalCores: 2, physicalCores: 2, autoThreads: 2 },
      })
      .answer('chats:list', () => stored.map(summary))
      .answer('chats:damaged', [])
      .answer('chats:get', ({ id }) => stored.find((c) => c.id === id)!)
      .answer('chats:create', () => {
        const created = conversation(`c${stored.length + 1}`)
        stored.unshift(created)
        return created
      })
      .answer('chats:update', ({ id, title }) => {
        const c = stored.find((s) => s.id === id)!
        c.title = title ?? c.title
        return c
      })
    chat = new ChatController(main.client)
    await chat.start()
    expect(chat.current?.id).toBe('c2')
  })

  /** Asks `text` in the open conversation; main stores it and begins the answer `answerId`. */
  async function ask(text: string, questionId: string, answerId: string) {
    const count = main.streams.length
    expect(chat.send(text, [])).toBe(true)
    await vi.waitFor(() => expect(main.streams).toHaveLength(count + 1))
    const stream = main.streams[count]!
    stream.push({ kind: 'message', message: message(questionId, 'user', text) })
    stream.push({ kind: 'message', message: message(answerId, 'assistant') })
    return stream
  }

  it('opening another conversation leaves the answer going; back, it shows the answer as far as it got, then goes on', async () => {
    const stream = await ask('tell me a story', 'q3', 'a3')
    stream.push({ kind: 'tokens', messageId: 'a3', text: 'Once ', count: 1 })
    await vi.waitFor(() => expect(chat.current?.messages.at(-1)?.text).toBe('Once '))

    await chat.open('c1')
    expect(stream.cancelled).toBe(false)
    expect(chat.current?.id).toBe('c1')
    expect(chat.streaming).toBe(false)
    expect(chat.answering('c2')).toBe(true)
    expect(chat.answering('c1')).toBe(false)
    // Written on while another is open: nothing of it shows there.
    stream.push({ kind: 'tokens', messageId: 'a3', text: 'upon ', count: 1 })
    await vi.waitFor(() => expect(chat.current?.messages.map((m) => m.text)).toEqual(['first', 'one']))

    // Main saved less than the window has (it saves every second): the window's copy is shown.
    stored[0] = { ...stored[0]!, title: 'A story', messages: [...stored[0]!.messages, message('q3', 'user', 'tell me a story')] }
    await chat.open('c2')
    expect(chat.current?.messages.at(-1)?.text).toBe('Once upon ')
    // What main changed meanwhile comes along: the title it named it by.
    expect(chat.current?.title).toBe('A story')
    expect(chat.streaming).toBe(true)
    const text = watch(() => chat.current?.messages.at(-1)?.text)
    stream.push({ kind: 'tokens', messageId: 'a3', text: 'a time.', count: 1 })
    await vi.waitFor(() => expect(text.values.at(-1)).toBe('Once upon a time.'))
    text.stop()
    stream.push({ kind: 'done', message: message('a3', 'assistant', 'Once upon a time.', 'complete') })
    stream.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.answering('c2')).toBe(false)
    expect(chat.current?.messages.at(-1)?.status).toBe('complete')
  })

  it('an answer that ends in the background is complete when its conversation is opened, and said once for screen readers', async () => {
    const stream = await ask('tell me a story', 'q3', 'a3')
    await chat.create()
    expect(chat.current?.id).toBe('c3')
    expect(stream.cancelled).toBe(false)
    expect(chat.answering('c2')).toBe(true)
    stream.push({ kind: 'tokens', messageId: 'a3', text: 'The end.', count: 2 })
    // Main saved the question and the answer as they came.
    const answer = message('a3', 'assistant', 'The end.', 'complete')
    stored[1] = { ...stored[1]!, messages: [...stored[1]!.messages, message('q3', 'user', 'tell me a story'), answer] }
    stream.push({ kind: 'done', message: answer })
    stream.end()
    await vi.waitFor(() => expect(chat.answering('c2')).toBe(false))
    expect(chat.answerEnded).toBe('The answer in “Second” is done.')
    expect(chat.alerted('c2')).toBe(false)
    await chat.open('c2')
    expect(chat.current?.messages.map((m) => `${m.id}:${m.text}:${m.status}`)).toEqual([
      'q2:second:complete',
      'a2:two:complete',
      'q3:tell me a story:complete',
      'a3:The end.:complete',
    ])
  })

  it('Stop stops only the open conversation’s answer', async () => {
    const first = await ask('tell me a story', 'q3', 'a3')
    await chat.open('c1')
    const second = await ask('and you?', 'q4', 'a4')
    expect(chat.streaming).toBe(true)
    await chat.stop()
    expect(second.cancelled).toBe(true)
    expect(first.cancelled).toBe(false)
    second.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.answering('c2')).toBe(true)
    first.end()
    await vi.waitFor(() => expect(chat.answering('c2')).toBe(false))
  })

  it('a question asked while another conversation’s answer is written says it waits for that one, until its own begins', async () => {
    const first = await ask('tell me a story', 'q3', 'a3')
    first.push({ kind: 'tokens', messageId: 'a3', text: 'Once', count: 1 })
    await chat.open('c1')
    expect(chat.waitingFor).toBeNull()
    const second = await ask('and you?', 'q4', 'a4')
    await vi.waitFor(() => expect(chat.current?.messages.at(-1)?.id).toBe('a4'))
    expect(chat.waitingFor).toBe('Second')
    const waiting = watch(() => chat.waitingFor)
    // The first answer ends; the engine takes the second.
    first.push({ kind: 'done', message: message('a3', 'assistant', 'Once', 'complete') })
    first.end()
    await vi.waitFor(() => expect(waiting.values.at(-1)).toBeNull())
    second.push({ kind: 'tokens', messageId: 'a4', text: 'Me?', count: 1 })
    second.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    waiting.stop()
    expect(chat.waitingFor).toBeNull()
  })

  it('a question waits for no answer on another engine, nor once its own has begun', async () => {
    const first = await ask('tell me a story', 'q3', 'a3')
    await chat.open('c1')
    const second = await ask('and you?', 'q4', 'a4')
    await vi.waitFor(() => expect(chat.waitingFor).toBe('Second'))
    second.push({ kind: 'tokens', messageId: 'a4', text: 'Me', count: 1 })
    await vi.waitFor(() => expect(chat.waitingFor).toBeNull())
    first.end()
    second.end()
    await vi.waitFor(() => expect(chat.answering('c1') || chat.answering('c2')).toBe(false))

    stored.find((c) => c.id === 'c1')!.engine = { id: 'e1', model: 'm' }
    const local = await ask('again', 'q5', 'a5')
    await chat.open('c1')
    expect(chat.current?.engine).toEqual({ id: 'e1', model: 'm' })
    await ask('elsewhere', 'q6', 'a6')
    await vi.waitFor(() => expect(chat.current?.messages.at(-1)?.id).toBe('a6'))
    expect(chat.waitingFor).toBeNull()
    local.end()
  })

  it('the error of an answer written in the background is said in its own conversation, with its offer, when it is opened', async () => {
    const overflow = {
      code: 'context-overflow',
      message: 'The conversation needs 600 tokens; the context holds 512. Start a new conversation, remove images or shorten the text.',
    } as const
    stored[0]!.settings = { ...stored[0]!.settings, contextFull: 'stop' }
    await chat.open('c2')
    const stream = await ask('and now?', 'q3', 'a3')
    await chat.open('c1')
    stored[0]!.messages.push(message('q3', 'user', 'and now?'))
    stream.fail(overflow)
    await vi.waitFor(() => expect(chat.answering('c2')).toBe(false))
    // Not in the conversation open now.
    expect(chat.error).toBeNull()
    expect(chat.canLeaveOutOldest).toBe(false)
    expect(chat.alerted('c2')).toBe(true)
    expect(chat.answerEnded).toBe('The answer in “Second” failed; open the conversation to see why.')

    await chat.open('c2')
    expect(chat.error).toBe(overflow.message)
    expect(chat.canLeaveOutOldest).toBe(true)
    chat.leaveOutOldest()
    await vi.waitFor(() => expect(main.streams).toHaveLength(2))
    expect(main.streams[1]).toMatchObject({
      channel: 'chats:edit',
      request: { chatId: 'c2', messageId: 'q3', text: 'and now?', contextFull: 'drop-oldest' },
    })
    expect(chat.streaming).toBe(true)
    // Seen where it was said: leaving the conversation takes the alert away.
    main.streams[1]!.fail({ code: 'engine-crashed', message: 'The engine stopped unexpectedly.' })
    await vi.waitFor(() => expect(chat.error).toBe('The engine stopped unexpectedly.'))
    await chat.open('c1')
    expect(chat.alerted('c2')).toBe(false)
  })

  it('a question main gave back goes to the composer of its own conversation, not the one open', async () => {
    expect(chat.send('what is this?', [image])).toBe(true)
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    await chat.open('c1')
    main.streams[0]!.fail({ code: 'bad-image', message: 'cat.png is not an image that can be read.' })
    await vi.waitFor(() => expect(chat.answering('c2')).toBe(false))
    expect(chat.returned).toBeNull()
    expect(chat.takeReturned()).toBeNull()
    expect(chat.error).toBeNull()
    await chat.open('c2')
    expect(chat.error).toBe('cat.png is not an image that can be read.')
    expect(chat.takeReturned()).toEqual({ text: 'what is this?', images: [image] })
  })

  it('renaming a conversation being answered in the background keeps the new title when it is opened', async () => {
    const stream = await ask('tell me a story', 'q3', 'a3')
    await chat.open('c1')
    await chat.rename('c2', 'Stories')
    await chat.open('c2')
    expect(chat.current?.title).toBe('Stories')
    stream.end()
  })

  it('deleting a conversation answered in the background stops its answer and says nothing of it', async () => {
    main.answer('chats:delete', ({ id }) => {
      stored = stored.filter((c) => c.id !== id)
      return null
    })
    const stream = await ask('tell me a story', 'q3', 'a3')
    await chat.open('c1')
    const removed = chat.remove('c2')
    await vi.waitFor(() => expect(stream.cancelled).toBe(true))
    stream.fail({ code: 'not-found', message: 'That conversation no longer exists.' })
    await removed
    expect(chat.answering('c2')).toBe(false)
    expect(chat.alerted('c2')).toBe(false)
    expect(chat.answerEnded).toBe('')
    expect(chat.current?.id).toBe('c1')
  })
})
