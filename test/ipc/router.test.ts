import { describe, expect, it, vi } from 'vitest'
import { LIMITS, STREAM_EVENT, type GenerateChunk, type StreamEvent } from '../../electron/ipc/contract.js'
import { invokeChannels } from '../../electron/ipc/schemas.js'
import { createRouter, type InvokeHandlers, type Sender, type StreamHandlers } from '../../electron/ipc/router.js'
import { AppError } from '../../electron/ipc/errors.js'

const TRUSTED = 'app://renderer/index.html'
const unused = async (): Promise<never> => {
  throw new Error('not used in these tests')
}
// eslint-disable-next-line require-yield -- a stream that is never started here
async function* unusedStream(): AsyncGenerator<never> {
  throw new Error('not used in these tests')
}

function setup() {
  // Every channel answers 'unused' unless a test below needs it.
  const invoke = {
    ...(Object.fromEntries(Object.keys(invokeChannels).map((c) => [c, vi.fn(unused)])) as unknown as Record<
      keyof InvokeHandlers,
      ReturnType<typeof vi.fn>
    >),
    'app:info': vi.fn(async () => ({ name: 'x', version: '1', platform: 'linux', electron: null })),
    'engine:status': vi.fn(async () => ({ state: 'idle' as const })),
    'engine:load': vi.fn(async () => {
      throw new AppError('bad-model-file', 'Model file not found: /nope.gguf')
    }),
  }
  const generate = vi.fn(async function* (_req: unknown, ctx: { signal: AbortSignal }): AsyncGenerator<GenerateChunk> {
    for (let i = 0; i < 1000 && !ctx.signal.aborted; i++) {
      yield { kind: 'tokens', text: 'x', count: 1 }
      await new Promise((r) => setTimeout(r, 2))
    }
    yield {
      kind: 'done',
      stats: {
        tokensIn: 1,
        tokensOut: 1,
        imageTokens: 0,
        timeToFirstTokenMs: 1,
        tokensPerSecond: 1,
        totalMs: 1,
        stopReason: ctx.signal.aborted ? 'cancelled' : 'max-tokens',
      },
    }
  })
  const stream = {
    'chat:generate': generate,
    'chats:send': unusedStream,
    'chats:regenerate': unusedStream,
    'chats:edit': unusedStream,
  } satisfies StreamHandlers
  const router = createRouter({ invoke: invoke as unknown as InvokeHandlers, stream, isTrustedSender: (url) => url === TRUSTED })
  const events: StreamEvent[] = []
  const sender = (url = TRUSTED, id = 1, isMainFrame = true): Sender => ({
    id,
    url,
    isMainFrame,
    send: (channel, payload) => channel === STREAM_EVENT && events.push(payload as StreamEvent),
  })
  return { router, invoke, generate, events, sender }
}

const streamId = '6f1c1d8e-2a4b-4c1e-9f7a-2b3c4d5e6f70'

describe('IPC router', () => {
  it('answers a valid request', async () => {
    const { router, sender } = setup()
    await expect(router.invoke(sender(), 'engine:status', undefined)).resolves.toEqual({ ok: true, value: { state: 'idle' } })
  })

  it('rejects an unknown channel without calling anything', async () => {
    const { router, sender, invoke } = setup()
    const result = await router.invoke(sender(), 'fs:readFile', { path: '/etc/passwd' })
    expect(result).toEqual({ ok: false, error: { code: 'unknown-channel', message: 'unknown channel "fs:readFile"' } })
    expect(Object.values(invoke).every((f) => f.mock.calls.length === 0)).toBe(true)
  })

  it('rejects a payload of the wrong type with the field that is wrong', async () => {
    const { router, sender, invoke } = setup()
    const result = await router.invoke(sender(), 'engine:load', { modelPath: 42 })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('invalid-payload')
    expect(result.error.message).toMatch(/^engine:load: modelPath: /)
    expect(invoke['engine:load']).not.toHaveBeenCalled()
  })

  it('rejects unexpected extra fields', async () => {
    const { router, sender, invoke } = setup()
    const result = await router.invoke(sender(), 'engine:load', { modelPath: '/m.gguf', nodeIntegration: true })
    expect(result.ok || result.error.code).toBe('invalid-payload')
    expect(invoke['engine:load']).not.toHaveBeenCalled()
  })

  it('refuses download and library requests that could reach outside the models folder or the hub', async () => {
    const { router, sender, invoke } = setup()
    const refused = [
      ['downloads:start', { source: 'hub', repo: 'org/repo', model: '../../evil.gguf', mmproj: null }],
      ['downloads:start', { source: 'hub', repo: 'org/repo', model: '/etc/x.gguf', mmproj: null }],
      ['downloads:start', { source: 'hub', repo: 'org/repo', model: 'dir/.hidden.gguf', mmproj: null }],
      ['downloads:start', { source: 'hub', repo: 'org/repo', model: 'model.bin', mmproj: null }],
      ['downloads:start', { source: 'hub', repo: 'https://evil.example/x', model: 'a.gguf', mmproj: null }],
      ['downloads:start', { source: 'url', url: 'https://evil.example/a.gguf' }],
      ['downloads:pause', { id: '../x' }],
      ['models:delete', { path: '' }],
      ['models:search', { query: 'x' }],
      ['models:import', { mode: 'move' }],
    ] as const
    for (const [channel, payload] of refused) {
      const result = await router.invoke(sender(), channel, payload)
      expect(result.ok || result.error.code, `${channel} ${JSON.stringify(payload)}`).toBe('invalid-payload')
    }
    expect(Object.values(invoke).every((f) => f.mock.calls.length === 0)).toBe(true)
    invoke['downloads:start'].mockResolvedValueOnce(null)
    const ok = await router.invoke(sender(), 'downloads:start', {
      source: 'hub',
      repo: 'ggml-org/SmolVLM-500M-Instruct-GGUF',
      model: 'sub/SmolVLM-500M-Instruct-Q8_0.gguf',
      mmproj: 'mmproj-SmolVLM-500M-Instruct-Q8_0.gguf',
    })
    expect(ok.ok).toBe(true)
  })

  it('rejects an oversized string before it reaches a handler', async () => {
    const { router, sender, generate } = setup()
    const huge = 'a'.repeat(LIMITS.textChars + 1)
    const result = await router.startStream(sender(), {
      channel: 'chat:generate',
      streamId,
      request: { messages: [{ role: 'user', text: huge }] },
    })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error.code).toBe('invalid-payload')
    expect(result.error.message).toContain('messages.0.text')
    expect(generate).not.toHaveBeenCalled()
    expect(router.activeStreams()).toBe(0)
  })

  it('rejects requests from a page that is not ours', async () => {
    const { router, sender, invoke } = setup()
    const result = await router.invoke(sender('https://evil.example/'), 'app:info', undefined)
    expect(result).toEqual({
      ok: false,
      error: { code: 'untrusted-sender', message: 'requests from https://evil.example are not accepted' },
    })
    expect(invoke['app:info']).not.toHaveBeenCalled()
  })

  it('rejects requests from a frame inside our page, even one with our URL', async () => {
    const { router, sender, invoke, generate, events } = setup()
    const subframe = sender(TRUSTED, 1, false)
    const refused = {
      ok: false,
      error: { code: 'untrusted-sender', message: 'requests from a frame inside a page (app://renderer) are not accepted' },
    }
    expect(await router.invoke(subframe, 'app:info', undefined)).toEqual(refused)
    expect(
      await router.startStream(subframe, { channel: 'chat:generate', streamId, request: { messages: [{ role: 'user', text: 'hi' }] } }),
    ).toEqual(refused)
    expect(invoke['app:info']).not.toHaveBeenCalled()
    expect(generate).not.toHaveBeenCalled()
    // Nor can it cancel what the page itself started.
    await router.startStream(sender(), { channel: 'chat:generate', streamId, request: { messages: [{ role: 'user', text: 'hi' }] } })
    expect(await router.cancelStream(subframe, { streamId })).toEqual(refused)
    await vi.waitFor(() => expect(events.length).toBeGreaterThan(3))
    expect(events.some((e) => e.type === 'end')).toBe(false)
    expect(router.activeStreams()).toBe(1)
    router.releaseSender(1)
    await vi.waitFor(() => expect(router.activeStreams()).toBe(0))
  })

  it('returns handler errors as clear wire errors', async () => {
    const { router, sender } = setup()
    await expect(router.invoke(sender(), 'engine:load', { modelPath: '/nope.gguf' })).resolves.toEqual({
      ok: false,
      error: { code: 'bad-model-file', message: 'Model file not found: /nope.gguf' },
    })
  })

  it('streams chunks, then end, and cancel stops the stream', async () => {
    const { router, sender, events } = setup()
    expect(
      await router.startStream(sender(), { channel: 'chat:generate', streamId, request: { messages: [{ role: 'user', text: 'hi' }] } }),
    ).toEqual({ ok: true, value: null })
    await vi.waitFor(() => expect(events.length).toBeGreaterThan(3))
    // Another window cannot cancel this stream.
    await router.cancelStream(sender(TRUSTED, 2), { streamId })
    await new Promise((r) => setTimeout(r, 20))
    expect(events.some((e) => e.type === 'end')).toBe(false)
    await router.cancelStream(sender(), { streamId })
    await vi.waitFor(() => expect(events.at(-1)?.type).toBe('end'))
    const done = events.at(-2)
    expect(
      done?.type === 'chunk' &&
        (done.chunk as GenerateChunk).kind === 'done' &&
        (done.chunk as { stats: { stopReason: string } }).stats.stopReason,
    ).toBe('cancelled')
    expect(events.length).toBeLessThan(500)
    expect(router.activeStreams()).toBe(0)
  })

  it("takes a question's one-off 'leave out the oldest turns', and nothing else in its place", async () => {
    const asked: unknown[] = []
    // eslint-disable-next-line require-yield -- only what it was asked matters here
    const take = async function* (request: unknown): AsyncGenerator<never> {
      asked.push(request)
    }
    const router = createRouter({
      invoke: setup().invoke as unknown as InvokeHandlers,
      stream: { 'chat:generate': unusedStream, 'chats:send': take, 'chats:regenerate': take, 'chats:edit': take },
      isTrustedSender: (url) => url === TRUSTED,
    })
    const from: Sender = { id: 7, url: TRUSTED, isMainFrame: true, send: () => undefined }
    const chatId = '11111111-2222-4333-8444-555555555555'
    const messageId = '21111111-2222-4333-8444-555555555555'
    const requests = [
      ['chats:send', { chatId, text: 'And now?' }],
      ['chats:regenerate', { chatId, messageId }],
      ['chats:edit', { chatId, messageId, text: 'And now?' }],
    ] as const
    let n = 0
    const start = (channel: string, request: unknown) =>
      router.startStream(from, { channel, streamId: `6f1c1d8e-2a4b-4c1e-9f7a-2b3c4d5e6f${String(n++).padStart(2, '0')}`, request })
    for (const [channel, request] of requests) {
      for (const wrong of ['stop', 'drop-all', true, 1]) {
        const result = await start(channel, { ...request, contextFull: wrong })
        expect(result.ok || result.error.code, `${channel} ${String(wrong)}`).toBe('invalid-payload')
      }
      expect((await start(channel, { ...request, contextFull: 'drop-oldest' })).ok).toBe(true)
    }
    await vi.waitFor(() => expect(asked).toHaveLength(3))
    for (const request of asked) expect(request).toMatchObject({ contextFull: 'drop-oldest' })
    router.releaseSender(7)
  })

  it('refuses a stream id that is in use or malformed', async () => {
    const { router, sender } = setup()
    const start = { channel: 'chat:generate', streamId, request: { messages: [{ role: 'user', text: 'hi' }] } }
    await router.startStream(sender(), start)
    const again = await router.startStream(sender(), start)
    expect(again.ok || again.error.code).toBe('duplicate-stream')
    const bad = await router.startStream(sender(), { ...start, streamId: '../../x' })
    expect(bad.ok || bad.error.code).toBe('invalid-payload')
    router.releaseSender(1)
  })
})
