// The remote engine against a real llama-server (built from the llama.cpp node-llama-cpp ships,
// npm run build:llama-server) serving the generated tiny model with its mmproj on 127.0.0.1.
// Asserts structure and counts, never sentences: the tiny model's words are noise.
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findLlamaServer, startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import type { GenerateChunk, GenerateRequest } from '../../electron/engine/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import { overflowNumbers } from '../../electron/engine/context-limit.js'
import { listModels, RemoteEngine, testConnection, type RemoteEndpoint } from '../../electron/remote/remote-engine.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'

const bin = await findLlamaServer()
if (!bin.found) console.warn(`[remote] skipping the llama-server tests: ${bin.reason}`)

/**
 * The tiny model may pick its end-of-sequence token at any point; llama-server's ignore_eos,
 * slipped into the body here, makes answers as long as a test needs without a new engine option.
 */
const ignoreEos: typeof fetch = (input, init) => {
  const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : null
  return fetch(input, body?.messages ? { ...init, body: JSON.stringify({ ...body, ignore_eos: true }) } : init)
}

async function slotsBusy(server: LlamaServer): Promise<boolean> {
  const slots = (await (await fetch(`${server.url}/slots`)).json()) as { is_processing: boolean }[]
  return slots.some((s) => s.is_processing)
}

describe.skipIf(!bin.found)('remote engine against llama-server', () => {
  let fx: FixturePaths
  let server: LlamaServer
  let endpoint: RemoteEndpoint
  let model: string
  let png: Uint8Array

  beforeAll(async () => {
    fx = await ensureFixtures()
    server = await startLlamaServer({ binary: (bin as { path: string }).path, model: fx.textModel, mmproj: fx.mmproj })
    endpoint = { baseUrl: `${server.url}/v1`, apiKey: null, allowUnencrypted: false }
    model = (await listModels(endpoint))[0]!.id
    png = new Uint8Array(
      await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 30, g: 140, b: 200 } } })
        .png()
        .toBuffer(),
    )
  })
  afterAll(async () => {
    await server?.stop()
  })

  async function answer(request: GenerateRequest, engine = new RemoteEngine(endpoint, model)) {
    const tokens: Extract<GenerateChunk, { kind: 'tokens' }>[] = []
    let done: Extract<GenerateChunk, { kind: 'done' }> | null = null
    for await (const c of engine.generate(request)) {
      if (c.kind === 'tokens') tokens.push(c)
      else done = c
    }
    return { tokens, done: done! }
  }

  it('the connection test lists the model, measures latency and finds images accepted', async () => {
    const report = await testConnection(endpoint)
    expect(report).toMatchObject({ models: [model], images: 'accepted', model })
    expect(report.latencyMs).toBeLessThan(1000)
  })

  it('streams a text answer with counts from the server', async () => {
    const { tokens, done } = await answer(
      { messages: [{ role: 'user', text: 'Count to ten.' }], sampling: { maxTokens: 24, seed: 7 } },
      new RemoteEngine(endpoint, model, { fetch: ignoreEos }),
    )
    expect(tokens.length).toBeGreaterThan(0)
    expect(tokens.every((t) => t.count >= 1 && t.text.length > 0)).toBe(true)
    const streamed = tokens.reduce((n, t) => n + t.count, 0)
    expect(done.stats).toMatchObject({ tokensOut: 24, stopReason: 'max-tokens', imageTokens: 0 })
    // llama-server holds back a token's text while it may be half a UTF-8 character or a stop word.
    expect(streamed).toBeGreaterThan(1)
    expect(streamed).toBeLessThanOrEqual(24)
    expect(done.stats.tokensIn).toBeGreaterThan(5)
    expect(done.stats.cachedTokens).toBeGreaterThanOrEqual(0)
    expect(done.stats.timeToFirstTokenMs).toBeGreaterThan(0)
    expect(done.stats.tokensPerSecond).toBeGreaterThan(0)
    expect(done.stats.totalMs).toBeGreaterThanOrEqual(done.stats.timeToFirstTokenMs!)
  })

  it('streams an answer about an image, the image adding prompt tokens', async () => {
    const text = await answer({ messages: [{ role: 'user', text: 'What is this?' }], sampling: { maxTokens: 8 } })
    const image = await answer({
      messages: [{ role: 'user', text: 'What is this?', images: [{ bytes: png }] }],
      sampling: { maxTokens: 8 },
    })
    expect(image.tokens.length).toBeGreaterThan(0)
    expect(image.done.stats.tokensOut).toBeGreaterThan(0)
    // The fixture's projector turns a 64x64 image into (64/16)^2 = 16 embeddings.
    expect(image.done.stats.tokensIn - text.done.stats.tokensIn).toBeGreaterThanOrEqual(16)
  })

  it('a prompt longer than the server’s context is a context overflow, which the chat service answers by dropping old turns', async () => {
    const engine = new RemoteEngine(endpoint, model)
    const error = await answer(
      { messages: [{ role: 'user', text: 'lighthouse keeper '.repeat(3000) }], sampling: { maxTokens: 4 } },
      engine,
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('context-overflow')
    // The numbers llama-server gave, in the engine's own sentence: the chat reads them back to
    // leave out enough at once, and the engine keeps the context for the next question.
    expect((error as AppError).message).toMatch(/^The conversation needs \d+ tokens; the context holds 4096\. /)
    expect(overflowNumbers((error as AppError).message)).toMatchObject({ contextSize: 4096 })
    expect(overflowNumbers((error as AppError).message)!.needed).toBeGreaterThan(4096)
    expect(engine.contextSize).toBe(4096)
  })

  it('llama-server’s /props says its context before any question', async () => {
    const engine = new RemoteEngine({ ...endpoint, baseUrl: `${server.url}/v1/` }, 'another-name')
    expect(engine.contextSize).toBeNull()
    await engine.readServerFacts()
    expect(engine.contextSize).toBe(4096)
  })

  it('stop aborts the request and llama-server’s slot is idle within 200 ms', async () => {
    for (const how of ['signal', 'break'] as const) {
      const controller = new AbortController()
      const engine = new RemoteEngine(endpoint, model, { fetch: ignoreEos })
      let received = 0
      let stopReason: string | null = null
      for await (const c of engine.generate(
        { messages: [{ role: 'user', text: 'Go on forever.' }], sampling: { maxTokens: 3500 } },
        controller.signal,
      )) {
        if (c.kind === 'done') stopReason = c.stats.stopReason
        else if (received < 5 && (received += c.count) >= 5) {
          expect(await slotsBusy(server)).toBe(true)
          if (how === 'signal') controller.abort()
          else break
        }
      }
      const stoppedAt = performance.now()
      if (how === 'signal') expect(stopReason).toBe('cancelled')
      while (await slotsBusy(server)) {
        expect(performance.now() - stoppedAt, `${how}: slot still busy`).toBeLessThan(200)
        await new Promise((r) => setTimeout(r, 5))
      }
      console.log(`[remote] ${how}: slot idle ${(performance.now() - stoppedAt).toFixed(1)} ms after stop`)
      expect(performance.now() - stoppedAt).toBeLessThan(200)
    }
  })

  it('a stopped answer says the prompt’s tokens, from the progress llama-server sends once it is known as llama-server', async () => {
    const ask = { messages: [{ role: 'user' as const, text: 'Tell me about lighthouses.' }], sampling: { maxTokens: 3500, seed: 2 } }
    const whole = await answer({ ...ask, sampling: { maxTokens: 4, seed: 2 } })
    const engine = new RemoteEngine(endpoint, model, { fetch: ignoreEos })
    await engine.readServerFacts()
    const controller = new AbortController()
    let received = 0
    let done: Extract<GenerateChunk, { kind: 'done' }> | null = null
    for await (const c of engine.generate(ask, controller.signal)) {
      if (c.kind === 'done') done = c
      else if ((received += c.count) >= 3) controller.abort()
    }
    expect(done!.stats.stopReason).toBe('cancelled')
    expect(done!.stats.tokensOut).toBe(received)
    // Before, "0 in": the usage comes only at the end.
    expect(done!.stats.tokensIn).toBe(whole.done.stats.tokensIn)
    expect(done!.stats.cachedTokens).toBeGreaterThan(0)
  })

  it('a text-only server with a key: a wrong key, a wrong path, then images refused with the right key', async () => {
    const textOnly = await startLlamaServer({
      binary: (bin as { path: string }).path,
      model: fx.textModel,
      extraArgs: ['--api-key', 'right-key'],
    })
    try {
      const at = (apiKey: string | null, path = '/v1'): RemoteEndpoint => ({
        baseUrl: `${textOnly.url}${path}`,
        apiKey,
        allowUnencrypted: false,
      })
      await expect(testConnection(at('wrong-key'))).rejects.toThrow('The server refused the API key (401).')
      await expect(listModels(at(null))).rejects.toThrow(/asks for an API key \(401\)/)
      const wrong = new RemoteEngine(at('wrong-key'), model)
      await expect(answer({ messages: [{ role: 'user', text: 'hi' }] }, wrong)).rejects.toThrow('The server refused the API key (401).')
      await expect(listModels(at('right-key', '/api'))).rejects.toThrow(`No OpenAI-compatible API at ${textOnly.url}/api (404).`)
      expect(await testConnection(at('right-key'))).toMatchObject({ images: 'refused', model })
      const refused = answer(
        { messages: [{ role: 'user', text: 'What is this?', images: [{ bytes: png }] }] },
        new RemoteEngine(at('right-key'), model),
      )
      await expect(refused).rejects.toThrow(
        `The model “${model}” on this server does not accept images (500): image input is not supported`,
      )
    } finally {
      await textOnly.stop()
    }
  })

  it('a server killed mid-answer: the tokens so far, then a clear error', async () => {
    const doomed = await startLlamaServer({ binary: (bin as { path: string }).path, model: fx.textModel, threads: 1 })
    try {
      const engine = new RemoteEngine({ ...endpoint, baseUrl: `${doomed.url}/v1` }, model, { fetch: ignoreEos })
      let received = 0
      let error: unknown = null
      try {
        for await (const c of engine.generate({ messages: [{ role: 'user', text: 'Talk.' }], sampling: { maxTokens: 3500 } })) {
          if (c.kind !== 'tokens') continue
          const before = received
          received += c.count
          if (before < 10 && received >= 10) doomed.process.kill('SIGKILL')
        }
      } catch (e) {
        error = e
      }
      expect(received).toBeGreaterThanOrEqual(10)
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('remote')
      expect((error as AppError).message).toMatch(new RegExp(`The server at ${doomed.url} stopped answering after ${received} tokens`))
    } finally {
      await doomed.stop()
    }
  })
})
