// The local API's edges that do not need a model: the engine behind the scheduler is a
// script here, so engine states (a crash and its reload, a load), engine errors and stop
// reasons can be set exactly; the HTTP side (the Host check, CORS, auth, methods, bodies
// over the limit, nulls, fields not honoured) is driven by raw HTTP, Node's fetch and the
// openai client.
import { execFileSync } from 'node:child_process'
import { open, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { engineStateFeed, startApiServer, type ApiLimits, type ApiServer } from '../../electron/api/server.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineInfo, EngineState, GenerateChunk, GenerateRequest, GenerationStats } from '../../electron/ipc/contract.js'
import { LIMITS } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import { scratchDir } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const TOKEN = 'edge-token-0123456789'
const MODEL = 'fake-model'
const INFO: EngineInfo = {
  modelPath: `/models/${MODEL}.gguf`,
  mmprojPath: null,
  binding: 'node-llama-cpp',
  backend: 'cpu',
  gpuName: null,
  gpuLayers: 0,
  totalLayers: 1,
  contextSize: 4096,
  vision: false,
  fallback: null,
  loadMs: 1,
  memory: { vramBytes: 0, ramBytes: 1 },
}
const READY: EngineState = { state: 'ready', info: INFO }
const RELOADING: EngineState = {
  state: 'crashed',
  message: 'The engine process was killed (SIGKILL). It has been restarted; try again.',
  restarting: true,
}

const stats = (stopReason: GenerationStats['stopReason'], tokensOut = 2): GenerationStats => ({
  tokensIn: 5,
  tokensOut,
  imageTokens: 0,
  timeToFirstTokenMs: 1,
  tokensPerSecond: null,
  totalMs: 2,
  stopReason,
})

/** What the scripted engine answers: two tokens, then the end of the answer. */
async function* hello(): AsyncGenerator<GenerateChunk> {
  yield { kind: 'tokens', text: 'Hello', count: 1 }
  yield { kind: 'tokens', text: ' world', count: 1 }
  yield { kind: 'done', stats: stats('eos') }
}

interface Fake {
  server: ApiServer
  client: OpenAI
  /** Sets the engine's state and tells the watchers, as EngineClient's onState does. */
  setState(state: EngineState): void
  /** What reached the engine, in order. */
  requests: GenerateRequest[]
  /** Watchers of the engine's state still subscribed. */
  watchers(): number
}

const servers: ApiServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function fakeServer(
  options: {
    state?: EngineState
    answer?: (request: GenerateRequest) => AsyncIterable<GenerateChunk>
    limits?: Partial<ApiLimits>
    allowedOrigins?: readonly string[]
    allowFileUrls?: boolean
  } = {},
): Promise<Fake> {
  let state = options.state ?? READY
  const feed = engineStateFeed()
  let watchers = 0
  const requests: GenerateRequest[] = []
  const scheduler = new GenerationScheduler({
    generate: (request) => {
      requests.push(request)
      return (options.answer ?? hello)(request)
    },
  })
  const server = await startApiServer({
    scheduler,
    engineState: () => state,
    watchEngineState: (listener) => {
      watchers++
      const stop = feed.watch(listener)
      return () => {
        watchers--
        stop()
      }
    },
    token: TOKEN,
    port: 0,
    limits: options.limits,
    allowedOrigins: options.allowedOrigins,
    allowFileUrls: options.allowFileUrls,
  })
  servers.push(server)
  return {
    server,
    client: new OpenAI({ apiKey: TOKEN, baseURL: server.url, maxRetries: 0 }),
    setState: (next) => {
      state = next
      feed.publish(next)
    },
    requests,
    watchers: () => watchers,
  }
}

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: () => { error?: { message: string; type: string; code: string | null; param: string | null } } & Record<string, unknown>
}

function raw(
  server: ApiServer,
  method: string,
  path: string,
  body?: string,
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

const ask = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...extra })

/** A chat completion with these fields over the default question, as raw HTTP. */
const chat = (server: ApiServer, extra: Record<string, unknown> = {}): Promise<Raw> =>
  raw(server, 'POST', '/v1/chat/completions', ask(extra))

describe('null for optional fields', () => {
  it('is accepted for every optional field, and means the default', async () => {
    const fake = await fakeServer()
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
      // Fields this server does not read are ignored, null or not.
      response_format: null,
      frequency_penalty: null,
      presence_penalty: null,
      logprobs: null,
      user: null,
    }
    const res = await chat(fake.server, nulls)
    expect(res.status, res.body).toBe(200)
    expect(res.json()).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'Hello world' } }] })
    // The defaults, exactly as when the fields are left out.
    await chat(fake.server)
    expect(fake.requests[0]!.sampling).toEqual({ maxTokens: 512, temperature: 1 })
    expect(fake.requests[0]).toEqual(fake.requests[1])
  })

  it('is accepted inside messages, image parts and stream_options', async () => {
    const fake = await fakeServer()
    const stream = await raw(
      fake.server,
      'POST',
      '/v1/chat/completions',
      JSON.stringify({
        model: MODEL,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi' }] },
          { role: 'assistant', content: null },
          { role: 'user', content: 'again' },
        ],
        stream: true,
        stream_options: { include_usage: null },
      }),
    )
    expect(stream.status, stream.body).toBe(200)
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(stream.body.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(stream.body).not.toContain('"usage"')
    // A null detail passes validation; the image is then refused for what it is, not for the null.
    const image = await raw(
      fake.server,
      'POST',
      '/v1/chat/completions',
      JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: null } }] }],
      }),
    )
    expect(image.json().error).toMatchObject({ code: 'invalid_image', param: 'messages.0.content' })
  })
})

describe('authentication', () => {
  it('takes the bearer scheme in any case, and still refuses a wrong key', async () => {
    const fake = await fakeServer()
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await raw(fake.server, 'GET', '/v1/models', undefined, { authorization: `${scheme} ${TOKEN}` })).status, scheme).toBe(200)
    }
    for (const header of [
      `Bearer ${TOKEN.slice(0, -1)}x`,
      `Bearer ${TOKEN}0`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer ',
      `Bearer ${TOKEN} extra`,
    ]) {
      const res = await raw(fake.server, 'GET', '/v1/models', undefined, { authorization: header })
      expect(res.status, header).toBe(401)
      expect(res.json().error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' })
    }
  })
})

describe('methods', () => {
  it('answers 405 with Allow for a wrong method on every known path', async () => {
    const fake = await fakeServer()
    const cases = [
      ['POST', '/v1/models', 'GET'],
      ['DELETE', '/v1/models', 'GET'],
      ['GET', '/v1/chat/completions', 'POST'],
      ['PUT', '/v1/chat/completions/', 'POST'],
      ['PATCH', '/v1/chat/completions', 'POST'],
    ] as const
    for (const [method, path, allow] of cases) {
      // Node's client frames a body only for methods that usually carry one.
      const res = await raw(fake.server, method, path, ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined)
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.allow, `${method} ${path}`).toBe(allow)
      expect(res.json().error).toMatchObject({
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        message: `Use ${allow} for ${path.replace(/\/$/, '')}.`,
      })
    }
    // The openai client reads it as an error with that status.
    await expect(fake.client.post('/models', { body: {} })).rejects.toMatchObject({ status: 405 })
  })
})

describe('a body over the size limit', () => {
  it('gets its 413 when Node’s fetch sends 33 MiB against the default 32 MiB limit', async () => {
    const fake = await fakeServer()
    const body = ask({ padding: 'x'.repeat(33 * 1024 * 1024) })
    const res = await fetch(`${fake.server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    })
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: { code: 'request_too_large', type: 'invalid_request_error' } })
    // A client still writing when the server has decided (here: from the declared length,
    // before the body) is the one that used to get EPIPE instead of the answer.
    for (let run = 0; run < 3; run++) {
      const piece = new TextEncoder().encode('x'.repeat(1024 * 1024))
      let sent = 0
      const slowBody = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5))
          if (sent++ === 33) return controller.close()
          controller.enqueue(piece)
        },
      })
      const slow = await fetch(`${fake.server.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(33 * 1024 * 1024) },
        body: slowBody,
        duplex: 'half',
      } as RequestInit)
      expect(slow.status).toBe(413)
    }
    expect(fake.requests).toHaveLength(0)
    // The server is fine afterwards.
    expect((await fake.client.models.list()).data).toHaveLength(1)
  })

  it('gets its 413 when the body comes in chunks with no declared length', async () => {
    const fake = await fakeServer({ limits: { bodyBytes: 1024 * 1024 } })
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    // 1.5 MiB in 64 KiB pieces: more than the limit, within what the server reads and discards.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 24) return controller.close()
        sent++
        controller.enqueue(chunk)
      },
    })
    const res = await fetch(`${fake.server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(sent).toBe(24)
  })

  it('is refused at once when its declared length is past what the server would read', async () => {
    const fake = await fakeServer({ limits: { bodyBytes: 1024 } })
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: fake.server.port,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(10 * 1024 ** 3) },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      // Only the headers: the answer must not wait for a body that would take ages.
      req.flushHeaders()
    })
    expect(status).toBe(413)
  })

  it('stops reading a client that keeps writing far past the limit', async () => {
    const fake = await fakeServer({ limits: { bodyBytes: 64 * 1024 } })
    const chunk = Buffer.alloc(64 * 1024, 'x')
    let written = 0
    const ended = await new Promise<string>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: fake.server.port,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume()
          resolve(`status ${res.statusCode}`)
        },
      )
      req.on('error', (error) => resolve(error.message))
      // Writes for as long as the server takes it (up to 64 MiB, far past twice the limit).
      const write = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!req.write(chunk)) return void req.once('drain', write)
        }
        req.end()
      }
      write()
    })
    expect(ended).toMatch(/status 413|EPIPE|ECONNRESET|socket hang up/)
    expect(written).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('while the engine reloads its model', () => {
  it('a request waits for the reload after a crash and is answered once the model is back', async () => {
    const fake = await fakeServer({ state: RELOADING })
    const started = performance.now()
    setTimeout(() => fake.setState(READY), 200)
    const res = await fake.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
    expect(res.choices[0]!.message.content).toBe('Hello world')
    expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    expect(fake.watchers()).toBe(0)
  })

  it('a request also waits for a model that is loading', async () => {
    const fake = await fakeServer({ state: { state: 'loading', modelPath: INFO.modelPath } })
    setTimeout(() => fake.setState(READY), 100)
    const res = await chat(fake.server)
    expect(res.status).toBe(200)
  })

  it('the wait ends as soon as the reload fails, with the reason', async () => {
    const fake = await fakeServer({ state: RELOADING, limits: { modelWaitMs: 30_000 } })
    const started = performance.now()
    setTimeout(
      () => fake.setState({ state: 'error', message: 'The engine restarted but the model could not be reloaded: file vanished' }),
      100,
    )
    const res = await chat(fake.server)
    expect(performance.now() - started).toBeLessThan(5000)
    expect(res.status).toBe(503)
    expect(res.json().error).toMatchObject({ type: 'server_error', code: 'model_not_loaded' })
    expect(res.json().error!.message).toMatch(/^The engine restarted but the model could not be reloaded: file vanished/)
    expect(fake.requests).toHaveLength(0)
  })

  it('the wait is bounded: then 503 engine_restarting, which says what happened, with Retry-After', async () => {
    const fake = await fakeServer({ state: RELOADING, limits: { modelWaitMs: 300 } })
    const started = performance.now()
    const res = await chat(fake.server)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(5000)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('2')
    expect(res.json().error).toEqual({
      message: 'The engine crashed and the model is reloading; try again.',
      type: 'server_error',
      param: null,
      code: 'engine_restarting',
    })
    expect(fake.watchers()).toBe(0)
  })

  it('a client that leaves while waiting stops watching the engine', async () => {
    const fake = await fakeServer({ state: RELOADING })
    const leave = new AbortController()
    const pending = fetch(`${fake.server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: ask(),
      signal: leave.signal,
    }).catch((e: unknown) => e)
    await expect.poll(() => fake.watchers()).toBe(1)
    leave.abort()
    await pending
    await expect.poll(() => fake.watchers()).toBe(0)
    expect(fake.requests).toHaveLength(0)
  })

  it('a request lost to a crash after the engine client’s own retry gets 503 engine_restarting, not 500', async () => {
    const fake = await fakeServer({
      // eslint-disable-next-line require-yield -- fails before its first token, as a request queued at the crash does
      answer: async function* () {
        fake.setState(RELOADING)
        throw new AppError('engine-crashed', 'The engine process exited with code 75. It has been restarted; try again.')
      },
    })
    for (const stream of [false, true]) {
      fake.setState(READY)
      const error = await fake.client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream })
        .catch((e: unknown) => e)
      expect(error, `stream: ${stream}`).toBeInstanceOf(OpenAI.APIError)
      expect(error, `stream: ${stream}`).toMatchObject({
        status: 503,
        type: 'server_error',
        code: 'engine_restarting',
        message: expect.stringContaining('The engine crashed and the model is reloading; try again.'),
      })
    }
  })
})

describe('content parts', () => {
  it('a part that is wrong is named to its field, with what is wrong, not "Invalid input"', async () => {
    const fake = await fakeServer()
    const cases: [content: unknown, param: string, message: RegExp][] = [
      [[{ type: 'image_url', image_url: {} }], 'messages.0.content.0.image_url.url', /image_url\.url: .*expected string/],
      [
        [
          { type: 'text', text: 'hi' },
          { type: 'input_audio', input_audio: {} },
        ],
        'messages.0.content.1.type',
        /a content part is of type "text" or "image_url"/,
      ],
      [[{ type: 'text' }], 'messages.0.content.0.text', /content\.0\.text: .*expected string/],
      [42, 'messages.0.content', /content is text, or an array of content parts/],
    ]
    for (const [content, param, message] of cases) {
      const res = await chat(fake.server, { messages: [{ role: 'user', content }] })
      expect(res.status, param).toBe(400)
      expect(res.json().error, param).toMatchObject({ param, code: 'invalid_value' })
      expect(res.json().error!.message, param).toMatch(message)
      expect(res.json().error!.message, param).not.toMatch(/Invalid input$/)
    }
    expect(fake.requests).toHaveLength(0)
  })
})

describe('what the engines could not read', () => {
  it('text with a lone surrogate gets a 400 naming where it is, before the engine is asked', async () => {
    const fake = await fakeServer()
    const lone = await chat(fake.server, { messages: [{ role: 'user', content: 'a\ud800b' }] })
    expect(lone.status).toBe(400)
    expect(lone.json().error).toMatchObject({ param: 'messages.0.content', code: 'invalid_value' })
    expect(lone.json().error!.message).toMatch(/not well-formed Unicode/)
    const tool = { type: 'function', function: { name: 'f', description: 'x\udc00', parameters: { type: 'object' } } }
    const inTool = await chat(fake.server, { tools: [tool] })
    expect(inTool.json().error).toMatchObject({ param: 'tools.0.function.description' })
    expect(fake.requests).toHaveLength(0)
    // A pair is one character, and passes.
    const pair = await chat(fake.server, { messages: [{ role: 'user', content: 'a\ud83d\ude00' }] })
    expect(pair.status).toBe(200)
  })

  it('fields named like members of every object are unknown fields, not known ones', async () => {
    const fake = await fakeServer()
    const res = await chat(fake.server, { constructor: 1, toString: 'x', hasOwnProperty: null })
    expect(res.status).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'unknown_parameter', param: 'constructor' })
    expect(res.json().error!.message).toBe('Unrecognized request arguments supplied: constructor, toString, hasOwnProperty.')
  })

  it('an image in a tool result or beside tool calls gets a 400 naming the message, not dropped unsaid', async () => {
    const fake = await fakeServer()
    const png = `data:image/png;base64,${Buffer.from(await solidPng(8, 8, '#ff0000')).toString('base64')}`
    const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }
    const picture = [
      { type: 'text', text: 'here' },
      { type: 'image_url', image_url: { url: png } },
    ]
    const inResult = await chat(fake.server, {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: picture },
      ],
    })
    expect(inResult.status).toBe(400)
    expect(inResult.json().error).toMatchObject({ param: 'messages.2.content', message: expect.stringMatching(/takes text only/) })
    const besideCalls = await chat(fake.server, {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: picture, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: 'done' },
      ],
    })
    expect(besideCalls.json().error).toMatchObject({ param: 'messages.1.content' })
    expect(fake.requests).toHaveLength(0)
  })

  it('a body that is not an object gets a 400 with no field named (param null, not "")', async () => {
    const fake = await fakeServer()
    for (const body of ['[]', 'null', '"hi"']) {
      const res = await raw(fake.server, 'POST', '/v1/chat/completions', body)
      expect(res.status, body).toBe(400)
      expect(res.json().error!.param, body).toBeNull()
    }
  })

  it('takes a data: URL with media-type parameters, as its syntax allows', async () => {
    const fake = await fakeServer({ state: { state: 'ready', info: { ...INFO, vision: true } } })
    const png = await solidPng(8, 8, '#0000ff')
    const url = `data:image/png;charset=utf-8;name=shot.png;base64,${Buffer.from(png).toString('base64')}`
    const res = await chat(fake.server, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
    expect(res.status).toBe(200)
    expect(Buffer.from(fake.requests[0]!.messages[0]!.images![0]!.bytes).equals(Buffer.from(png))).toBe(true)
  })

  it('a request URL that cannot be read gets a 400, not a 500', async () => {
    const fake = await fakeServer()
    const res = await raw(fake.server, 'GET', 'http://%%/v1/models')
    expect(res.status).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'invalid_url' })
  })
})

describe('requests no engine can answer', () => {
  it('get their 400 at once, naming the field, while another answer holds the engine', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const fake = await fakeServer({
      answer: async function* () {
        await gate
        yield* hello()
      },
    })
    const busy = chat(fake.server)
    await expect.poll(() => fake.requests.length).toBe(1)
    const tool = (name: string, parameters: object = { type: 'object' }) => ({ type: 'function', function: { name, parameters } })
    const withDefs = (name: string, def: object) =>
      tool(name, { type: 'object', properties: { a: { $ref: '#/$defs/x' } }, required: ['a'], $defs: { x: def } })
    const png = `data:image/png;base64,${Buffer.from(await solidPng(8, 8, '#00ff00')).toString('base64')}`
    const cases: [Record<string, unknown>, string][] = [
      [{ messages: [{ role: 'system', content: 'Be brief.' }] }, 'messages'],
      [{ tools: [tool('f'), tool('f')] }, 'tools'],
      [{ tools: [tool('f')], response_format: { type: 'json_object' } }, 'response_format'],
      [
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'tool', tool_call_id: 'never-made', content: 'x' },
          ],
        },
        'messages.1.tool_call_id',
      ],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: png } }] }] }, 'messages'],
      [{ tools: [withDefs('f', { type: 'string' }), withDefs('g', { type: 'null' })], tool_choice: 'required' }, 'tools'],
    ]
    for (const [extra, param] of cases) {
      const started = performance.now()
      const res = await chat(fake.server, extra)
      expect(res.status, param).toBe(400)
      expect(res.json().error, param).toMatchObject({ type: 'invalid_request_error', param })
      // An OpenAI code, not the engine's own name for a refusal.
      expect(res.json().error!.code, param).not.toBe('invalid-payload')
      // Not after the answer in progress: it is still held.
      expect(performance.now() - started, param).toBeLessThan(1000)
    }
    release()
    expect((await busy).status).toBe(200)
    expect(fake.requests).toHaveLength(1)
  })
})

describe('a model switch while a request waits', () => {
  it('refuses the waiting request with 503 model_changed rather than answering it with the other model', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const fake = await fakeServer({
      answer: async function* (request) {
        if (request.messages[0]?.text === 'first') await gate
        yield* hello()
      },
    })
    const first = chat(fake.server, { messages: [{ role: 'user', content: 'first' }] })
    await expect.poll(() => fake.requests.length).toBe(1)
    const waiting = chat(fake.server, { messages: [{ role: 'user', content: 'second' }] })
    await new Promise((r) => setTimeout(r, 50))
    // The app loads another model while the second request waits its turn.
    fake.setState({ state: 'ready', info: { ...INFO, modelPath: '/models/other-model.gguf' } })
    release()
    expect((await first).status).toBe(200)
    const refused = await waiting
    expect(refused.status).toBe(503)
    expect(refused.json().error).toMatchObject({ code: 'model_changed', param: 'model' })
    expect(refused.json().error!.message).toBe(
      "The app switched models while this request waited: 'fake-model' is no longer loaded; 'other-model' is.",
    )
    expect(fake.requests).toHaveLength(1)
  })
})

describe('an answer cut off by an engine crash', () => {
  // Two tokens, then the end the engine client makes of a crash mid-answer.
  async function* cut(): AsyncGenerator<GenerateChunk> {
    yield { kind: 'tokens', text: 'Hello', count: 1 }
    yield { kind: 'tokens', text: ' wor', count: 1 }
    yield { kind: 'done', stats: stats('engine-crashed') }
  }

  it('is a 503 to retry, not a finished answer', async () => {
    const fake = await fakeServer({ answer: cut })
    const res = await chat(fake.server)
    expect(res.status).toBe(503)
    expect(res.json().error).toMatchObject({ code: 'engine_restarting' })
  })

  it('streamed: the text so far, then an error event, and no finish_reason', async () => {
    const fake = await fakeServer({ answer: cut })
    const res = await chat(fake.server, { stream: true })
    expect(res.status).toBe(200)
    const events = res.body
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6))
    expect(events.filter((e) => e.includes('"content":"Hello"') || e.includes('"content":" wor"'))).toHaveLength(2)
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { code: 'engine_restarting' } })
    expect(res.body).not.toMatch(/"finish_reason":"stop"/)
    expect(res.body).not.toContain('[DONE]')
  })
})

describe('context limits', () => {
  it('a prompt that does not fit: 400 context_length_exceeded in OpenAI’s shape, with the engine’s numbers', async () => {
    const message =
      'The conversation needs 6491 tokens; the context holds 4096. Start a new conversation, remove images or shorten the text.'
    const fake = await fakeServer({
      // eslint-disable-next-line require-yield -- refused before any token
      answer: async function* () {
        throw new AppError('context-overflow', message)
      },
    })
    const res = await chat(fake.server)
    expect(res.status).toBe(400)
    expect(res.json()).toEqual({ error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } })
    const error = await fake.client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' })
  })

  it('an answer cut by the context or by max_tokens finishes with length, streamed and not', async () => {
    for (const [stopReason, finish] of [
      ['context-full', 'length'],
      ['max-tokens', 'length'],
      ['eos', 'stop'],
      ['stop-sequence', 'stop'],
    ] as const) {
      const fake = await fakeServer({
        answer: async function* () {
          yield { kind: 'tokens', text: 'cut', count: 1 }
          yield { kind: 'done', stats: stats(stopReason, 1) }
        },
      })
      const whole = await fake.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      expect(whole.choices[0]!.finish_reason, stopReason).toBe(finish)
      const stream = await fake.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true })
      const finishes: (string | null)[] = []
      for await (const chunk of stream) if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason)
      expect(finishes.at(-1), stopReason).toBe(finish)
    }
  })
})

describe('an answer with tool calls', () => {
  const weather = {
    type: 'function' as const,
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  }
  const answering = (stopReason: GenerationStats['stopReason'], args: string) =>
    async function* (): AsyncGenerator<GenerateChunk> {
      yield { kind: 'tokens', text: '', count: 8 }
      yield { kind: 'done', toolCalls: [{ id: 'call_abc', name: 'get_weather', arguments: args }], stats: stats(stopReason, 8) }
    }

  it('cut by max_tokens or the context finishes with length, not tool_calls, streamed and not', async () => {
    for (const [stopReason, args, finish] of [
      ['max-tokens', '{"city": "Os', 'length'],
      ['context-full', '{"city": "Os', 'length'],
      ['eos', '{"city": "Oslo"}', 'tool_calls'],
    ] as const) {
      const fake = await fakeServer({ answer: answering(stopReason, args) })
      const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'weather?' }], tools: [weather], max_tokens: 8 }
      const whole = await fake.client.chat.completions.create(body)
      expect(whole.choices[0]!.finish_reason, stopReason).toBe(finish)
      expect(whole.choices[0]!.message.tool_calls, stopReason).toEqual([
        { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: args } },
      ])
      const finishes: (string | null)[] = []
      for await (const chunk of await fake.client.chat.completions.create({ ...body, stream: true }))
        if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason)
      expect(finishes.at(-1), stopReason).toBe(finish)
    }
  })
})

describe('an assistant message last', () => {
  it('goes to the engine unchanged, to be continued; the response holds the continuation', async () => {
    const fake = await fakeServer()
    const res = await fake.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Say hello.' },
        { role: 'assistant', content: 'Bonjour' },
      ],
    })
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Hello world' })
    expect(fake.requests[0]!.messages).toEqual([
      { role: 'system', text: 'Answer in French.' },
      { role: 'user', text: 'Say hello.' },
      { role: 'assistant', text: 'Bonjour' },
    ])
  })
})

describe('fields this server does not honour', () => {
  const refused: [string, unknown][] = [
    ['n', 2],
    ['logprobs', true],
    ['top_logprobs', 3],
    ['logit_bias', { '1234': -100 }],
    ['frequency_penalty', 0.5],
    ['presence_penalty', -1],
    ['modalities', ['text', 'audio']],
    ['audio', { voice: 'alloy', format: 'mp3' }],
    ['store', true],
    ['metadata', { run: 'a' }],
    ['prediction', { type: 'content', content: 'x' }],
    ['reasoning_effort', 'high'],
    ['verbosity', 'low'],
    ['web_search_options', {}],
    ['service_tier', 'priority'],
    ['prompt_cache_retention', '24h'],
    ['functions', [{ name: 'f' }]],
    ['function_call', 'auto'],
  ]

  it('refuses each with a 400 that names it, before the engine is asked', async () => {
    const fake = await fakeServer()
    for (const [field, value] of refused) {
      const res = await chat(fake.server, { [field]: value })
      expect(res.status, field).toBe(400)
      expect(res.json().error, field).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: field })
      expect(res.json().error!.message, field).toMatch(new RegExp(`^Unsupported parameter: '${field}': .+\\.$`))
    }
    // The openai client gets the same, as an error naming the field.
    await expect(
      fake.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], logprobs: true }),
    ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'logprobs' })
    expect(fake.requests).toHaveLength(0)
  })

  it('accepts the values that ask for nothing, and fields that change no answer, as if left out', async () => {
    const fake = await fakeServer()
    const nothingAsked = {
      n: 1,
      logprobs: false,
      top_logprobs: 0,
      logit_bias: {},
      frequency_penalty: 0,
      presence_penalty: 0,
      modalities: ['text'],
      store: false,
      service_tier: 'auto',
      user: 'someone',
      safety_identifier: 'hash-of-someone',
      prompt_cache_key: 'a-cache',
    }
    const res = await chat(fake.server, nothingAsked)
    expect(res.status, res.body).toBe(200)
    await chat(fake.server)
    expect(fake.requests).toHaveLength(2)
    expect(fake.requests[0]).toEqual(fake.requests[1])
  })

  it('refuses stream_options without stream, as OpenAI does, and takes null for it', async () => {
    const fake = await fakeServer()
    for (const stream of [false, null, undefined]) {
      const res = await chat(fake.server, { stream, stream_options: { include_usage: true } })
      expect(res.status, String(stream)).toBe(400)
      expect(res.json().error, String(stream)).toEqual({
        message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        type: 'invalid_request_error',
        param: 'stream_options',
        code: 'invalid_value',
      })
    }
    expect((await chat(fake.server, { stream: false, stream_options: null })).status).toBe(200)
    expect(fake.requests).toHaveLength(1)
  })

  it('refuses unknown top-level fields, naming every one, null or not', async () => {
    const fake = await fakeServer()
    const res = await chat(fake.server, { top_k: 40, min_p: null, temprature: 0.2 })
    expect(res.status).toBe(400)
    expect(res.json().error).toEqual({
      message: 'Unrecognized request arguments supplied: top_k, min_p, temprature.',
      type: 'invalid_request_error',
      param: 'top_k',
      code: 'unknown_parameter',
    })
    const nested = await chat(fake.server, { stream: true, stream_options: { include_obfuscation: true } })
    expect(nested.status).toBe(400)
    expect(nested.json().error).toMatchObject({ param: 'stream_options', message: expect.stringContaining('include_obfuscation') })
    expect(fake.requests).toHaveLength(0)
  })
})

/** A request with exactly these headers, Host included (Node's client adds one unless told not to). */
function rawWithHost(server: ApiServer, host: string | null, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'GET',
        path: '/v1/models',
        setHost: false,
        headers: { authorization: `Bearer ${TOKEN}`, ...(host === null ? {} : { host }), ...headers },
      },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('the Host header (DNS rebinding)', () => {
  it('must name this server on loopback, with its port', async () => {
    const fake = await fakeServer()
    const port = fake.server.port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
      expect((await rawWithHost(fake.server, host)).status, host).toBe(200)
    }
    for (const host of [
      `attacker.example:${port}`,
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
      `localhost.attacker.example:${port}`,
      `0.0.0.0:${port}`,
    ]) {
      const res = await rawWithHost(fake.server, host)
      expect(res.status, host).toBe(421)
      expect(res.json().error, host).toMatchObject({ type: 'invalid_request_error', code: 'invalid_host' })
      expect(res.json().error!.message, host).toBe(
        `This server answers only requests addressed to 127.0.0.1:${port}, localhost:${port}, [::1]:${port}; the Host header was '${host}'.`,
      )
    }
  })

  it('is refused when missing', async () => {
    const fake = await fakeServer()
    const res = await rawWithHost(fake.server, null)
    expect(res.status).toBe(421)
    expect(res.json().error!.message).toMatch(/the Host header was missing\.$/)
  })

  it('is checked before anything else: a rebound page gets no CORS answer even from an allowed origin', async () => {
    const fake = await fakeServer({ allowedOrigins: ['http://attacker.example'] })
    const res = await rawWithHost(fake.server, `attacker.example:${fake.server.port}`, { origin: 'http://attacker.example' })
    expect(res.status).toBe(421)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('CORS', () => {
  const preflight = (server: ApiServer, origin: string, path = '/v1/chat/completions'): Promise<Raw> =>
    raw(server, 'OPTIONS', path, undefined, {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    })
  const corsHeaders = (res: Raw): string[] => Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))

  it('is off by default: every origin’s preflight gets 403 and no CORS headers, and so do its requests', async () => {
    const fake = await fakeServer()
    for (const origin of ['https://example.app', 'http://localhost:5173', 'null']) {
      const res = await preflight(fake.server, origin)
      expect(res.status, origin).toBe(403)
      expect(corsHeaders(res), origin).toEqual([])
      expect(res.json().error).toMatchObject({ code: 'origin_not_allowed', message: expect.stringContaining(origin) })
    }
    const actual = await raw(fake.server, 'GET', '/v1/models', undefined, {
      authorization: `Bearer ${TOKEN}`,
      origin: 'https://example.app',
    })
    expect(actual.status).toBe(403)
    expect(corsHeaders(actual)).toEqual([])
    // Clients that are not browsers send no Origin, and are unaffected.
    expect((await raw(fake.server, 'GET', '/v1/models')).status).toBe(200)
  })

  it('answers an allowed origin’s preflight without the key, and only that origin’s', async () => {
    const fake = await fakeServer({ allowedOrigins: ['https://example.app', 'http://127.0.0.1:5173'] })
    for (const origin of ['https://example.app', 'http://127.0.0.1:5173']) {
      const res = await preflight(fake.server, origin)
      expect(res.status, origin).toBe(204)
      expect(res.headers['access-control-allow-origin'], origin).toBe(origin)
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST')
      expect(res.headers['access-control-allow-headers']).toMatch(/^authorization, content-type(, |$)/)
      // OpenAI's client names its helper (chat.completions.parse, .stream, runTools) in a header of its own.
      expect(String(res.headers['access-control-allow-headers']).split(', ')).toContain('x-stainless-helper-method')
      expect(res.headers['access-control-max-age']).toBe('600')
      expect(res.headers.vary).toBe('Origin')
      expect(res.body).toBe('')
    }
    for (const origin of [
      'http://example.app',
      'https://example.app:8443',
      'https://sub.example.app',
      'https://example.app.attacker.example',
      'http://127.0.0.1:5174',
      'http://localhost:5173',
    ]) {
      const res = await preflight(fake.server, origin)
      expect(res.status, origin).toBe(403)
      expect(corsHeaders(res), origin).toEqual([])
    }
    expect(fake.requests).toHaveLength(0)
  })

  it('takes http://localhost:* as any port on localhost over http, and nothing else', async () => {
    const fake = await fakeServer({ allowedOrigins: ['http://localhost:*'] })
    for (const origin of ['http://localhost:5173', 'http://localhost:3000', 'http://localhost']) {
      const res = await preflight(fake.server, origin)
      expect(res.status, origin).toBe(204)
      expect(res.headers['access-control-allow-origin'], origin).toBe(origin)
    }
    for (const origin of [
      'https://localhost:5173',
      'http://127.0.0.1:5173',
      'http://localhost.attacker.example:5173',
      'http://localhost:*',
    ]) {
      expect((await preflight(fake.server, origin)).status, origin).toBe(403)
    }
  })

  it('marks an allowed origin’s requests readable, errors included, and still wants the key', async () => {
    const fake = await fakeServer({ allowedOrigins: ['https://example.app'] })
    const origin = 'https://example.app'
    const models = await raw(fake.server, 'GET', '/v1/models', undefined, { authorization: `Bearer ${TOKEN}`, origin })
    expect(models.status).toBe(200)
    expect(models.headers['access-control-allow-origin']).toBe(origin)
    expect(models.headers.vary).toBe('Origin')
    const noKey = await raw(fake.server, 'GET', '/v1/models', undefined, { origin })
    expect(noKey.status).toBe(401)
    expect(noKey.headers['access-control-allow-origin']).toBe(origin)
    const stream = await raw(fake.server, 'POST', '/v1/chat/completions', ask({ stream: true }), {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      origin,
    })
    expect(stream.status).toBe(200)
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(stream.headers['access-control-allow-origin']).toBe(origin)
    // A preflight never runs a completion: only the request after it does.
    expect(fake.requests).toHaveLength(1)
  })
})

describe('file:// image URLs, when the user allows them', () => {
  const imageAt = (url: string): string =>
    JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
  const post = (server: ApiServer, url: string): Promise<Raw> => raw(server, 'POST', '/v1/chat/completions', imageAt(url))
  const seeing: EngineState = { state: 'ready', info: { ...INFO, vision: true } }

  it('reads a local image file and hands its bytes to the engine', async () => {
    const fake = await fakeServer({ allowFileUrls: true, state: seeing })
    const png = await solidPng(4, 4)
    const path = join(await scratchDir(), 'a b.png')
    await writeFile(path, png)
    const res = await post(fake.server, pathToFileURL(path).href)
    expect(res.status, res.body).toBe(200)
    expect(fake.requests[0]!.messages[0]!.images![0]!.bytes).toEqual(png)
    // localhost is this computer: the URL parser reads it as no host.
    const local = await post(fake.server, pathToFileURL(path).href.replace('file://', 'file://localhost'))
    expect(local.status, local.body).toBe(200)
  })

  it('gives one answer for every file it cannot take, without reading endless ones', async () => {
    const fake = await fakeServer({ allowFileUrls: true, state: seeing })
    const dir = await scratchDir()
    await writeFile(join(dir, 'notes.txt'), 'not an image')
    await writeFile(join(dir, 'empty.png'), '')
    // Larger than any image may be, yet sparse: it costs no disk.
    const big = await open(join(dir, 'big.png'), 'w')
    await big.truncate(LIMITS.imageBytes + 1)
    await big.close()
    const urls = [
      pathToFileURL(join(dir, 'missing.png')).href,
      pathToFileURL(join(dir, 'notes.txt')).href,
      pathToFileURL(join(dir, 'empty.png')).href,
      pathToFileURL(join(dir, 'big.png')).href,
      pathToFileURL(dir).href,
      // An encoded slash: fileURLToPath throws on it, which was a 500 with Node's message.
      `${pathToFileURL(dir).href}/a%2Fb.png`,
    ]
    if (process.platform !== 'win32') {
      execFileSync('mkfifo', [join(dir, 'pipe.png')])
      // Endless or blocking: /dev/zero was read until the process ran out of memory, a FIFO never returned.
      urls.push('file:///dev/zero', pathToFileURL(join(dir, 'pipe.png')).href)
    }
    for (const url of urls) {
      const res = await post(fake.server, url)
      expect(res.status, url).toBe(400)
      // The same words whatever the file is, so the answer does not tell which files exist.
      expect(res.json().error, url).toEqual({
        message: `Cannot read ${url} as an image: a file URL must name an image file on this computer of at most ${LIMITS.imageBytes} bytes that the app may read.`,
        type: 'invalid_request_error',
        code: 'invalid_image_url',
        param: 'messages.0.content',
      })
    }
    expect(fake.requests).toEqual([])
  }, 10_000)

  it('refuses a file URL with a host: on Windows it is a network share', async () => {
    const fake = await fakeServer({ allowFileUrls: true, state: seeing })
    for (const url of ['file://fileserver/share/x.png', 'file://192.168.0.9/c$/x.png']) {
      const res = await post(fake.server, url)
      expect(res.status, url).toBe(400)
      expect(res.json().error, url).toMatchObject({
        code: 'invalid_image_url',
        message: expect.stringMatching(/^A file URL must name a file on this computer/),
      })
    }
  })
})

describe('connections that send nothing', () => {
  /** A connection that sends nothing; resolves with how long the server kept it, or null if it still holds it after ms. */
  function silent(server: ApiServer, ms: number): Promise<number | null> {
    return new Promise((resolve) => {
      const started = performance.now()
      const socket = connect(server.port, '127.0.0.1')
      const timer = setTimeout(() => {
        socket.destroy()
        resolve(null)
      }, ms)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        clearTimeout(timer)
        resolve(performance.now() - started)
      })
    })
  }

  it('are closed when no request comes in time, and are bounded in number', async () => {
    const fake = await fakeServer({ limits: { firstRequestMs: 300, maxConnections: 4 } })
    const held = Array.from({ length: 4 }, () => silent(fake.server, 5000))
    await new Promise((resolve) => setTimeout(resolve, 50))
    // Past the bound a connection is closed at once, well before the silent ones time out.
    const extra = await silent(fake.server, 5000)
    expect(extra).not.toBeNull()
    expect(extra!).toBeLessThan(250)
    for (const kept of await Promise.all(held)) {
      expect(kept).not.toBeNull()
      expect(kept!).toBeGreaterThanOrEqual(250)
    }
    // Their places are free again.
    expect((await chat(fake.server)).status).toBe(200)
  })

  it('do not cut a request whose answer is quiet for longer than that', async () => {
    const fake = await fakeServer({
      limits: { firstRequestMs: 200 },
      answer: async function* () {
        yield { kind: 'tokens', text: 'Hello', count: 1 }
        await new Promise((resolve) => setTimeout(resolve, 800))
        yield { kind: 'tokens', text: ' world', count: 1 }
        yield { kind: 'done', stats: stats('eos') }
      },
    })
    const streamed = await chat(fake.server, { stream: true })
    expect(streamed.body).toContain('"content":" world"')
    expect(streamed.body.endsWith('data: [DONE]\n\n')).toBe(true)
    const whole = await chat(fake.server)
    expect(whole.json()).toMatchObject({ choices: [{ message: { content: 'Hello world' } }] })
  })
})
