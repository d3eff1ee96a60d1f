// What a server tells besides its answers. Its context, learnt from llama-server's /props before
// the first question or from the first refusal of a prompt too long (vLLM's words), then used by
// the conversation to leave out its oldest turns before it asks. Before, the remote engine's
// context was never known: each follow-up once the context was full cost a refusal and a second
// request, and left out one turn more than the last, so the server's cache held almost nothing
// of it. And llama-server's prompt progress, so that an answer stopped early says its prompt.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createChatService } from '../../electron/chats/chat-service.js'
import { ChatStore } from '../../electron/chats/store.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import { overflowNumbers } from '../../electron/engine/context-limit.js'
import type { GenerateChunk } from '../../electron/engine/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import type { StoredMessage } from '../../electron/ipc/contract.js'
import { openRemoteEngines } from '../../electron/remote/engines.js'
import { RemoteEngine, type RemoteEndpoint } from '../../electron/remote/remote-engine.js'
import { scratchDir } from '../support/engine.js'

const servers: { close(): void; closeAllConnections(): void }[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

interface Seen {
  method: string
  url: string
  body: string
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (b: Buffer) => (body += b.toString()))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body })
      handle(req, res, body)
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const json = (res: ServerResponse, status: number, value: unknown): void =>
  void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
const endpoint = (url: string): RemoteEndpoint => ({ baseUrl: `${url}/v1`, apiKey: null, allowUnencrypted: false })

/**
 * vLLM as far as the context goes: a token per four characters of the messages, refused in its
 * own words (0.11 on) when the prompt and max_tokens do not fit, no /props.
 */
function vllm(contextSize: number): (req: IncomingMessage, res: ServerResponse, body: string) => void {
  return (req, res, body) => {
    if (req.url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'm' }] })
    if (req.url !== '/v1/chat/completions') return json(res, 404, { detail: 'Not Found' })
    const asked = JSON.parse(body) as { messages: { content: string }[]; max_tokens?: number }
    const prompt = asked.messages.reduce((n, m) => n + 4 + Math.ceil(m.content.length / 4), 0)
    const output = asked.max_tokens ?? 16
    if (prompt + output > contextSize) {
      return json(res, 400, {
        object: 'error',
        message: `This model's maximum context length is ${contextSize} tokens. However, you requested ${output} output tokens and your prompt contains at least ${prompt} input tokens, for a total of at least ${prompt + output} tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=${prompt})`,
        type: 'BadRequestError',
        param: 'input_tokens',
        code: 400,
      })
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Noted.' }, finish_reason: null }] })}\n\n` +
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`,
    )
  }
}

/** The engine on this computer, never loaded: only remote engines answer here. */
const noLocalEngine = { state: () => ({ state: 'idle' }) } as unknown as EngineClient

describe('a remote server’s context', () => {
  it('a refusal in vLLM’s words is a context overflow with the numbers, and the engine remembers the context', async () => {
    const s = await serve(vllm(1000))
    const engine = new RemoteEngine(endpoint(s.url), 'm')
    expect(engine.contextSize).toBeNull()
    const error = await (async () => {
      for await (const chunk of engine.generate({ messages: [{ role: 'user', text: 'x'.repeat(8000) }], sampling: { maxTokens: 16 } }))
        void chunk
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('context-overflow')
    expect(overflowNumbers((error as AppError).message)).toEqual({ needed: 2004, imageTokens: 0, contextSize: 1000 })
    expect((error as AppError).message).toBe(
      'The conversation needs 2004 tokens; the context holds 1000. Start a new conversation, remove images or shorten the text.',
    )
    // The next question's engine (one is made per answer) knows it before it asks.
    expect(new RemoteEngine(endpoint(s.url), 'm').contextSize).toBe(1000)
    expect(new RemoteEngine(endpoint(s.url), 'other').contextSize).toBeNull()
  })

  it('llama-server says its context in /props, at its root, asked once per run with the model', async () => {
    const s = await serve((req, res) =>
      req.url?.startsWith('/props')
        ? json(res, 200, { default_generation_settings: { n_ctx: 2048, params: {} }, total_slots: 1, build_info: 'b1' })
        : json(res, 404, { error: { message: 'Not Found' } }),
    )
    const engine = new RemoteEngine(endpoint(s.url), 'qwen2.5-vl')
    await engine.readServerFacts()
    expect(engine.contextSize).toBe(2048)
    await new RemoteEngine(endpoint(s.url), 'qwen2.5-vl').readServerFacts()
    expect(s.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /props?model=qwen2.5-vl'])
    // Any other server: not asked again, and nothing learnt.
    const other = await serve((_req, res) => json(res, 404, { detail: 'Not Found' }))
    const unknown = new RemoteEngine(endpoint(other.url), 'm')
    await unknown.readServerFacts()
    await unknown.readServerFacts()
    expect(unknown.contextSize).toBeNull()
    expect(other.seen).toHaveLength(1)
  })

  it('a conversation on a full vLLM context: one refusal, then every follow-up in one request, the oldest turns left out before it is sent', async () => {
    const s = await serve(vllm(1000))
    const dir = await scratchDir()
    const store = new ChatStore(dir)
    const remotes = await openRemoteEngines({ path: `${dir}/remote-engines.json`, secrets: () => null })
    const { id } = await remotes.add({ name: 'vLLM', baseUrl: `${s.url}/v1`, allowUnencrypted: false })
    const chat = await store.create()
    await store.update(chat.id, (c) => void (c.engine = { id, model: 'm' }))
    const chats = createChatService(store, noLocalEngine, new GenerationScheduler(noLocalEngine), null, remotes)
    const asked = (): number => s.seen.filter((r) => r.url === '/v1/chat/completions').length
    const perTurn: number[] = []
    const answers: StoredMessage[] = []
    for (let turn = 0; turn < 16; turn++) {
      const before = asked()
      let done: StoredMessage | null = null
      for await (const c of chats.send(
        { chatId: chat.id, text: `Question ${turn}: ${'lorem ipsum '.repeat(30)}`, sampling: { maxTokens: 16 } },
        new AbortController().signal,
      ))
        if (c.kind === 'done') done = c.message
      perTurn.push(asked() - before)
      answers.push(done!)
    }
    console.log(
      `[context] requests per question ${perTurn.join(',')}; turns left out ${answers.map((a) => a.stats?.droppedTurns ?? 0).join(',')}`,
    )
    expect(answers.every((a) => a.status === 'complete')).toBe(true)
    // One request per question, but for the one that found the context full.
    expect(perTurn.filter((n) => n === 2)).toHaveLength(1)
    expect(perTurn.filter((n) => n !== 1 && n !== 2)).toEqual([])
    // Turns went several at a time, not one more with each follow-up.
    const dropped = answers.map((a) => a.stats?.droppedTurns ?? 0)
    const changes = dropped.filter((n, i) => i > 0 && n !== dropped[i - 1]).length
    expect(changes).toBeLessThanOrEqual(3)
    expect(dropped.at(-1)).toBeGreaterThan(0)
  })
})

describe('a prompt that fits but leaves too little room for the answer', () => {
  it('keeps vLLM’s words, which say why, and the numbers are read from them', async () => {
    const s = await serve(vllm(1000))
    const error = await (async () => {
      for await (const chunk of new RemoteEngine(endpoint(s.url), 'm').generate({
        messages: [{ role: 'user', text: 'x'.repeat(3200) }],
        sampling: { maxTokens: 500 },
      }))
        void chunk
    })().catch((e: unknown) => e)
    expect((error as AppError).code).toBe('context-overflow')
    expect((error as AppError).message).toMatch(
      /^The conversation is longer than the model on the server can take \(400\): This model's maximum context length is 1000 tokens\. However, you requested 500 output tokens/,
    )
    expect(overflowNumbers((error as AppError).message)).toEqual({ needed: 804, imageTokens: 0, contextSize: 1000 })
  })
})

describe('an answer stopped before its end', () => {
  /** llama-server as far as progress goes: /props, and with return_progress, the prompt's size before the first token. */
  const llamaLike = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    if (req.url?.startsWith('/props')) return json(res, 200, { default_generation_settings: { n_ctx: 4096 } })
    const asked = JSON.parse(body) as { return_progress?: boolean }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const event = (value: unknown): boolean => res.write(`data: ${JSON.stringify(value)}\n\n`)
    if (asked.return_progress) {
      // The template opened a thought: its text comes with the progress, before any token.
      event({
        choices: [{ index: 0, delta: { role: 'assistant', content: null } }],
        prompt_progress: { total: 120, cache: 100, processed: 100 },
      })
      event({ choices: [{ index: 0, delta: { reasoning_content: 'Let' } }], prompt_progress: { total: 120, cache: 100, processed: 120 } })
    }
    let n = 0
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer)
      event({ choices: [{ index: 0, delta: { reasoning_content: ` t${++n}` }, finish_reason: null }] })
    }, 2)
    res.on('close', () => clearInterval(timer))
  }

  it('says the prompt’s tokens and the cached ones from llama-server’s progress, asked for only from llama-server', async () => {
    const s = await serve(llamaLike)
    const engine = new RemoteEngine(endpoint(s.url), 'm')
    await engine.readServerFacts()
    const controller = new AbortController()
    let text = ''
    let counted = 0
    let done: Extract<GenerateChunk, { kind: 'done' }> | null = null
    for await (const c of engine.generate({ messages: [{ role: 'user', text: 'hi' }] }, controller.signal)) {
      if (c.kind === 'done') done = c
      else {
        text += c.text
        counted += c.count
        if (counted >= 3) controller.abort()
      }
    }
    expect(JSON.parse(s.seen.find((r) => r.method === 'POST')!.body)).toMatchObject({ return_progress: true })
    // The opening went out with the first token, and was not counted as one.
    expect(text.startsWith('<think>Let t1 t2 t3')).toBe(true)
    expect(done!.stats).toMatchObject({ stopReason: 'cancelled', tokensIn: 120, cachedTokens: 100, tokensOut: counted })

    // Any other server is not sent llama-server's field, even once asked what it is.
    const other = await serve((req, res, body) =>
      req.url?.startsWith('/props') ? json(res, 404, { detail: 'Not Found' }) : llamaLike(req, res, body),
    )
    const plain = new RemoteEngine(endpoint(other.url), 'm')
    await plain.readServerFacts()
    const stop = new AbortController()
    for await (const c of plain.generate({ messages: [{ role: 'user', text: 'hi' }] }, stop.signal)) if (c.kind === 'tokens') stop.abort()
    expect(JSON.parse(other.seen.find((r) => r.method === 'POST')!.body)).not.toHaveProperty('return_progress')
  })
  it('keeps what the template opened when the answer ends before any token', async () => {
    // An answer being continued whose model ends at once: its text came only with the progress.
    const s = await serve((req, res) => {
      if (req.url?.startsWith('/props')) return json(res, 200, { default_generation_settings: { n_ctx: 4096 } })
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const event = (value: unknown): boolean => res.write(`data: ${JSON.stringify(value)}\n\n`)
      event({ choices: [{ index: 0, delta: { content: 'Sure' } }], prompt_progress: { total: 30, cache: 0, processed: 30 } })
      event({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 30, completion_tokens: 0 } })
      res.end('data: [DONE]\n\n')
    })
    const engine = new RemoteEngine(endpoint(s.url), 'm')
    await engine.readServerFacts()
    let text = ''
    let counted = 0
    for await (const c of engine.generate({ messages: [{ role: 'user', text: 'hi' }] })) {
      if (c.kind === 'tokens') {
        text += c.text
        counted += c.count
      }
    }
    expect(text).toBe('Sure')
    expect(counted).toBe(0)
  })
})
