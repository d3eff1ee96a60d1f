/// <reference types="svelte" />
// (The reference: the controller uses runes, and tsconfig.node.json names only Node's types.)
// Quick-ask's conversation under Node, against a fake main: what it asks main for when a
// question fails, is stopped, or a new screenshot comes while the answer is written.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { QuickConversation } from '../../renderer/src/lib/quick-ask.svelte.js'
import { conversation, FakeAssistant, message } from './fake-assistant.js'

const CRASH = { code: 'engine-crashed' as const, message: 'The engine stopped unexpectedly.' }

describe('QuickConversation', () => {
  let main: FakeAssistant
  let quick: QuickConversation
  let made: number

  beforeEach(() => {
    made = 0
    main = new FakeAssistant().answer('chats:create', () => conversation(`c${++made}`)).answer('chats:delete', () => null)
    quick = new QuickConversation(main.client)
  })

  /** Types a question and asks it; resolves when its stream has ended. */
  function ask(text: string, captureId: string | null = 'shot-1'): Promise<void> {
    quick.question = text
    return quick.ask(captureId)
  }
  const stream = (n: number) => vi.waitFor(() => main.streams[n] ?? Promise.reject(new Error(`no stream ${n} yet`)))

  it('a first question stored but not answered keeps its text, and asking again asks it again with its screenshot', async () => {
    const asked = ask('What error is shown?')
    const first = await stream(0)
    expect(first.request).toEqual({ chatId: 'c1', text: 'What error is shown?', captureId: 'shot-1' })
    first.push({ kind: 'message', message: message('q1', 'user', 'What error is shown?') })
    first.push({ kind: 'message', message: message('a1', 'assistant') })
    first.fail(CRASH)
    await asked
    expect(quick.error).toBe(CRASH.message)
    expect(quick.question).toBe('What error is shown?')
    // Main dropped the empty answer: none is shown.
    expect(quick.answer).toBeNull()
    expect(quick.chatId).toBe('c1')

    const again = quick.ask('shot-1')
    const second = await stream(1)
    // Not a follow-up (a second question, without the screenshot): the stored question, asked again.
    expect(second.channel).toBe('chats:edit')
    expect(second.request).toEqual({ chatId: 'c1', messageId: 'q1', text: 'What error is shown?' })
    second.push({ kind: 'message', message: message('q1', 'user', 'What error is shown?') })
    second.push({ kind: 'message', message: message('a2', 'assistant') })
    second.push({ kind: 'done', message: message('a2', 'assistant', 'A missing module.', 'complete') })
    second.end()
    await again
    expect(quick.error).toBeNull()
    expect(quick.question).toBe('')
    expect(quick.answer?.text).toBe('A missing module.')
    expect(main.requests('chats:create')).toHaveLength(1)
    expect(main.requests('chats:delete')).toEqual([])

    // Answered: the next question is a follow-up, without the screenshot.
    const follow = ask('And how do I fix it?')
    const third = await stream(2)
    expect(third.channel).toBe('chats:send')
    expect(third.request).toEqual({ chatId: 'c1', text: 'And how do I fix it?' })
    third.end()
    await follow
  })

  it('a first question refused before it is stored leaves no empty conversation, and the retry takes the screenshot', async () => {
    const long = 'Why does this build fail?\n' + 'ERROR at step 12: module not found\n'.repeat(10)
    const asked = ask(long)
    ;(await stream(0)).fail({ code: 'invalid-payload', message: 'The message is too long.' })
    await asked
    expect(quick.question).toBe(long)
    expect(quick.chatId).toBeNull()
    expect(quick.asked).toBe('')
    await vi.waitFor(() => expect(main.requests('chats:delete')).toEqual([{ id: 'c1' }]))

    const again = ask('Why does this build fail?')
    const second = await stream(1)
    expect(second.channel).toBe('chats:send')
    expect(second.request).toEqual({ chatId: 'c2', text: 'Why does this build fail?', captureId: 'shot-1' })
    second.end()
    await again
  })

  it('a question longer than one message can hold is refused in the window, in words, before any conversation is made', async () => {
    const long = 'Translate this log: ' + 'x'.repeat(100_000)
    await ask(long)
    expect(quick.error).toContain('100,020 characters long')
    expect(quick.question).toBe(long)
    expect(main.requests('chats:create')).toEqual([])
    expect(main.streams).toHaveLength(0)
    expect(quick.streaming).toBe(false)
  })

  it('Open in chat opens the conversation; one deleted in the chat window meanwhile is said here', async () => {
    await quick.openInChat()
    expect(main.requests('quick:open-in-chat')).toEqual([])
    const asked = ask('What error is shown?')
    const first = await stream(0)
    first.push({ kind: 'message', message: message('q1', 'user', 'What error is shown?') })
    first.push({ kind: 'done', message: message('a1', 'assistant', 'None.', 'complete') })
    first.end()
    await asked
    main.answer('quick:open-in-chat', () => null)
    await quick.openInChat()
    expect(main.requests('quick:open-in-chat')).toEqual([{ chatId: 'c1' }])
    expect(quick.error).toBeNull()
    main.refuse('quick:open-in-chat', { code: 'not-found', message: 'That conversation no longer exists.' })
    await quick.openInChat()
    expect(quick.error).toBe('That conversation no longer exists.')
  })

  it('a first question stopped before a word: the text comes back, and asking again asks the stored question', async () => {
    const asked = ask('What is this?')
    const first = await stream(0)
    first.push({ kind: 'message', message: message('q1', 'user', 'What is this?') })
    first.push({ kind: 'message', message: message('a1', 'assistant') })
    await vi.waitFor(() => expect(quick.question).toBe(''))
    quick.stop()
    await vi.waitFor(() => expect(first.cancelled).toBe(true))
    first.end()
    await asked
    expect(quick.question).toBe('What is this?')
    expect(quick.answer).toBeNull()
    void quick.ask('shot-1')
    expect((await stream(1)).channel).toBe('chats:edit')
  })

  it('an answer that failed part-way says why, and asking again replaces it', async () => {
    const asked = ask('Summarise the page')
    const first = await stream(0)
    first.push({ kind: 'message', message: message('q1', 'user', 'Summarise the page') })
    first.push({ kind: 'done', message: { ...message('a1', 'assistant', 'The page', 'error'), error: 'The engine stopped unexpectedly.' } })
    first.end()
    await asked
    expect(quick.error).toBe('The engine stopped unexpectedly.')
    expect(quick.question).toBe('Summarise the page')
    void quick.ask('shot-1')
    expect((await stream(1)).request).toEqual({ chatId: 'c1', messageId: 'q1', text: 'Summarise the page' })
  })

  it('a new screenshot while an answer is written stops it, shows none of it, and the next question is asked at once', async () => {
    const asked = ask('First question about screen A')
    const first = await stream(0)
    first.push({ kind: 'message', message: message('q1', 'user', 'First question about screen A') })
    first.push({ kind: 'message', message: message('a1', 'assistant') })
    first.push({ kind: 'tokens', messageId: 'a1', text: 'Screen A shows', count: 3 })
    await vi.waitFor(() => expect(quick.answer?.text).toBe('Screen A shows'))

    quick.reset()
    expect(quick.streaming).toBe(false)
    expect(quick.chatId).toBeNull()
    await vi.waitFor(() => expect(first.cancelled).toBe(true))
    // The old answer's last chunks arrive after: they belong to screen A's conversation.
    first.push({ kind: 'tokens', messageId: 'a1', text: ' a terminal', count: 2 })
    first.push({ kind: 'done', message: message('a1', 'assistant', 'Screen A shows a terminal', 'stopped') })
    first.end()
    await asked
    expect(quick.messages).toEqual([])
    expect(quick.asked).toBe('')

    const next = ask('Second question about screen B', 'shot-2')
    const second = await stream(1)
    expect(second.request).toEqual({ chatId: 'c2', text: 'Second question about screen B', captureId: 'shot-2' })
    expect(quick.streaming).toBe(true)
    second.push({ kind: 'message', message: message('q2', 'user', 'Second question about screen B') })
    second.end()
    await next
    // Screen A's conversation has its question: it is kept.
    expect(main.requests('chats:delete')).toEqual([])
  })

  it('a new screenshot while the conversation is being made: the question is not sent, and the conversation is removed', async () => {
    let create!: () => void
    main.answer('chats:create', () => new Promise((resolve) => (create = () => resolve(conversation('c1')))))
    const asked = ask('About screen A')
    await vi.waitFor(() => expect(create).toBeTypeOf('function'))
    quick.reset()
    create()
    await asked
    expect(main.streams).toEqual([])
    await vi.waitFor(() => expect(main.requests('chats:delete')).toEqual([{ id: 'c1' }]))
  })
})
