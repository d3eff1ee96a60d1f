// Misbehaving stand-in servers on 127.0.0.1: every way a server elsewhere can fail must end in
// a sentence the user can act on, never a hang, an unbounded buffer or a leaked API key.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import type { GenerateChunk, GenerateRequest } from '../../electron/engine/contract.js'
import { RemoteEngineInput } from '../../electron/remote/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import { listModels, RemoteEngine, testConnection, type RemoteEndpoint } from '../../electron/remote/remote-engine.js'

interface StandIn {
  url: string
  requests: { method: string; url: string; authorization: string | undefined; body: string }[]
  closed: number
  written: number
}
const servers: { close(): void; closeAllConnections(): void }[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

async function standIn(handle: (req: IncomingMessage, res: ServerResponse, s: StandIn) => void): Promise<StandIn> {
  const s: StandIn = { url: '', requests: [], closed: 0, written: 0 }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (b: Buffer) => (body += b.toString()))
    req.on('end', () => {
      s.requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body })
      res.on('close', () => s.closed++)
      handle(req, res, s)
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return s
}

const endpoint = (s: StandIn, apiKey: string | null = null, path = '/v1'): RemoteEndpoint => ({
  baseUrl: `${s.url}${path}`,
  apiKey,
  allowUnencrypted: false,
})
const ask: GenerateRequest = { messages: [{ role: 'user', text: 'hi' }] }
const json = (res: ServerResponse, status: number, value: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}
const chunk = (content: string): string =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
const finish = (reason: string): string =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\ndata: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`
const sse = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
}

/** Runs a generation to its end: the text and chunks it yielded, then what it threw, if anything. */
async function run(engine: RemoteEngine, request = ask, signal?: AbortSignal) {
  const chunks: GenerateChunk[] = []
  let text = ''
  try {
    for await (const c of engine.generate(request, signal)) {
      chunks.push(c)
      if (c.kind === 'tokens') text += c.text
    }
    return { chunks, text, error: null }
  } catch (error) {
    return { chunks, text, error: error as Error }
  }
}
const remoteError = (error: unknown): string => {
  expect(error).toBeInstanceOf(AppError)
  expect((error as AppError).code).toBe('remote')
  return (error as AppError).message
}

describe('remote engine against misbehaving servers', () => {
  it('a wrong key: the server refused the API key (401), and no key at all asks for one', async () => {
    const s = await standIn((req, res) =>
      req.headers.authorization === 'Bearer right'
        ? json(res, 200, { data: [{ id: 'm' }] })
        : json(res, 401, { error: { message: 'Invalid API key' } }),
    )
    expect(await listModels(endpoint(s, 'right'))).toEqual([{ id: 'm' }])
    await expect(listModels(endpoint(s, 'wrong'))).rejects.toThrow('The server refused the API key (401).')
    expect(remoteError((await run(new RemoteEngine(endpoint(s, 'wrong'), 'm'))).error)).toBe('The server refused the API key (401).')
    await expect(testConnection(endpoint(s, 'wrong'))).rejects.toThrow('The server refused the API key (401).')
    await expect(listModels(endpoint(s, null))).rejects.toThrow(/asks for an API key \(401\)/)
    expect(s.requests.find((r) => r.authorization === 'Bearer wrong')).toBeDefined()
  })

  it('a wrong URL: no OpenAI-compatible API at the URL (404)', async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('Not Found')
    })
    await expect(listModels(endpoint(s, null, '/api'))).rejects.toThrow(`No OpenAI-compatible API at ${s.url}/api (404).`)
    expect(remoteError((await run(new RemoteEngine(endpoint(s), 'm'))).error)).toBe(`No OpenAI-compatible API at ${s.url}/v1 (404).`)
  })

  it('a web page instead of the API says so', async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><html><body>Router login</body></html>')
    })
    await expect(listModels(endpoint(s))).rejects.toThrow(/answered with a web page, not the OpenAI API/)
    expect(remoteError((await run(new RemoteEngine(endpoint(s), 'm'))).error)).toMatch(/web page, not the OpenAI API/)
  })

  it('a proxy’s own page for a server that is down is retried and said as such; one for a body too large says so', async () => {
    const page = (res: ServerResponse, status: number): void => {
      res.writeHead(status, { 'content-type': 'text/html' })
      res.end(`<html><head><title>${status}</title></head><body><center>nginx</center></body></html>`)
    }
    // nginx while the server behind it restarts: a 502 page, then the answer.
    const restarting = await standIn((_req, res, s) =>
      s.requests.length === 1 ? page(res, 502) : (sse(res), res.end(chunk('up') + finish('stop'))),
    )
    const answer = await run(new RemoteEngine(endpoint(restarting), 'm'))
    expect(answer.error).toBeNull()
    expect(answer.text).toBe('up')
    expect(restarting.requests).toHaveLength(2)
    const down = await standIn((_req, res) => page(res, 504))
    expect(remoteError((await run(new RemoteEngine(endpoint(down), 'm', { retries: 1 }))).error)).toMatch(
      /^A proxy at http:\/\/127\.0\.0\.1:\d+ could not get an answer from the inference server behind it \(504\); is it running/,
    )
    expect(down.requests).toHaveLength(2)
    // nginx's 1 MB body limit, once a conversation holds a few screenshots.
    const limited = await standIn((_req, res) => page(res, 413))
    expect(remoteError((await run(new RemoteEngine(endpoint(limited), 'm'))).error)).toMatch(/refused the request as too large \(413\)/)
    // A missing page still means a wrong address.
    const missing = await standIn((_req, res) => page(res, 404))
    expect(remoteError((await run(new RemoteEngine(endpoint(missing), 'm'))).error)).toMatch(
      /web page, not the OpenAI API; check the base URL/,
    )
  })

  it('an error answered with 200 and no stream carries the server’s message', async () => {
    const s = await standIn((_req, res) => json(res, 200, { error: { message: 'The model `m` does not exist' } }))
    expect(remoteError((await run(new RemoteEngine(endpoint(s), 'm'))).error)).toMatch(
      /answered with an error: The model `m` does not exist$/,
    )
  })

  it('a key that holds a line break is refused before any request, and never shown', async () => {
    const s = await standIn((_req, res) => json(res, 200, { data: [{ id: 'm' }] }))
    const key = 'sk-proj-ABCDEF123\nXYZ789'
    for (const attempt of [
      listModels(endpoint(s, key)),
      run(new RemoteEngine(endpoint(s, key), 'm')).then((r) => Promise.reject(r.error)),
    ]) {
      const error = await attempt.catch((e: unknown) => e)
      expect(remoteError(error)).toMatch(/^The API key holds a character a request cannot carry/)
      expect((error as Error).message).not.toContain('ABCDEF')
    }
    expect(s.requests).toHaveLength(0)
    expect(
      RemoteEngineInput.safeParse({ name: 'x', baseUrl: 'http://10.0.0.2/v1', apiKey: key, allowUnencrypted: false }).error?.issues[0]
        ?.message,
    ).toMatch(/holds a space, a line break or an invisible character/)
    expect(
      RemoteEngineInput.safeParse({ name: 'x', baseUrl: 'http://10.0.0.2/v1', apiKey: ' sk-fine ', allowUnencrypted: false }).data?.apiKey,
    ).toBe('sk-fine')
  })

  it('a 500 with a JSON error carries the server’s message', async () => {
    const s = await standIn((_req, res) =>
      json(res, 500, { error: { code: 500, message: 'CUDA error: out of memory', type: 'server_error' } }),
    )
    const result = await run(new RemoteEngine(endpoint(s), 'm', { retries: 0 }))
    expect(remoteError(result.error)).toBe('The server failed (500): CUDA error: out of memory')
  })

  it('a prompt too long for the context is a context overflow, in vLLM’s and OpenAI’s words too', async () => {
    const replies = [
      {
        object: 'error',
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
        type: 'BadRequestError',
        code: 400,
      },
      { error: { message: 'Too long.', type: 'invalid_request_error', code: 'context_length_exceeded' } },
    ]
    let next = 0
    const s = await standIn((_req, res) => json(res, 400, replies[next++]))
    for (let i = 0; i < replies.length; i++) {
      const error = (await run(new RemoteEngine(endpoint(s), 'm'))).error
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('context-overflow')
    }
  })

  it('a server that claims a model and then refuses it names the model', async () => {
    const s = await standIn((req, res) =>
      req.url === '/v1/models'
        ? json(res, 200, { object: 'list', data: [{ id: 'qwen2-vl' }] })
        : json(res, 404, { object: 'error', message: 'The model `qwen2-vl` does not exist.', type: 'NotFoundError' }),
    )
    const message = 'The server refused the model “qwen2-vl” (404): The model `qwen2-vl` does not exist.'
    await expect(testConnection(endpoint(s))).rejects.toThrow(message)
    expect(remoteError((await run(new RemoteEngine(endpoint(s), 'qwen2-vl'))).error)).toBe(message)
  })

  it('a server that hangs: the silence timeout ends the wait, before headers and between events', async () => {
    const hang = await standIn(() => undefined)
    let started = performance.now()
    await expect(listModels(endpoint(hang), undefined, { connectTimeoutMs: 300 })).rejects.toThrow(/did not answer within 0\.3 s/)
    expect(performance.now() - started).toBeLessThan(1500)
    started = performance.now()
    const before = await run(new RemoteEngine(endpoint(hang), 'm', { idleTimeoutMs: 300 }))
    expect(remoteError(before.error)).toMatch(/did not answer within 0\.3 s/)
    // A timeout is not retried: the user already waited the whole silence.
    expect(hang.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
    expect(performance.now() - started).toBeLessThan(1500)

    const stalls = await standIn((_req, res) => {
      sse(res)
      res.write(chunk('Hello'))
      res.write(chunk(' there'))
      // llama-server's keep-alive ping is a sign of life, not a token: it must not reset into a hang forever.
      res.write(': ping\n\n')
    })
    const after = await run(new RemoteEngine(endpoint(stalls), 'm', { idleTimeoutMs: 300 }))
    expect(after.text).toBe('Hello there')
    expect(remoteError(after.error)).toMatch(/stopped answering after 2 tokens \(silent for 0\.3 s\)/)
    await new Promise((r) => setTimeout(r, 50))
    expect(stalls.closed).toBe(1)
  })

  it('a model list or probe whose body never ends times out too', async () => {
    const s = await standIn((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"data": [')
    })
    await expect(listModels(endpoint(s), undefined, { connectTimeoutMs: 300 })).rejects.toThrow(/did not answer within 0\.3 s/)
    const probe = await standIn((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, { data: [{ id: 'm' }] })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"choices": [')
    })
    await expect(testConnection(endpoint(probe), undefined, undefined, { idleTimeoutMs: 300 })).rejects.toThrow(
      /did not answer within 0\.3 s/,
    )
  })

  it('a server that ignores stream: true and answers once as JSON still gives the answer', async () => {
    const s = await standIn((_req, res) =>
      json(res, 200, {
        choices: [{ index: 0, message: { role: 'assistant', content: 'whole answer' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 9, completion_tokens: 3 },
      }),
    )
    const result = await run(new RemoteEngine(endpoint(s), 'm'))
    expect(result.text).toBe('whole answer')
    expect(result.chunks.at(-1)).toMatchObject({ kind: 'done', stats: { tokensIn: 9, tokensOut: 3, stopReason: 'eos' } })
  })

  it('an answer that arrives in one network read is timed by the server where it says, and left untimed where not', async () => {
    // Every event in one write: the client sees no time between the first token and the last.
    const whole = (timings: object | null): string =>
      chunk('one ') +
      chunk('two ') +
      chunk('three') +
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }], usage: { prompt_tokens: 7, completion_tokens: 3 }, ...(timings ? { timings } : {}) })}\n\ndata: [DONE]\n\n`
    for (const timings of [{ predicted_n: 3, predicted_per_second: 812.37 }, null]) {
      const s = await standIn((_req, res) => {
        sse(res)
        res.end(whole(timings))
      })
      const result = await run(new RemoteEngine(endpoint(s), 'm'))
      expect(result.text).toBe('one two three')
      const done = result.chunks.at(-1)
      expect(done).toMatchObject({ kind: 'done', stats: { tokensOut: 3, stopReason: 'max-tokens' } })
      expect(done?.kind === 'done' && done.stats.tokensPerSecond).toBe(timings ? 812.4 : null)
    }
  })

  it('thinking the server streams apart from the answer arrives in the text between <think> tags, as a local model’s does', async () => {
    const delta = (d: object, finishReason: string | null = null): string =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: d, finish_reason: finishReason }] })}\n\n`
    // llama-server's default and DeepSeek's field, then OpenRouter's and Ollama's name for it.
    for (const field of ['reasoning_content', 'reasoning']) {
      const s = await standIn((_req, res) => {
        sse(res)
        res.write(delta({ role: 'assistant', content: null, [field]: 'Two and ' }))
        setTimeout(() => {
          res.write(delta({ [field]: 'two make four.' }))
          res.write(delta({ content: 'It is ' }))
          res.end(delta({ content: '4.' }) + finish('stop'))
        }, 30)
      })
      const result = await run(new RemoteEngine(endpoint(s), 'm'))
      expect(result.error).toBeNull()
      expect(result.text).toBe('<think>Two and two make four.</think>It is 4.')
      // The first thought is the first token: the user saw something arrive before the answer.
      expect(result.chunks[0]).toMatchObject({ kind: 'tokens', text: '<think>Two and ' })
      expect(result.chunks.at(-1)).toMatchObject({ kind: 'done', stats: { stopReason: 'eos' } })
    }
    // An answer cut while still thinking ends its thought; a whole JSON answer carries it too.
    const cut = await standIn((_req, res) => {
      sse(res)
      res.end(delta({ reasoning_content: 'Hmm, let me' }) + finish('length'))
    })
    expect((await run(new RemoteEngine(endpoint(cut), 'm'))).text).toBe('<think>Hmm, let me</think>')
    const whole = await standIn((_req, res) =>
      json(res, 200, {
        choices: [{ index: 0, message: { role: 'assistant', reasoning_content: 'Easy.', content: 'Four.' }, finish_reason: 'stop' }],
      }),
    )
    expect((await run(new RemoteEngine(endpoint(whole), 'm'))).text).toBe('<think>Easy.</think>Four.')
  })

  it('an endless SSE line over 1 MiB ends the answer with an error, reading a bounded amount', async () => {
    const s = await standIn((_req, res, self) => {
      sse(res)
      res.write(chunk('ok'))
      res.write('data: ')
      const block = 'x'.repeat(64 * 1024)
      const pump = (): void => {
        while (!res.destroyed && self.written < 256 * 1024 * 1024) {
          self.written += block.length
          if (!res.write(block)) return void res.once('drain', pump)
        }
      }
      res.on('close', () => undefined)
      pump()
    })
    const result = await run(new RemoteEngine(endpoint(s), 'm'))
    expect(result.text).toBe('ok')
    expect(remoteError(result.error)).toMatch(/sent a line longer than 1 MiB in its stream; the answer was ended/)
    await new Promise((r) => setTimeout(r, 50))
    expect(s.closed).toBe(1)
    // What the server managed to push before we hung up: the limit plus socket buffers, not the stream.
    expect(s.written).toBeLessThan(16 * 1024 * 1024)
  })

  it('a server that ignores max_tokens: the answer stops at maxTokens, its request ended, stopped as max-tokens', async () => {
    const s = await standIn((_req, res, self) => {
      sse(res)
      // A token every millisecond, 3,000 of them (as the audit saw for 64), unless the connection closes.
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer)
        if (self.written >= 3000) return void res.end(finish('stop'))
        self.written++
        res.write(chunk(`w${self.written} `))
      }, 1)
      res.on('close', () => clearInterval(timer))
    })
    const result = await run(new RemoteEngine(endpoint(s), 'm'), { messages: [{ role: 'user', text: 'hi' }], sampling: { maxTokens: 64 } })
    expect(result.error).toBeNull()
    const streamed = result.chunks.flatMap((c) => (c.kind === 'tokens' ? [c.count] : [])).reduce((a, b) => a + b, 0)
    expect(streamed).toBe(64)
    expect(result.text.trim().split(' ').at(-1)).toBe('w64')
    expect(result.chunks.at(-1)).toMatchObject({ kind: 'done', stats: { tokensOut: 64, stopReason: 'max-tokens' } })
    await new Promise((r) => setTimeout(r, 50))
    expect(s.closed).toBe(1)
    expect(s.written).toBeLessThan(200)
  })

  it('a server that keeps to max_tokens still sends its finish and counts after the last token', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + chunk('b') + finish('length'))
    })
    const result = await run(new RemoteEngine(endpoint(s), 'm'), { messages: [{ role: 'user', text: 'hi' }], sampling: { maxTokens: 2 } })
    expect(result.text).toBe('ab')
    expect(result.chunks.at(-1)).toMatchObject({ kind: 'done', stats: { tokensIn: 7, tokensOut: 2, stopReason: 'max-tokens' } })
  })

  it('a malformed stream ends with a clear error after the good tokens', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('fine') + 'data: {"choices": [ broken\n\n')
    })
    const result = await run(new RemoteEngine(endpoint(s), 'm'))
    expect(result.text).toBe('fine')
    expect(remoteError(result.error)).toMatch(/sent a malformed stream/)
  })

  it('a stream that closes in the middle of an event, or before any finish, is a cut answer', async () => {
    const midEvent = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + 'data: {"choices":')
    })
    const cut = await run(new RemoteEngine(endpoint(midEvent), 'm', { retries: 0 }))
    expect(cut.text).toBe('a')
    expect(remoteError(cut.error)).toMatch(/stopped answering after 1 token \(the connection closed in the middle of an event\)/)
    const noFinish = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + chunk('b'))
    })
    const early = await run(new RemoteEngine(endpoint(noFinish), 'm', { retries: 0 }))
    expect(early.text).toBe('ab')
    expect(remoteError(early.error)).toMatch(/stopped answering after 2 tokens \(the connection closed before the answer ended\)/)
    const finishedWithoutDone = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}\n\n`)
    })
    const whole = await run(new RemoteEngine(endpoint(finishedWithoutDone), 'm'))
    expect(whole.error).toBeNull()
    expect(whole.chunks.at(-1)).toMatchObject({ kind: 'done', stats: { stopReason: 'max-tokens', tokensOut: 1 } })
    // Gateways that end without the blank line after their last event: [DONE] with one newline
    // or none, or the finishing chunk itself unterminated. The answer is whole, said once.
    const events = finish('stop').replace(/data: \[DONE\]\n\n$/, '')
    const finishing = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}`
    for (const [name, tail] of [
      ['[DONE] and one newline', `${events}data: [DONE]\n`],
      ['[DONE] and no newline', `${events}data: [DONE]`],
      ['the finish without its blank line', `${finishing}\n`],
      [
        'the last word and the finish unterminated',
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'b' }, finish_reason: 'stop' }] })}`,
      ],
    ] as const) {
      const gateway = await standIn((_req, res) => {
        sse(res)
        res.end(chunk('a') + tail)
      })
      const answer = await run(new RemoteEngine(endpoint(gateway), 'm', { retries: 0 }))
      expect(answer.error, name).toBeNull()
      expect(answer.text, name).toBe(tail.includes('"b"') ? 'ab' : 'a')
      expect(answer.chunks.at(-1), name).toMatchObject({ kind: 'done', stats: { stopReason: 'eos' } })
    }
  })

  it('a redirect to another host is not followed and the key never reaches it; same-server redirects are', async () => {
    const other = await standIn((_req, res) => json(res, 200, { data: [{ id: 'stolen' }] }))
    const s = await standIn((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(307, { location: `${other.url}/v1/models` })
        return void res.end()
      }
      if (req.url === '/old/v1/models') {
        res.writeHead(308, { location: '/v1/real-models' })
        return void res.end()
      }
      if (req.url === '/v1/real-models') return json(res, 200, { data: [{ id: 'here' }] })
      res.writeHead(302, { location: `${other.url}/v1/chat/completions` })
      res.end()
    })
    await expect(listModels(endpoint(s, 'secret'))).rejects.toThrow(`redirected to ${other.url}; the request was not sent there`)
    expect(remoteError((await run(new RemoteEngine(endpoint(s, 'secret'), 'm'))).error)).toMatch(/redirected to/)
    expect(other.requests.filter((r) => r.authorization !== undefined)).toEqual([])
    expect(other.requests).toEqual([])
    expect(await listModels(endpoint(s, 'secret', '/old/v1'))).toEqual([{ id: 'here' }])
    expect(s.requests.at(-1)!.authorization).toBe('Bearer secret')
  })

  it('retries before the first token only', async () => {
    let calls = 0
    const flaky = await standIn((_req, res) => {
      calls++
      if (calls === 1) return json(res, 503, { error: { message: 'Loading model' } })
      if (calls === 2) return void res.socket?.destroy()
      sse(res)
      res.end(chunk('a') + chunk('b') + finish('stop'))
    })
    const ok = await run(new RemoteEngine(endpoint(flaky), 'm', { retries: 2 }))
    expect(ok.error).toBeNull()
    expect(ok.text).toBe('ab')
    expect(calls).toBe(3)

    const dies = await standIn((_req, res) => {
      sse(res)
      res.write(chunk('a') + chunk('b'))
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const cut = await run(new RemoteEngine(endpoint(dies), 'm', { retries: 2 }))
    expect(cut.text).toBe('ab')
    expect(remoteError(cut.error)).toMatch(/stopped answering after 2 tokens/)
    expect(dies.requests).toHaveLength(1)

    const refusesOnce = await standIn((_req, res) => json(res, 503, { error: { message: 'busy' } }))
    const none = await run(new RemoteEngine(endpoint(refusesOnce), 'm', { retries: 0 }))
    expect(remoteError(none.error)).toBe('The server failed (503): busy')
    expect(refusesOnce.requests).toHaveLength(1)
  })

  it('waits as long as a busy server asks (Retry-After) when that is soon, and says when to come back when it is not', async () => {
    const limited = (after: string) =>
      standIn((_req, res, s) => {
        if (s.requests.length > 1) return void (sse(res), res.end(chunk('ok') + finish('stop')))
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': after })
        res.end(JSON.stringify({ error: { message: 'Rate limit reached' } }))
      })
    const soon = await limited('1')
    const started = performance.now()
    const answer = await run(new RemoteEngine(endpoint(soon), 'm'))
    expect(answer.error).toBeNull()
    expect(answer.text).toBe('ok')
    // Not the 250 ms backoff: the second second it asked for.
    expect(performance.now() - started).toBeGreaterThanOrEqual(990)
    const later = await limited('120')
    expect(remoteError((await run(new RemoteEngine(endpoint(later), 'm'))).error)).toBe(
      'The server is busy (429): Rate limit reached. It asks to try again in 120 s.',
    )
    expect(later.requests).toHaveLength(1)
  })

  it('cancel aborts the request at once and ends with a cancelled done', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      const timer = setInterval(() => res.write(chunk('t')), 5)
      res.on('close', () => clearInterval(timer))
    })
    const controller = new AbortController()
    const chunks: GenerateChunk[] = []
    for await (const c of new RemoteEngine(endpoint(s), 'm').generate(ask, controller.signal)) {
      chunks.push(c)
      if (chunks.length === 3) controller.abort()
    }
    const done = chunks.at(-1)!
    expect(done.kind === 'done' && done.stats.stopReason).toBe('cancelled')
    expect(done.kind === 'done' && done.stats.tokensOut).toBe(3)
    await new Promise((r) => setTimeout(r, 50))
    expect(s.closed).toBe(1)
  })

  it('keeps parallel tool calls apart when the server sends them all under index 0 (Ollama), and in order under OpenAI’s indices', async () => {
    const call = (...deltas: unknown[]): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: deltas } }] })}\n\n`
    const ollama = await standIn((_req, res) => {
      sse(res)
      res.end(
        call({ index: 0, id: 'call_a', type: 'function', function: { name: 'write_file', arguments: '{"path":"a.txt"}' } }) +
          call({ index: 0, id: 'call_b', type: 'function', function: { name: 'write_file', arguments: '{"path":' } }) +
          call({ index: 0, function: { arguments: '"b.txt"}' } }) +
          finish('tool_calls'),
      )
    })
    const fromOllama = await run(new RemoteEngine(endpoint(ollama), 'qwen3'), ask)
    expect(fromOllama.error).toBeNull()
    const ollamaDone = fromOllama.chunks.at(-1)!
    expect(ollamaDone.kind === 'done' && ollamaDone.toolCalls).toEqual([
      { id: 'call_a', name: 'write_file', arguments: '{"path":"a.txt"}' },
      { id: 'call_b', name: 'write_file', arguments: '{"path":"b.txt"}' },
    ])

    // OpenAI: distinct indices, a call's later pieces without its id, two calls in one chunk.
    const openai = await standIn((_req, res) => {
      sse(res)
      res.end(
        call(
          { index: 0, id: 'call_1', type: 'function', function: { name: 'first', arguments: '' } },
          { index: 1, id: 'call_2', type: 'function', function: { name: 'second', arguments: '{"n":' } },
        ) +
          call({ index: 0, function: { arguments: '{}' } }) +
          call({ index: 1, function: { arguments: '2}' } }) +
          finish('tool_calls'),
      )
    })
    const fromOpenai = await run(new RemoteEngine(endpoint(openai), 'gpt'), ask)
    const openaiDone = fromOpenai.chunks.at(-1)!
    expect(openaiDone.kind === 'done' && openaiDone.toolCalls).toEqual([
      { id: 'call_1', name: 'first', arguments: '{}' },
      { id: 'call_2', name: 'second', arguments: '{"n":2}' },
    ])
  })

  it('sends the request in OpenAI’s shape and collects streamed tool calls', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      const call = (delta: unknown): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [delta] } }] })}\n\n`
      res.end(
        call({ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }) +
          call({ index: 0, function: { arguments: '{"q":' } }) +
          call({ index: 0, function: { arguments: '"x"}' } }) +
          finish('tool_calls'),
      )
    })
    const png = Uint8Array.from(
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAO0lEQVRIiWM4UaFBU8QwakHFaBBpjKaiE6MZTWO0qDgxWppWjFY4J0arzIrRVoXGaMOrYrTpqDGoW9cAi+KgTBYnPAIAAAAASUVORK5CYII=',
        'base64',
      ),
    )
    const result = await run(new RemoteEngine(endpoint(s, 'k'), 'm'), {
      messages: [
        { role: 'system', text: 'be brief' },
        { role: 'user', text: 'what is this', images: [{ bytes: png }] },
        { role: 'assistant', text: '', toolCalls: [{ id: 'c0', name: 'lookup', arguments: '{}' }] },
        { role: 'tool', text: 'result', toolCallId: 'c0' },
      ],
      sampling: { maxTokens: 5, temperature: 0.2, topP: 0.9, topK: 40, seed: 1, stop: ['END'] },
      format: { type: 'json_schema', schema: { type: 'object' } },
      tools: [{ name: 'lookup', parameters: { type: 'object' } }],
      toolChoice: { name: 'lookup' },
    })
    expect(result.error).toBeNull()
    const done = result.chunks.at(-1)!
    expect(done).toMatchObject({ kind: 'done', toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] })
    expect(done.kind === 'done' && done.stats).toMatchObject({ tokensIn: 7, tokensOut: 2, stopReason: 'eos', imageTokens: 0 })
    const body = JSON.parse(s.requests[0]!.body) as Record<string, unknown>
    expect(body).toMatchObject({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      seed: 1,
      stop: ['END'],
      response_format: { type: 'json_schema', json_schema: { schema: { type: 'object' } } },
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    })
    const messages = body.messages as { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string }[]
    expect(messages[1]!.content).toMatchObject([
      { type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/(png|jpeg);base64,/) } },
      { type: 'text', text: 'what is this' },
    ])
    expect(messages[2]).toMatchObject({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c0', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
    })
    expect(messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'c0', content: 'result' })
  })

  it('sends an earlier answer without its thought, and a thought to continue as it is', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + finish('stop'))
    })
    const engine = new RemoteEngine(endpoint(s), 'm')
    // An answer with a call, then a thought alone before a call (its content is then null).
    const thought = '<think>\nDogs: four.\n</think>\n\n'
    for (const answer of [`${thought}Four.`, thought]) {
      const result = await run(engine, {
        messages: [
          { role: 'user', text: 'Legs of a dog?' },
          { role: 'assistant', text: answer, toolCalls: [{ id: 'c0', name: 'count', arguments: '{}' }] },
          { role: 'tool', text: '4', toolCallId: 'c0' },
          { role: 'assistant', text: '<think>\nStill counting' },
        ],
      })
      expect(result.error).toBeNull()
    }
    const sent = s.requests.map((r) => (JSON.parse(r.body) as { messages: { content: unknown }[] }).messages)
    // Before: the whole text went as the content, thought and all.
    expect(sent[0]![1]!.content).toBe('Four.')
    expect(sent[1]![1]!.content).toBeNull()
    expect(sent[0]![3]!.content).toBe('<think>\nStill counting')
  })

  it('images go through the same preparation as for the local engine: a 4K screenshot is scaled down', async () => {
    const s = await standIn((_req, res) => {
      sse(res)
      res.end(chunk('a') + finish('stop'))
    })
    const big = new Uint8Array(
      await sharp({ create: { width: 3840, height: 2160, channels: 3, background: '#336699' } })
        .png()
        .toBuffer(),
    )
    const result = await run(new RemoteEngine(endpoint(s), 'm'), { messages: [{ role: 'user', text: 'see', images: [{ bytes: big }] }] })
    expect(result.error).toBeNull()
    const body = JSON.parse(s.requests[0]!.body) as { messages: { content: { type: string; image_url?: { url: string } }[] }[] }
    const url = body.messages[0]!.content[0]!.image_url!.url
    const sent = await sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')).metadata()
    expect(Math.max(sent.width, sent.height)).toBeLessThanOrEqual(1024)
  })

  it('the connection test marks a server that refuses images text-only', async () => {
    const s = await standIn((req, res) =>
      req.url === '/v1/models'
        ? json(res, 200, { data: [{ id: 'text-only' }, { id: 'other' }] })
        : json(res, 500, {
            error: { code: 500, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj' },
          }),
    )
    const report = await testConnection(endpoint(s))
    expect(report).toMatchObject({ models: ['text-only', 'other'], images: 'refused', model: 'text-only' })
    expect(report.latencyMs).toBeGreaterThanOrEqual(0)
    const empty = await standIn((_req, res) => json(res, 200, { data: [] }))
    expect(await testConnection(endpoint(empty))).toMatchObject({ models: [], images: 'unknown', model: null })
  })
})

describe('models that refuse a request field (OpenAI reasoning models)', () => {
  /**
   * Answers as api.openai.com does for o3 or gpt-5: max_tokens refused with a hint, a temperature
   * other than 1 refused, both named in the error's param; otherwise a streamed answer.
   */
  const reasoningModel = (req: IncomingMessage, res: ServerResponse, s: StandIn): void => {
    if (req.url === '/v1/models') return json(res, 200, { data: [{ id: 'o3-mini' }] })
    const body = JSON.parse(s.requests.at(-1)!.body) as Record<string, unknown>
    const refuse = (param: string, message: string, code: string): void =>
      json(res, 400, { error: { message, type: 'invalid_request_error', param, code } })
    if ('max_tokens' in body) {
      return refuse(
        'max_tokens',
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        'unsupported_parameter',
      )
    }
    if ('temperature' in body && body.temperature !== 1) {
      return refuse(
        'temperature',
        `Unsupported value: 'temperature' does not support ${String(body.temperature)} with this model. Only the default (1) value is supported.`,
        'unsupported_value',
      )
    }
    if (body.stream !== true)
      return json(res, 200, { choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'length' }] })
    sse(res)
    res.end(chunk('Fine.') + finish('stop'))
  }
  const bodies = (s: StandIn): Record<string, unknown>[] =>
    s.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body) as Record<string, unknown>)

  it('asks again with max_completion_tokens and without the temperature, and the next question goes out right at once', async () => {
    const s = await standIn(reasoningModel)
    const engine = new RemoteEngine(endpoint(s), 'o3-mini')
    const question: GenerateRequest = { ...ask, sampling: { maxTokens: 300, temperature: 0.7, topP: 0.9 } }
    const first = await run(engine, question)
    expect(first.error).toBeNull()
    expect(first.text).toBe('Fine.')
    const [refusedLength, refusedTemperature, answered] = bodies(s)
    expect(refusedLength).toMatchObject({ max_tokens: 300, temperature: 0.7 })
    expect(refusedTemperature).toMatchObject({ max_completion_tokens: 300, temperature: 0.7 })
    expect(refusedTemperature).not.toHaveProperty('max_tokens')
    // Only what was refused is left out: top_p, which this server takes, still goes.
    expect(answered).toMatchObject({ max_completion_tokens: 300, top_p: 0.9 })
    expect(answered).not.toHaveProperty('temperature')
    expect(bodies(s)).toHaveLength(3)

    // Remembered for this model on this server: a new engine (the next question) asks once.
    const next = await run(new RemoteEngine(endpoint(s), 'o3-mini'), question)
    expect(next.error).toBeNull()
    expect(bodies(s)).toHaveLength(4)
    expect(bodies(s)[3]).toMatchObject({ max_completion_tokens: 300 })
    expect(bodies(s)[3]).not.toHaveProperty('temperature')
  })

  it('the connection test of such a model reports it as it is, not as a refused model', async () => {
    const s = await standIn(reasoningModel)
    const report = await testConnection(endpoint(s))
    expect(report).toMatchObject({ models: ['o3-mini'], images: 'accepted', model: 'o3-mini' })
    expect(bodies(s).at(-1)).toMatchObject({ max_completion_tokens: 1 })
  })

  it('a field the question cannot do without (stop) is not left out: the user reads the refusal', async () => {
    const s = await standIn((_req, res) =>
      json(res, 400, {
        error: { message: "Unsupported parameter: 'stop' is not supported with this model.", param: 'stop', code: 'unsupported_parameter' },
      }),
    )
    const result = await run(new RemoteEngine(endpoint(s), 'strict'), { ...ask, sampling: { stop: ['END'] } })
    expect(remoteError(result.error)).toContain("Unsupported parameter: 'stop'")
    expect(s.requests).toHaveLength(1)
  })

  it('a server that refuses a field without naming it in param is recognised by its words, and asked once more at most per field', async () => {
    // vLLM with extra fields forbidden: pydantic's error list as its message, no param.
    const s = await standIn((_req, res) =>
      json(res, 400, {
        object: 'error',
        message: "[{'type': 'extra_forbidden', 'loc': ('body', 'seed'), 'msg': 'Extra inputs are not permitted', 'input': 3}]",
        type: 'BadRequestError',
        param: null,
        code: 400,
      }),
    )
    const result = await run(new RemoteEngine(endpoint(s), 'vllm-strict'), { ...ask, sampling: { seed: 3 } })
    // The seed was left out and the server still refused: its words reach the user, no loop.
    expect(remoteError(result.error)).toContain('Extra inputs are not permitted')
    expect(bodies(s)).toHaveLength(2)
    expect(bodies(s)[1]).not.toHaveProperty('seed')
  })
})
