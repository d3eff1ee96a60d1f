/// <reference types="svelte" />
// (The reference: the controller uses runes, and tsconfig.node.json names only Node's types.)
// The chat window's controller under Node, against a fake main: what it asks main for, and
// the state it shows for the answers, down to what a component reading it would re-render.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LIMITS, MESSAGES, type Conversation, type EngineSettingsView, type ScreenTextMode } from '../../electron/ipc/contract.js'
import { ChatController, EXAMPLE_SCHEMA, SEARCH_DELAY_MS, type PendingImage } from '../../renderer/src/lib/chat.svelte.js'
import { conversation, FakeAssistant, message, readyEngine, summary } from './fake-assistant.js'
import { watch } from './watch.svelte.js'

const engineSettings = (screenText: ScreenTextMode): EngineSettingsView => ({
  settings: { cpuOnly: false, threads: 'auto', imageDetail: 'balanced', screenText },
  cpu: { logicalCores: 2, physicalCores: 2, autoThreads: 2 },
})
const image: PendingImage = { url: 'blob:x', name: 'cat.png', bytes: new Uint8Array([1, 2, 3]) }

describe('ChatController', () => {
  let main: FakeAssistant
  let chat: ChatController
  /** Main's conversations, newest first. */
  let stored: Conversation[]

  beforeEach(() => {
    stored = [
      conversation('c2', [message('q2', 'user', 'second')], 'Second'),
      conversation('c1', [message('q1', 'user', 'first')], 'First'),
    ]
    main = new FakeAssistant()
      .answer('engine:status', { state: 'idle' })
      .answer('engineSettings:get', engineSettings('auto'))
      .answer('chats:list', ({ query }) => stored.filter((c) => !query || c.title.includes(query)).map(summary))
      .answer('chats:get', ({ id }) => stored.find((c) => c.id === id)!)
      .answer('chats:create', () => {
        const created = conversation(`c${stored.length + 1}`)
        stored.unshift(created)
        return created
      })
    chat = new ChatController(main.client)
  })

  afterEach(() => vi.useRealTimers())

  it('starts with the engine state and the conversation list, and opens the newest conversation', async () => {
    const stop = await chat.start()
    expect(main.channels()).toEqual(['engine:status', 'engineSettings:get', 'chats:list', 'chats:damaged', 'chats:get'])
    expect(main.requests('chats:list')).toEqual([{}])
    expect(chat.engine).toEqual({ state: 'idle' })
    expect(chat.list.map((s) => s.id)).toEqual(['c2', 'c1'])
    expect(chat.current?.id).toBe('c2')
    stop()
    expect(main.listening('engine:state')).toBe(0)
    expect(main.listening('chat:open')).toBe(0)
  })

  it('shows the conversations that could not be read, and their files on request; a refusal is said', async () => {
    const damaged = [{ id: 'c9', reason: 'Unexpected end of JSON input' }]
    main.answer('chats:damaged', () => damaged).answer('chats:reveal-damaged', () => null)
    await chat.start()
    expect(chat.damaged).toEqual(damaged)
    expect(chat.list.map((s) => s.id)).toEqual(['c2', 'c1'])
    await chat.revealDamaged('c9')
    expect(main.requests('chats:reveal-damaged')).toEqual([{ id: 'c9' }])
    expect(chat.error).toBeNull()
    main.refuse('chats:reveal-damaged', { code: 'not-found', message: 'That conversation is not among those that could not be read.' })
    await chat.revealDamaged('c8')
    expect(chat.error).toContain('not among those that could not be read')
  })

  it('follows the engine state main pushes', async () => {
    await chat.start()
    const vision = watch(() => chat.vision)
    await vi.waitFor(() => expect(vision.values).toEqual([false]))
    main.emit('engine:state', readyEngine({ vision: true }))
    expect(chat.engine.state).toBe('ready')
    expect(chat.vision).toBe(true)
    await vi.waitFor(() => expect(vision.values).toEqual([false, true]))
    main.emit('engine:state', readyEngine({ vision: false }))
    await vi.waitFor(() => expect(vision.values).toEqual([false, true, false]))
    vision.stop()
  })

  it('while a model loads, says it is on its way rather than asking for one', async () => {
    await chat.start()
    expect(chat.notReadyHint).toBe('Load a model to start')
    main.emit('engine:state', { state: 'loading', modelPath: '/models/SmolVLM-500M-Q8_0.gguf' })
    expect(chat.notReadyHint).toBe('Loading SmolVLM-500M-Q8_0.gguf…')
  })

  it('opens the conversation quick-ask hands over, after reading the list again', async () => {
    await chat.start()
    stored.unshift(conversation('c3', [], 'Quick ask: what is this?'))
    main.emit('chat:open', { chatId: 'c3' })
    await vi.waitFor(() => expect(chat.current?.id).toBe('c3'))
    expect(chat.list.map((s) => s.id)).toEqual(['c3', 'c2', 'c1'])
  })

  it('refuses a question while no model is loaded, so the composer keeps it', async () => {
    await chat.start()
    expect(chat.send('hello', [])).toBe(false)
    expect(chat.error).toBe('Load a model first.')
    expect(main.streams).toHaveLength(0)
    expect(main.requests('chats:create')).toHaveLength(0)
  })

  it('refuses a question or an edit longer than one message can hold, in words, so the composer and the editor keep it', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    const long = 'x'.repeat(100_001)
    expect(chat.send(long, [])).toBe(false)
    expect(chat.error).toContain('100,001 characters long')
    expect(chat.edit('q2', long)).toBe(false)
    expect(chat.error).toContain('the most one message can hold is 100,000')
    expect(main.streams).toHaveLength(0)
    expect(main.requests('chats:create')).toHaveLength(0)
    // At the limit it goes.
    expect(chat.edit('q2', 'x'.repeat(100_000))).toBe(true)
    expect(chat.error).toBeNull()
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
  })

  it('refuses images while the loaded model cannot see and the text layer is set to Never', async () => {
    main.answer('engineSettings:get', engineSettings('never'))
    await chat.start()
    main.emit('engine:state', readyEngine({ vision: false }))
    expect(chat.textOnly).toBe(false)
    expect(chat.send('what is this?', [image])).toBe(false)
    expect(chat.error).toBe(MESSAGES.noVision)
    expect(main.streams).toHaveLength(0)
  })

  it('sends images to a model that cannot see when the text layer is on (it answers from their text), and follows a saved setting', async () => {
    await chat.start()
    main.emit('engine:state', readyEngine({ vision: false }))
    expect(chat.textOnly).toBe(true)
    expect(chat.send('what does it say?', [image])).toBe(true)
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    expect(main.streams[0]!.request).toMatchObject({ text: 'what does it say?', images: [{ name: 'cat.png' }] })
    chat.engineSettingsSaved(engineSettings('never').settings)
    expect(chat.textOnly).toBe(false)
    main.streams[0]!.end()
  })

  it('a settings read that fails counts as the default, so images are not refused for it', async () => {
    main.refuse('engineSettings:get', { code: 'internal', message: 'no' })
    await chat.start()
    main.emit('engine:state', readyEngine({ vision: false }))
    expect(chat.textOnly).toBe(true)
  })

  it('reads an image’s text on request and shows it with the image; a refusal shows its reason', async () => {
    const question = message('q3', 'user', 'what is this?')
    question.images = [{ id: 'i1', mime: 'image/png', width: 10, height: 10, bytes: 3, name: 'cat.png' }]
    stored.unshift(conversation('c3', [question]))
    const read = { status: 'read', text: 'Hello\nWorld', lines: 2, confidence: 0.9, unsure: 0, language: 'en', ms: 5 } as const
    main.answer('chats:image-text', read)
    await chat.start()
    await chat.readImageText('q3', 'i1')
    expect(main.requests('chats:image-text')).toEqual([{ chatId: 'c3', imageId: 'i1' }])
    expect(chat.current?.messages[0]?.images[0]?.text).toEqual(read)
    main.refuse('chats:image-text', { code: 'not-found', message: 'That image is gone.' })
    await chat.readImageText('q3', 'i1')
    expect(chat.current?.messages[0]?.images[0]?.text).toEqual({ status: 'failed', reason: 'That image is gone.' })
  })

  it('streams a question and its answer into a new conversation, then names it from the list', async () => {
    main.answer('engine:status', readyEngine({ vision: true }))
    stored = []
    await chat.start()
    expect(chat.current).toBeNull()

    expect(chat.send('what is this?', [image])).toBe(true)
    expect(chat.error).toBeNull()
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    const stream = main.streams[0]!
    expect(main.requests('chats:create')).toEqual([{}])
    expect(stream.channel).toBe('chats:send')
    expect(stream.request).toEqual({
      chatId: 'c1',
      text: 'what is this?',
      images: [{ bytes: image.bytes, name: 'cat.png' }],
      sampling: { maxTokens: 1024, temperature: 0.7 },
    })
    expect(chat.streaming).toBe(true)

    // Tokens are applied to the open conversation in place: what shows the answer re-renders.
    const answer = watch(() => chat.current?.messages.at(-1)?.text)
    stream.push({ kind: 'message', message: message('q', 'user', 'what is this?') })
    stream.push({ kind: 'message', message: message('a', 'assistant') })
    stream.push({ kind: 'tokens', messageId: 'a', text: 'A ', count: 1 })
    stream.push({ kind: 'tokens', messageId: 'a', text: 'cat.', count: 1 })
    await vi.waitFor(() => expect(chat.current?.messages.map((m) => m.text)).toEqual(['what is this?', 'A cat.']))
    await vi.waitFor(() => expect(answer.values.at(-1)).toBe('A cat.'))
    expect(answer.values[0]).toBeUndefined()
    answer.stop()

    // Main names the conversation from its first question by the time the answer ends.
    stored[0] = { ...stored[0]!, title: 'what is this?' }
    stream.push({ kind: 'done', message: message('a', 'assistant', 'A cat.', 'complete') })
    stream.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.current?.messages.at(-1)?.status).toBe('complete')
    expect(chat.current?.title).toBe('what is this?')
    // At start, once the new conversation is created (it is listed while it answers), and at the end.
    expect(main.requests('chats:list')).toHaveLength(3)
    // The answer ended with its final message: nothing to read back.
    expect(main.requests('chats:get')).toHaveLength(0)
  })

  it('sends with the conversation settings, applied before they are saved', async () => {
    main.answer('engine:status', readyEngine({ vision: false })).answer('chats:update', ({ id }) => stored.find((c) => c.id === id)!)
    await chat.start()
    const saved = chat.setSettings({ maxTokens: 64, temperature: 0 })
    expect(chat.current?.settings).toEqual({ maxTokens: 64, temperature: 0 })
    await saved
    expect(main.requests('chats:update')).toEqual([{ id: 'c2', settings: { maxTokens: 64, temperature: 0 } }])
    chat.send('short, please', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    expect(main.streams[0]!.request).toMatchObject({ chatId: 'c2', sampling: { maxTokens: 64, temperature: 0 } })
  })

  it('sets how answers are written: JSON, or JSON matching a schema typed as text, saved only if it is a JSON object', async () => {
    main.answer('engine:status', readyEngine({ vision: false })).answer('chats:update', ({ id }) => stored.find((c) => c.id === id)!)
    await chat.start()
    const base = { maxTokens: 1024, temperature: 0.7 }
    await chat.setSettings({ ...base, format: { type: 'json' } })
    expect(await chat.setAnswerFormat('json_schema')).toBeNull()
    expect(chat.current?.settings.format).toEqual({ type: 'json_schema', schema: EXAMPLE_SCHEMA })
    expect(await chat.setAnswerFormat('json_schema', '{"type": "object", "properties": {"n": {"type": "integer"}}}')).toBeNull()
    // The settings spread from the open conversation (state proxies) go out as plain objects, as IPC needs.
    expect(await chat.setAnswerFormat('json')).toBeNull()
    const schema = { type: 'object', properties: { n: { type: 'integer' } } }
    const sent = [
      { id: 'c2', settings: { ...base, format: { type: 'json' } } },
      { id: 'c2', settings: { ...base, format: { type: 'json_schema', schema: EXAMPLE_SCHEMA } } },
      { id: 'c2', settings: { ...base, format: { type: 'json_schema', schema } } },
      { id: 'c2', settings: { ...base, format: { type: 'json' } } },
    ]
    expect(structuredClone(main.requests('chats:update'))).toEqual(sent)

    // Text that is no JSON object: an error, nothing saved, nothing changed.
    expect(await chat.setAnswerFormat('json_schema', '{"type": "object",')).toMatch(/^The schema is not valid JSON .*nothing was saved\.$/)
    expect(await chat.setAnswerFormat('json_schema', '["type"]')).toMatch(/must be a JSON object/)
    expect(main.requests('chats:update')).toHaveLength(4)
    expect(chat.current?.settings.format).toEqual({ type: 'json' })

    // Main refusing the settings (a schema too large): its message, and the settings as they were.
    main.refuse('chats:update', {
      code: 'invalid-payload',
      message: 'settings.format.schema: a JSON schema may be at most 65536 characters',
    })
    expect(await chat.setAnswerFormat('json_schema', JSON.stringify({ type: 'string', description: 'x'.repeat(70_000) }))).toMatch(
      /at most 65536 characters/,
    )
    expect(chat.current?.settings).toEqual({ ...base, format: { type: 'json' } })

    main.answer('chats:update', ({ id }) => stored.find((c) => c.id === id)!)
    expect(await chat.setAnswerFormat('text')).toBeNull()
    expect(main.requests('chats:update').at(-1)).toEqual({ id: 'c2', settings: base })
    expect(chat.current?.settings).toEqual(base)
  })

  it('stop cancels the stream; stopped before a word, it shows what main kept', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    chat.send('tell me a story', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    const stream = main.streams[0]!
    stream.push({ kind: 'message', message: message('q3', 'user', 'tell me a story') })
    stream.push({ kind: 'message', message: message('a3', 'assistant') })
    await vi.waitFor(() => expect(chat.current?.messages).toHaveLength(3))

    await chat.stop()
    expect(stream.cancelled).toBe(true)
    // Main drops the empty answer and ends the stream without a final message.
    stored[0] = { ...stored[0]!, messages: [...stored[0]!.messages, message('q3', 'user', 'tell me a story')] }
    stream.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(main.requests('chats:get')).toEqual([{ id: 'c2' }, { id: 'c2' }])
    expect(chat.current?.messages.map((m) => m.id)).toEqual(['q2', 'q3'])
  })

  it('a failed stream shows main’s sentence and reads the conversation back', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    chat.send('hello', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    main.streams[0]!.fail({ code: 'engine-crashed', message: 'The engine stopped unexpectedly.' })
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.error).toBe('The engine stopped unexpectedly.')
    expect(main.requests('chats:get')).toEqual([{ id: 'c2' }, { id: 'c2' }])
  })

  it('a conversation set to stop and ask that no longer fits offers, once, to answer leaving out its oldest turns; the setting stays', async () => {
    const overflow = {
      code: 'context-overflow',
      message: 'The conversation needs 600 tokens; the context holds 512. Start a new conversation, remove images or shorten the text.',
    } as const
    const long = conversation('c3', [message('q1', 'user', 'first'), message('a1', 'assistant', 'one', 'complete')], 'Long')
    long.settings = { ...long.settings, contextFull: 'stop' }
    stored.unshift(long)
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    expect(chat.current?.id).toBe('c3')
    expect(chat.canLeaveOutOldest).toBe(false)

    // A question main stored and could not answer: it is answered again by its id, not sent twice.
    chat.send('and now?', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    const asked = message('q2', 'user', 'and now?')
    long.messages.push(asked)
    main.streams[0]!.push({ kind: 'message', message: asked })
    main.streams[0]!.fail(overflow)
    await vi.waitFor(() => expect(chat.canLeaveOutOldest).toBe(true))
    expect(chat.error).toBe(overflow.message)
    chat.leaveOutOldest()
    expect(chat.error).toBeNull()
    expect(chat.canLeaveOutOldest).toBe(false)
    await vi.waitFor(() => expect(main.streams).toHaveLength(2))
    expect(main.streams[1]).toMatchObject({
      channel: 'chats:edit',
      request: { chatId: 'c3', messageId: 'q2', text: 'and now?', contextFull: 'drop-oldest' },
    })
    // Asked again and refused again: nothing more to offer (it was the one time).
    main.streams[1]!.push({ kind: 'message', message: asked })
    main.streams[1]!.fail(overflow)
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.error).toBe(overflow.message)
    expect(chat.canLeaveOutOldest).toBe(false)

    // A regenerate and an edit are asked again as they were, with the one-off choice.
    chat.regenerate('a1')
    await vi.waitFor(() => expect(main.streams).toHaveLength(3))
    main.streams[2]!.push({ kind: 'message', message: message('q1', 'user', 'first') })
    main.streams[2]!.fail(overflow)
    // q1 is the first question: there is nothing older to leave out.
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.canLeaveOutOldest).toBe(false)
    chat.edit('q2', 'and now, edited?')
    await vi.waitFor(() => expect(main.streams).toHaveLength(4))
    main.streams[3]!.push({ kind: 'message', message: { ...asked, text: 'and now, edited?' } })
    main.streams[3]!.fail(overflow)
    await vi.waitFor(() => expect(chat.canLeaveOutOldest).toBe(true))
    chat.leaveOutOldest()
    await vi.waitFor(() => expect(main.streams).toHaveLength(5))
    expect(main.streams[4]).toMatchObject({
      channel: 'chats:edit',
      request: { chatId: 'c3', messageId: 'q2', text: 'and now, edited?', contextFull: 'drop-oldest' },
    })
    expect(main.requests('chats:update')).toHaveLength(0)

    // Another failure, or the setting to leave turns out, offers nothing.
    main.streams[4]!.fail({ code: 'engine-crashed', message: 'The engine stopped unexpectedly.' })
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.canLeaveOutOldest).toBe(false)
    long.settings = { ...long.settings, contextFull: 'drop-oldest' }
    chat.send('and now?', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(6))
    long.messages.push(message('q3', 'user', 'and now?'))
    main.streams[5]!.push({ kind: 'message', message: long.messages.at(-1)! })
    main.streams[5]!.fail(overflow)
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.error).toBe(overflow.message)
    expect(chat.canLeaveOutOldest).toBe(false)
  })

  it('regenerates an answer and edits a question by message id', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    chat.regenerate('a1')
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    expect(main.streams[0]).toMatchObject({ channel: 'chats:regenerate', request: { chatId: 'c2', messageId: 'a1' } })
    main.streams[0]!.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    chat.edit('q2', 'second, edited')
    await vi.waitFor(() => expect(main.streams).toHaveLength(2))
    expect(main.streams[1]).toMatchObject({ channel: 'chats:edit', request: { chatId: 'c2', messageId: 'q2', text: 'second, edited' } })
  })

  it('refuses a regenerate or an edit while no model is loaded, in words, and asks main nothing', async () => {
    await chat.start()
    chat.regenerate('a1')
    expect(chat.error).toBe('Load a model first.')
    // The editor stays open with the edit.
    expect(chat.edit('q2', 'second, edited')).toBe(false)
    expect(chat.error).toBe('Load a model first.')
    await Promise.resolve()
    expect(main.streams).toHaveLength(0)
  })

  it('a regenerate clears the error left from before', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    await chat.start()
    expect(chat.send('x'.repeat(100_001), [])).toBe(false)
    expect(chat.error).not.toBeNull()
    chat.regenerate('a1')
    expect(chat.error).toBeNull()
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
  })

  it('a question main refuses before storing it (an image it cannot read, a stop while it waits) goes back to the composer with its images', async () => {
    main.answer('engine:status', readyEngine({ vision: true }))
    await chat.start()
    expect(chat.send('what is this?', [image])).toBe(true)
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    main.streams[0]!.fail({ code: 'bad-image', message: 'cat.png is not an image that can be read.' })
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.error).toBe('cat.png is not an image that can be read.')
    expect(chat.returned).toEqual({ text: 'what is this?', images: [image] })
    expect(chat.takeReturned()).toEqual({ text: 'what is this?', images: [image] })
    expect(chat.returned).toBeNull()

    // Stopped while it waits for an answer being written in the conversation: main stored nothing.
    chat.send('second try', [image])
    await vi.waitFor(() => expect(main.streams).toHaveLength(2))
    await chat.stop()
    main.streams[1]!.end()
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.takeReturned()).toEqual({ text: 'second try', images: [image] })

    // Once main has stored the question it stays in the conversation, ready to retry: nothing goes back.
    chat.send('third try', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(3))
    main.streams[2]!.push({ kind: 'message', message: message('q3', 'user', 'third try') })
    main.streams[2]!.fail({ code: 'no-model', message: 'No model is loaded.' })
    await vi.waitFor(() => expect(chat.streaming).toBe(false))
    expect(chat.returned).toBeNull()
  })

  it('lets go of the composer previews of images main stored with the question, and keeps those it gave back', async () => {
    main.answer('engine:status', readyEngine({ vision: true }))
    await chat.start()
    const revoked: string[] = []
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation((url) => void revoked.push(url))
    try {
      chat.send('what is this?', [image])
      await vi.waitFor(() => expect(main.streams).toHaveLength(1))
      main.streams[0]!.fail({ code: 'bad-image', message: 'cat.png is not an image that can be read.' })
      await vi.waitFor(() => expect(chat.streaming).toBe(false))
      // Given back to the composer, which still shows it.
      expect(revoked).toEqual([])
      chat.takeReturned()

      chat.send('and now?', [image])
      await vi.waitFor(() => expect(main.streams).toHaveLength(2))
      main.streams[1]!.push({ kind: 'message', message: message('q2', 'user', 'and now?') })
      main.streams[1]!.end()
      await vi.waitFor(() => expect(revoked).toEqual([image.url]))
    } finally {
      revoke.mockRestore()
    }
  })

  it('refuses more images than one message takes, or one larger than main takes, in words', async () => {
    main.answer('engine:status', readyEngine({ vision: true }))
    await chat.start()
    const nine = Array.from({ length: 9 }, (_, i) => ({ ...image, url: `blob:${i}`, name: `p${i}.png` }))
    expect(chat.send('all of these?', nine)).toBe(false)
    expect(chat.error).toBe(
      `You attached 9 images; one message can take at most ${LIMITS.imagesPerMessage}. Remove 1, or ask about it in another message.`,
    )
    const huge = { ...image, name: 'huge.png', bytes: new Uint8Array(LIMITS.imageBytes + 1) }
    expect(chat.send('and this?', [image, huge])).toBe(false)
    expect(chat.error).toBe('huge.png is larger than 40 MiB, the most one image can be. Attach a smaller copy of it.')
    expect(main.streams).toHaveLength(0)
    expect(chat.send('these are fine', nine.slice(0, 8))).toBe(true)
  })

  it('deleting the conversation being answered stops its answer first, and its end is not shown as an error', async () => {
    main.answer('engine:status', readyEngine({ vision: false })).answer('chats:delete', ({ id }) => {
      stored = stored.filter((c) => c.id !== id)
      return null
    })
    await chat.start()
    chat.send('tell me a story', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    const stream = main.streams[0]!
    stream.push({ kind: 'message', message: message('q3', 'user', 'tell me a story') })
    const removed = chat.remove('c2')
    await vi.waitFor(() => expect(stream.cancelled).toBe(true))
    // Main's last save of the stopped answer raced the delete.
    stream.fail({ code: 'not-found', message: 'That conversation no longer exists.' })
    await removed
    expect(main.requests('chats:delete')).toEqual([{ id: 'c2' }])
    expect(chat.streaming).toBe(false)
    expect(chat.error).toBeNull()
    expect(chat.current).toBeNull()
    expect(chat.list.map((s) => s.id)).toEqual(['c1'])
  })

  it('lists a new conversation as soon as it is created, while its first answer streams', async () => {
    main.answer('engine:status', readyEngine({ vision: false }))
    stored = []
    await chat.start()
    chat.send('hello', [])
    await vi.waitFor(() => expect(main.streams).toHaveLength(1))
    expect(chat.streaming).toBe(true)
    expect(chat.list.map((s) => s.id)).toEqual(['c1'])
  })

  it('searches once typing pauses, with the trimmed text', async () => {
    await chat.start()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    chat.search('F')
    chat.search('Fi')
    chat.search('First ')
    expect(chat.query).toBe('First ')
    await vi.advanceTimersByTimeAsync(SEARCH_DELAY_MS - 1)
    expect(main.requests('chats:list')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await vi.waitFor(() => expect(chat.list.map((s) => s.id)).toEqual(['c1']))
    expect(main.requests('chats:list')).toEqual([{}, { query: 'First' }])

    chat.search('  ')
    await vi.advanceTimersByTimeAsync(SEARCH_DELAY_MS)
    await vi.waitFor(() => expect(chat.list).toHaveLength(2))
    expect(main.requests('chats:list').at(-1)).toEqual({})
  })

  it('create, rename and delete each read the list again', async () => {
    main.answer('chats:update', ({ id, title }) => {
      const c = stored.find((s) => s.id === id)!
      c.title = title ?? c.title
      return c
    })
    main.answer('chats:delete', ({ id }) => {
      stored = stored.filter((c) => c.id !== id)
      return null
    })
    await chat.start()
    const ids = watch(() => chat.list.map((s) => s.id))
    chat.search('Second')

    await chat.create()
    expect(chat.current?.id).toBe('c3')
    // A new conversation clears the search, so it shows in the list.
    expect(chat.query).toBe('')
    expect(chat.list.map((s) => s.id)).toEqual(['c3', 'c2', 'c1'])

    await chat.open('c2')
    await chat.rename('c2', 'Renamed')
    expect(main.requests('chats:update')).toEqual([{ id: 'c2', title: 'Renamed' }])
    expect(chat.current?.title).toBe('Renamed')
    expect(chat.list.find((s) => s.id === 'c2')?.title).toBe('Renamed')

    await chat.remove('c2')
    expect(main.requests('chats:delete')).toEqual([{ id: 'c2' }])
    expect(chat.current).toBeNull()
    expect(chat.list.map((s) => s.id)).toEqual(['c3', 'c1'])
    expect(main.requests('chats:list')).toHaveLength(4)
    // The list is replaced whole each time, and each replacement re-renders it.
    await vi.waitFor(() => expect(ids.values.at(-1)).toEqual(['c3', 'c1']))
    expect(ids.values[0]).toEqual(['c2', 'c1'])
    ids.stop()
  })

  it('offers the model that answered a conversation when another is loaded', async () => {
    stored[0]!.model = { modelPath: '/models/other.gguf', mmprojPath: null }
    main
      .answer('engine:status', readyEngine({ vision: false }))
      .refuse('engine:load', { code: 'model-load-failed', message: 'That file is gone.' })
    await chat.start()
    expect(chat.modelMismatch).toEqual({ modelPath: '/models/other.gguf', mmprojPath: null })
    await chat.loadConversationModel()
    expect(main.requests('engine:load')).toEqual([{ modelPath: '/models/other.gguf' }])
    expect(chat.error).toBe('That file is gone.')
    main.emit('engine:state', readyEngine({ vision: false, modelPath: '/models/other.gguf' }))
    expect(chat.modelMismatch).toBeNull()
  })
})
