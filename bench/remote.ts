// npm run bench:remote — the remote engine against a plain streaming request, same prompt, same
// llama-server (the generated tiny model, -t 1 so the client keeps the other core), alternating
// run by run; the official openai package (6.x) streams the same request as a third contender,
// the measurement behind choosing our own SSE reader over it. Every run streams exactly the same
// tokens: a fixed seed and llama-server's ignore_eos, slipped into each body.
//
// Measured on the client clock for each contender: time to the first token's text from the start
// of the request, and tokens/s as (tokens - 1) over first token to last. Per-run lines go to
// stderr; the last line on stdout is one JSON object: throughputRatio (tokens/s reaching the
// renderer through the remote engine, the chat service and main's router, over plain; target >=
// 0.97), firstTokenOverheadMs (the same path minus plain, target < 20), both the median over rounds
// of the pair that ran side by side; then the remote engine alone and the openai package, and details.
//
// A second measure, steadier on a busy machine: each client's own cost per token, replaying one
// recorded llama-server answer (repeated to REPLAY_TOKENS tokens) from a loopback stand-in that
// sends it as fast as the socket takes it; the server's work is then the same for every client.
//
// Environment: BENCH_REMOTE_RUNS (default 31), BENCH_REMOTE_TOKENS (default 512).
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { createChatService } from '../electron/chats/chat-service.js'
import { ChatStore } from '../electron/chats/store.js'
import type { EngineClient } from '../electron/engine/client.js'
import { GenerationScheduler } from '../electron/engine/scheduler.js'
import { createRouter, type RouterOptions } from '../electron/ipc/router.js'
import { openRemoteEngines } from '../electron/remote/engines.js'
import { RemoteEngine } from '../electron/remote/remote-engine.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { BUILD_HINT, findLlamaServer, startLlamaServer } from './llama-server.js'
import { linkRenderer } from './renderer-link.js'

const RUNS = Number(process.env.BENCH_REMOTE_RUNS ?? 31)
const TOKENS = Number(process.env.BENCH_REMOTE_TOKENS ?? 512)
const WARMUP = 2
const PROMPT = 'Write a long story about a lighthouse keeper who collects screenshots of the sea.'
const SEED = 42
const log = (line: string): void => void process.stderr.write(`${line}\n`)

interface Run {
  firstTokenMs: number
  tokensPerSecond: number
  tokens: number
}
type Contender = () => Promise<Run>

/** Collects the client-side timings while a contender streams. */
function stopwatch() {
  const started = performance.now()
  let first: number | null = null
  let last = 0
  let tokens = 0
  return {
    /** count tokens arrived now (our engine hands over the tokens of one network read together). */
    token(count = 1): void {
      last = performance.now()
      first ??= last
      tokens += count
    },
    result(): Run {
      if (first === null || tokens < 2) throw new Error('fewer than two tokens streamed')
      return { firstTokenMs: first - started, tokensPerSecond: ((tokens - 1) / (last - first)) * 1000, tokens }
    },
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits

const REPLAY_TOKENS = 20_000
const REPLAY_RUNS = 9

const bin = await findLlamaServer()
if (!bin.found) {
  log(`bench:remote needs llama-server: ${bin.reason}`)
  log(BUILD_HINT)
  process.exit(1)
}

const extra = { ignore_eos: true }
const requestBody = (model: string) => ({
  model,
  messages: [{ role: 'user' as const, content: PROMPT }],
  max_tokens: TOKENS,
  seed: SEED,
  stream: true as const,
  stream_options: { include_usage: true },
  ...extra,
})

/** The three clients, each streaming the same request from base. */
async function contenders(base: string, model: string): Promise<[string, Contender][]> {
  // The least a streaming client can do: split events, parse each, count the content deltas.
  const plain: Contender = async () => {
    const watch = stopwatch()
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(requestBody(model)),
    })
    if (!res.ok || !res.body) throw new Error(`plain request: HTTP ${res.status}`)
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const bytes of res.body) {
      buffered += decoder.decode(bytes as Uint8Array, { stream: true })
      let at = 0
      let end: number
      while ((end = buffered.indexOf('\n\n', at)) >= 0) {
        const line = buffered.slice(at, end)
        at = end + 2
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
        const event = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string | null } }[] }
        if (event.choices?.[0]?.delta?.content) watch.token()
      }
      buffered = buffered.slice(at)
    }
    return watch.result()
  }

  const withExtra: typeof fetch = (input, init) =>
    fetch(input, typeof init?.body === 'string' ? { ...init, body: JSON.stringify({ ...JSON.parse(init.body), ...extra }) } : init)
  const engine = new RemoteEngine({ baseUrl: base, apiKey: null, allowUnencrypted: false }, model, { fetch: withExtra })
  const remote: Contender = async () => {
    const watch = stopwatch()
    for await (const chunk of engine.generate({
      messages: [{ role: 'user', text: PROMPT }],
      sampling: { maxTokens: TOKENS, seed: SEED },
    })) {
      if (chunk.kind === 'tokens') watch.token(chunk.count)
    }
    return watch.result()
  }

  const client = new OpenAI({ baseURL: base, apiKey: 'unused', maxRetries: 0 })
  const sdk: Contender = async () => {
    const watch = stopwatch()
    const params: OpenAI.Chat.ChatCompletionCreateParamsStreaming & typeof extra = requestBody(model)
    const stream = await client.chat.completions.create(params)
    for await (const event of stream) if (event.choices[0]?.delta?.content) watch.token()
    return watch.result()
  }
  return [
    ['plain', plain],
    ['remoteEngine', remote],
    ['toRenderer', await toRenderer(base, model, withExtra)],
    ['openaiSdk', sdk],
  ]
}

/**
 * The app's whole path: a conversation on the remote engine, through the chat service (which
 * saves the answer as it streams) and main's router, to a "renderer" worker that takes the
 * stream events by structured clone through the real preload bridge, as a window does.
 */
async function toRenderer(base: string, model: string, fetchWithExtra: typeof fetch): Promise<Contender> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-remote-'))
  const store = new ChatStore(join(dir, 'chats'))
  const remotes = await openRemoteEngines({
    path: join(dir, 'remote-engines.json'),
    secrets: () => null,
    engineOptions: { fetch: fetchWithExtra },
  })
  const { id } = await remotes.add({ name: 'bench', baseUrl: base, allowUnencrypted: false })
  // No local engine answers here: the conversation names the remote one, so the chat service never asks the scheduler.
  const idle = { state: () => ({ state: 'idle' as const }) } as unknown as EngineClient
  const chats = createChatService(store, idle, new GenerationScheduler(idle), null, remotes)
  // Only the stream this contender uses is registered: the router validates and routes it as in the app.
  const handlers = {
    invoke: {},
    stream: {
      'chats:send': (request: Parameters<typeof chats.send>[0], { signal }: { signal: AbortSignal }) => chats.send(request, signal),
    },
  } as unknown as Pick<RouterOptions, 'invoke' | 'stream'>
  const router = createRouter({ ...handlers, isTrustedSender: () => true })
  const { renderer, unref } = linkRenderer(router)
  // Neither the worker nor main's end of the port may keep the bench running once it has printed.
  unref()
  return async () => {
    const chat = await store.create()
    await store.update(chat.id, (c) => void (c.engine = { id, model }))
    const done = await new Promise<{ tokens: number; totalMs: number; firstMs: number | null }>((resolve, reject) => {
      renderer.once('message', (m: { kind: string; tokens: number; totalMs: number; firstMs: number | null; error?: unknown }) =>
        m.kind === 'done' ? resolve(m) : reject(new Error(JSON.stringify(m.error))),
      )
      renderer.postMessage({
        channel: 'chats:send',
        request: { chatId: chat.id, text: PROMPT, sampling: { maxTokens: TOKENS, seed: SEED } },
      })
    })
    // Timed by the worker from the request it sent: first token and rate on the renderer's clock.
    if (done.firstMs === null || done.tokens < 2) throw new Error('fewer than two tokens reached the renderer')
    return { firstTokenMs: done.firstMs, tokensPerSecond: ((done.tokens - 1) / (done.totalMs - done.firstMs)) * 1000, tokens: done.tokens }
  }
}

/** Runs every contender once per round, rotating the order, and keeps the rounds after warm-up. */
async function rounds(list: [string, Contender][], runs: number, label: string): Promise<Map<string, Run[]>> {
  const results = new Map<string, Run[]>(list.map(([name]) => [name, []]))
  for (let round = 0; round < WARMUP + runs; round++) {
    // Rotating the order spreads any drift (server cache, CPU clocks) over every contender.
    const order = list.map((_, i) => list[(i + round) % list.length]!)
    for (const [name, run] of order) {
      const r = await run()
      if (round < WARMUP) continue
      results.get(name)!.push(r)
      log(
        `${label} ${name.padEnd(12)} round ${round - WARMUP + 1}: ${r.tokens} tokens, first ${r.firstTokenMs.toFixed(1)} ms, ${r.tokensPerSecond.toFixed(0)} tok/s`,
      )
    }
  }
  return results
}

/**
 * Each contender's run against the plain run of the same round, so a busy moment on a shared
 * machine slows both sides of a ratio rather than one side of a median.
 */
function paired(results: Map<string, Run[]>, name: string) {
  const mine = results.get(name)!
  const plainRuns = results.get('plain')!
  return {
    throughputRatio: round(median(mine.map((r, i) => r.tokensPerSecond / plainRuns[i]!.tokensPerSecond)), 3),
    firstTokenOverheadMs: round(median(mine.map((r, i) => r.firstTokenMs - plainRuns[i]!.firstTokenMs))),
  }
}

const fx = await ensureFixtures()
const server = await startLlamaServer({ binary: bin.path, model: fx.textModel, mmproj: fx.mmproj, threads: 1, contextSize: 4096 })
let recorded: string
let live: Map<string, Run[]>
let model: string
try {
  const base = `${server.url}/v1`
  model = ((await (await fetch(`${base}/models`)).json()) as { data: { id: string }[] }).data[0]!.id
  live = await rounds(await contenders(base, model), RUNS, 'live')
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(requestBody(model)),
  })
  recorded = await res.text()
} finally {
  await server.stop()
}

// The recorded answer's token events, repeated, then its ending (finish, usage, [DONE]).
const events = recorded.split('\n\n').filter((e) => e.startsWith('data: '))
const tokenEvents = events.filter((e) => /"delta":\{"content":"/.test(e))
const ending = events.filter((e) => !tokenEvents.includes(e) && !e.includes('"role":"assistant"'))
const replay = [...Array.from({ length: REPLAY_TOKENS }, (_, i) => tokenEvents[i % tokenEvents.length]!), ...ending].join('\n\n') + '\n\n'
const standIn = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(replay)
  })
})
await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve))
const replayed = await rounds(
  await contenders(`http://127.0.0.1:${(standIn.address() as AddressInfo).port}/v1`, model),
  REPLAY_RUNS,
  'replay',
)
standIn.close()

const usPerToken = (name: string): number => round(1e6 / median(replayed.get(name)!.map((r) => r.tokensPerSecond)), 2)
const medians = Object.fromEntries(
  [...live].map(([name, runs]) => [
    name,
    {
      tokens: median(runs.map((r) => r.tokens)),
      firstTokenMs: round(median(runs.map((r) => r.firstTokenMs))),
      tokensPerSecond: round(median(runs.map((r) => r.tokensPerSecond)), 0),
      clientUsPerToken: usPerToken(name),
    },
  ]),
)
console.log(
  JSON.stringify({
    // The headline is the app's whole path (remote engine → chat service → router → renderer).
    ...paired(live, 'toRenderer'),
    remoteEngine: paired(live, 'remoteEngine'),
    openaiSdk: paired(live, 'openaiSdk'),
    runs: RUNS,
    tokens: TOKENS,
    medians,
    setup: `llama-server ${bin.commit?.slice(0, 12) ?? '(LLAMA_SERVER_BIN)'} -t 1 -c 4096 -np 1 on 127.0.0.1, the generated tiny model with its mmproj, ${TOKENS} tokens per answer (ignore_eos, seed ${SEED}), contenders alternated run by run; clientUsPerToken: the recorded answer replayed as ${REPLAY_TOKENS} tokens from a loopback stand-in, median of ${REPLAY_RUNS}`,
  }),
)
