// The local OpenAI-compatible server, driven by the official openai client and by raw
// HTTP, on the real engine and the tiny models.
import { request as httpRequest } from 'node:http'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { engineStateFeed, startApiServer, type ApiServer } from '../../electron/api/server.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import type { EngineState, GenerationStats } from '../../electron/ipc/contract.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const TOKEN = 'test-token-0123456789'
const MODEL = 'tiny-llama-f32'
let fx: FixturePaths
let engine: EngineClient
let scheduler: GenerationScheduler
let server: ApiServer
let client: OpenAI
const finished: { id: string; stats: GenerationStats | null; disconnected: boolean; at: number }[] = []
const engineStates = engineStateFeed()

beforeAll(async () => {
  fx = await ensureFixtures()
  engine = startEngine(engineStates.publish)
  scheduler = new GenerationScheduler(engine, 32)
  server = await startApiServer({
    scheduler,
    engineState: () => engine.state(),
    watchEngineState: engineStates.watch,
    token: TOKEN,
    port: 0,
    limits: { bodyBytes: 2 * 1024 * 1024 },
    onFinished: (e) => finished.push(e),
  })
  client = new OpenAI({ apiKey: TOKEN, baseURL: server.url, maxRetries: 0 })
})
afterAll(async () => {
  await server?.close()
  await engine?.dispose()
})

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: () => { error?: { message: string; type: string; code: string | null; param: string | null } } & Record<string, unknown>
}
function raw(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const dataUrl = async (colour: string): Promise<string> =>
  `data:image/png;base64,${Buffer.from(await solidPng(96, 64, colour)).toString('base64')}`

describe('before a model is loaded', () => {
  it('lists no models and answers 503 for completions, in OpenAI’s error shape', async () => {
    expect((await client.models.list()).data).toEqual([])
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error).toMatchObject({ status: 503, code: 'model_not_loaded', type: 'server_error' })
  })
})

describe('with the text model', () => {
  beforeAll(async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
  })

  it('lists the loaded model', async () => {
    expect((await client.models.list()).data).toEqual([{ id: MODEL, object: 'model', created: 0, owned_by: 'local' }])
  })

  it('answers without streaming, with usage and the finish reason', async () => {
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
      max_tokens: 12,
      temperature: 0,
      seed: 3,
    })
    expect(res.object).toBe('chat.completion')
    expect(res.choices).toHaveLength(1)
    expect(res.choices[0]).toMatchObject({ index: 0, finish_reason: 'length', message: { role: 'assistant' } })
    expect(res.choices[0]!.message.content!.length).toBeGreaterThan(0)
    expect(res.usage).toMatchObject({ completion_tokens: 12 })
    expect(res.usage!.prompt_tokens).toBeGreaterThan(3)
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + 12)
    // Asked again, the same prompt is already in the API's sequence: its tokens come from the cache.
    const again = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
      max_tokens: 12,
      temperature: 0,
      seed: 3,
    })
    expect(again.usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0)
    expect(again.usage!.prompt_tokens_details!.cached_tokens).toBeLessThanOrEqual(again.usage!.prompt_tokens)
  })

  it('streams over SSE, and the streamed text equals the non-streamed answer for the same seed', async () => {
    const params = {
      model: MODEL,
      messages: [{ role: 'user' as const, content: 'Same question' }],
      max_tokens: 20,
      temperature: 0,
      seed: 5,
    }
    const whole = await client.chat.completions.create(params)
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } })
    let text = ''
    let finish: string | null = null
    let chunks = 0
    let completionTokens = 0
    for await (const chunk of stream) {
      chunks++
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens
      const choice = chunk.choices[0]
      if (!choice) continue
      text += choice.delta.content ?? ''
      finish = choice.finish_reason ?? finish
    }
    expect(chunks).toBeGreaterThan(2)
    expect(text).toBe(whole.choices[0]!.message.content)
    expect(finish).toBe('length')
    expect(completionTokens).toBe(20)
  })

  it('honours stop sequences', async () => {
    const free = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stop test' }],
      max_tokens: 40,
      temperature: 0,
      seed: 1,
    })
    const text = free.choices[0]!.message.content!
    const stopAt = text.slice(10, 12)
    const stopped = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stop test' }],
      max_tokens: 40,
      temperature: 0,
      seed: 1,
      stop: [stopAt],
    })
    expect(stopped.choices[0]!.finish_reason).toBe('stop')
    expect(stopped.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(stopAt)))
  })

  it('refuses an image when the loaded model cannot see', async () => {
    const error = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what?' },
              { type: 'image_url', image_url: { url: await dataUrl('#ff0000') } },
            ],
          },
        ],
      })
      .catch((e: unknown) => e)
    // Refused at the boundary, before the queue, with the field named.
    expect(error).toMatchObject({ status: 400, code: 'no-vision', param: 'messages' })
  })

  it('stops generating within 100 ms when a streaming client disconnects', async () => {
    finished.length = 0
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'never stop' }], max_tokens: 30_000, stream: true })
    let disconnectedAt = 0
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        },
        (res) => {
          let events = 0
          res.on('data', (c: Buffer) => {
            events += c.toString().split('data: ').length - 1
            if (events > 5 && !disconnectedAt) {
              disconnectedAt = performance.now()
              req.destroy()
              resolve()
            }
          })
        },
      )
      req.on('error', () => undefined)
      req.end(body)
      setTimeout(() => reject(new Error('no events')), 10_000)
    })
    await expect.poll(() => finished.length, { timeout: 2000, interval: 5 }).toBe(1)
    expect(finished[0]).toMatchObject({ disconnected: true, stats: { stopReason: 'cancelled' } })
    expect(finished[0]!.stats!.tokensOut).toBeLessThan(30_000)
    expect(finished[0]!.at - disconnectedAt).toBeLessThan(100)
  })

  it('serves 20 concurrent clients with no failed or mixed-up answers', async () => {
    const prompts = Array.from({ length: 20 }, (_, i) => `Client number ${i} asks about picture ${i * 7}`)
    const ask = (content: string) =>
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 16, temperature: 0, seed: 42 })
    // What each prompt gets alone, one after another...
    const sequential: string[] = []
    for (const p of prompts) sequential.push((await ask(p)).choices[0]!.message.content!)
    // ...must be what it gets when all twenty arrive at once.
    const concurrent = await Promise.all(prompts.map((p, i) => (i % 2 ? ask(p) : collectStream(p))))
    const texts = concurrent.map((r) => (typeof r === 'string' ? r : r.choices[0]!.message.content!))
    expect(texts).toEqual(sequential)
    expect(new Set(sequential).size).toBeGreaterThan(15)
  })

  async function collectStream(content: string): Promise<string> {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content }],
      max_tokens: 16,
      temperature: 0,
      seed: 42,
      stream: true,
    })
    let text = ''
    for await (const c of stream) text += c.choices[0]?.delta.content ?? ''
    return text
  }

  it('answers with null in every optional field', async () => {
    const nulls = {
      stream: null,
      stream_options: null,
      n: null,
      stop: null,
      seed: null,
      temperature: null,
      top_p: null,
      max_tokens: null,
      max_completion_tokens: null,
      response_format: null,
    }
    const res = await raw(
      'POST',
      '/v1/chat/completions',
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...nulls }),
    )
    expect(res.status, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: expect.any(String) } }],
    })
  })

  it('continues an answer when the assistant message comes last', async () => {
    await expectPrefillContinues()
  })

  it('answers 600 short alternating messages, or refuses them as too long for the context: never 500', async () => {
    await expectLongConversationHandled()
  })

  it('an answer cut by the context finishes with length', async () => {
    await expectCutByContext()
  })

  it('a request sent while the engine reloads after a crash waits for the reload and is answered', async () => {
    const seen: EngineState['state'][] = []
    const stopWatching = engineStates.watch((state) => seen.push(state.state))
    engine.killForTesting()
    await expect.poll(() => engine.state().state).toBe('crashed')
    expect(engine.state()).toMatchObject({ state: 'crashed', restarting: true })
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'after the crash' }],
      max_tokens: 4,
    })
    stopWatching()
    expect(res.choices[0]!.message.content!.length).toBeGreaterThan(0)
    expect(seen).toEqual(['crashed', 'ready'])
  })
})

/**
 * The first pieces of an answer, sent back as the assistant's last message, are continued:
 * the prompt is the question's plus exactly the prefix's tokens (no end of turn and no new
 * answer opened after it), and the answer goes on from there. (Which token comes next is
 * not compared: the tiny model's logits are so flat that batch and one-by-one evaluation
 * of the same tokens pick different ones.)
 */
async function expectPrefillContinues(): Promise<void> {
  const params = { model: MODEL, max_tokens: 24, temperature: 0, seed: 11 }
  const question = { role: 'user' as const, content: 'Tell me a story.' }
  // Streamed pieces are one token each here, so the prefix's token count is its piece count.
  const pieces: string[] = []
  for await (const c of await client.chat.completions.create({ ...params, messages: [question], stream: true }))
    if (c.choices[0]?.delta.content) pieces.push(c.choices[0].delta.content)
  const fresh = await client.chat.completions.create({ ...params, messages: [question] })
  for (const cut of [1, 4, 9]) {
    const continued = await client.chat.completions.create({
      ...params,
      max_tokens: 4,
      messages: [question, { role: 'assistant', content: pieces.slice(0, cut).join('') }],
    })
    expect(continued.usage!.prompt_tokens, `cut at ${cut}`).toBe(fresh.usage!.prompt_tokens + cut)
    expect(continued.usage!.completion_tokens).toBe(4)
    expect(continued.choices[0]!.message.content!.length).toBeGreaterThan(0)
  }
}

/** 600 messages of a few tokens each are more than the 4096-token context holds. */
async function expectLongConversationHandled(): Promise<void> {
  for (const messages of [
    Array.from({ length: 600 }, (_, i) => ({ role: i % 2 ? ('assistant' as const) : ('user' as const), content: `message ${i}` })),
    // Only questions: nothing for a context shift to drop (this one was a 500).
    Array.from({ length: 600 }, (_, i) => ({ role: 'user' as const, content: `question ${i}` })),
  ]) {
    const res = await raw('POST', '/v1/chat/completions', JSON.stringify({ model: MODEL, messages, max_tokens: 8 }))
    expect(res.status, res.body).toBe(400)
    expect(res.json().error).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
      message: expect.stringMatching(/needs \d+ tokens.*the context holds 4096/),
    })
  }
}

/** A prompt that nearly fills the context, and room asked for far more answer than is left. */
async function expectCutByContext(): Promise<void> {
  const messages = [{ role: 'user' as const, content: 'word '.repeat(900) }]
  const res = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 4000, temperature: 0, seed: 2 })
  expect(res.choices[0]!.finish_reason).toBe('length')
  expect(res.usage!.completion_tokens).toBeLessThan(4000)
  expect(res.usage!.total_tokens).toBeLessThanOrEqual(4096)
  const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 4000, temperature: 0, seed: 2, stream: true })
  let finish: string | null = null
  for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish
  expect(finish).toBe('length')
}

describe('with model + mmproj', () => {
  beforeAll(async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
  })

  it('answers about an image sent as a data URL, streaming and not', async () => {
    const messages = [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: 'What colour is this?' },
          { type: 'image_url' as const, image_url: { url: await dataUrl('#00ff00') } },
        ],
      },
    ]
    const res = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0, seed: 9 })
    expect(res.usage!.prompt_tokens).toBeGreaterThan(16)
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 10, temperature: 0, seed: 9, stream: true })
    let text = ''
    for await (const c of stream) text += c.choices[0]?.delta.content ?? ''
    expect(text).toBe(res.choices[0]!.message.content)
  })

  it('refuses remote image URLs and, by default, local file URLs', async () => {
    for (const [url, code] of [
      ['https://example.com/cat.png', 'invalid_image_url'],
      ['file:///etc/passwd', 'file_urls_disabled'],
      ['data:image/png;base64,bm90IGFuIGltYWdl', 'invalid_image'],
    ] as const) {
      const error = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
        .catch((e: unknown) => e)
      expect(error, url).toMatchObject({ status: 400, code })
    }
  })

  it('continues an answer when the assistant message comes last', async () => {
    await expectPrefillContinues()
  })

  it('refuses 600 short messages as too long for the context', async () => {
    await expectLongConversationHandled()
  })

  it('an answer cut by the context finishes with length', async () => {
    await expectCutByContext()
  })

  it('refuses too many images', async () => {
    const url = await dataUrl('#123456')
    const content = Array.from({ length: 9 }, () => ({ type: 'image_url' as const, image_url: { url } }))
    const error = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] }).catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, code: 'too_many_images' })
  })
})

describe('bad requests get 4xx with a clear message', () => {
  it('no or wrong API key: 401', async () => {
    const none = await raw('GET', '/v1/models', undefined, {})
    expect(none.status).toBe(401)
    expect(none.json().error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' })
    const wrong = await new OpenAI({ apiKey: 'nope', baseURL: server.url, maxRetries: 0 }).models.list().catch((e: unknown) => e)
    expect(wrong).toMatchObject({ status: 401 })
  })

  it('malformed JSON: 400', async () => {
    const res = await raw('POST', '/v1/chat/completions', '{"model": "x", "messages": [')
    expect(res.status).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'invalid_json', message: expect.stringMatching(/^The request body is not valid JSON/) })
  })

  it('wrong field types: 400 naming the field', async () => {
    const res = await raw(
      'POST',
      '/v1/chat/completions',
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 'lots' }),
    )
    expect(res.status).toBe(400)
    expect(res.json().error!.message).toContain('max_tokens')
  })

  it('an unknown model: 404', async () => {
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' })
    expect((error as Error).message).toContain(`the loaded model is '${MODEL}'`)
  })

  it('an oversized body: 413', async () => {
    const res = await raw('POST', '/v1/chat/completions', Buffer.alloc(3 * 1024 * 1024, 'a'))
    expect(res.status).toBe(413)
    expect(res.json().error!.code).toBe('request_too_large')
  })

  it('an unknown endpoint: 404, and the wrong method: 405 with Allow', async () => {
    expect((await raw('GET', '/v1/embeddings')).status).toBe(404)
    const wrong = await raw('GET', '/v1/chat/completions')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('POST')
    const post = await raw('POST', '/v1/models', '{}')
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET')
  })
})
