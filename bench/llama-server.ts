// llama-server, built from the llama.cpp source node-llama-cpp ships (npm run
// build:llama-server), for side-by-side benchmarks: find the cached binary, start it on
// loopback with a free port, wait for /health, stream a completion, stop it.
import { spawn, type ChildProcess } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serverSamplers } from '../electron/engine/server-args.js'
import { bundleCommitOf, devCacheDir, devCacheKey } from '../electron/engine/server-binary.js'
import { freePort } from '../electron/engine/server-process.js'

export const BUILD_HINT = 'npm run build:llama-server (about 9 minutes on 2 cores; needs Debian packages cmake g++)'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BUNDLE = join(ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle')

/** The commit of node-llama-cpp's llama.cpp bundle (the engine reads it the same way to find its dev build). */
export const bundleCommit = (bundle = BUNDLE): Promise<string | null> => bundleCommitOf(bundle)

/**
 * Where npm run build:llama-server caches the binary for a build key (the bundle's commit,
 * with the project's patches' id): <key>/ for the portable build (GGML_NATIVE off, AVX2),
 * <key>-native/ for LLAMA_SERVER_NATIVE=1.
 */
export function llamaServerCacheDir(key: string, native = false): string {
  return native ? `${devCacheDir(key)}-native` : devCacheDir(key)
}

/**
 * The cached llama-server for node-llama-cpp's llama.cpp, or the reason it is not there and
 * how to build it. LLAMA_SERVER_BIN overrides the lookup of the portable build.
 */
export async function findLlamaServer(
  native = false,
  /** stock: llama.cpp as shipped, without the project's patches (LLAMA_SERVER_STOCK=1 npm run build:llama-server). */
  build: 'patched' | 'stock' = 'patched',
): Promise<{ found: true; path: string; commit: string | null } | { found: false; reason: string }> {
  const override = process.env.LLAMA_SERVER_BIN
  if (override && !native && build === 'patched') {
    try {
      await access(override, constants.X_OK)
      return { found: true, path: override, commit: null }
    } catch {
      return { found: false, reason: `LLAMA_SERVER_BIN=${override} is not an executable file` }
    }
  }
  const commit = await bundleCommit()
  const key = build === 'stock' ? commit : await devCacheKey(BUNDLE)
  if (!commit || !key) return { found: false, reason: `no llama.cpp bundle at ${BUNDLE} (npm install)` }
  const path = join(llamaServerCacheDir(key, native), 'llama-server')
  try {
    await access(path, constants.X_OK)
    return { found: true, path, commit }
  } catch {
    const how = `${native ? 'LLAMA_SERVER_NATIVE=1 ' : ''}${build === 'stock' ? 'LLAMA_SERVER_STOCK=1 ' : ''}${BUILD_HINT}`
    const what = [native ? 'native' : '', build === 'stock' ? 'stock' : ''].filter(Boolean).join(' ')
    return {
      found: false,
      reason: `no ${what ? `${what} ` : ''}llama-server built for llama.cpp ${commit.slice(0, 12)}; build it with ${how}`,
    }
  }
}

export interface LlamaServerOptions {
  binary: string
  model: string
  mmproj?: string
  threads?: number
  contextSize?: number
  extraArgs?: string[]
  /** How long to wait for /health to answer 200 (default 120 s). */
  readyTimeoutMs?: number
}

export interface LlamaServer {
  url: string
  port: number
  process: ChildProcess
  /** The last few KB of the server's log, for error messages. */
  log(): string
  stop(): Promise<void>
}

/** Starts llama-server on 127.0.0.1 at a free port and resolves once /health says ok. */
export async function startLlamaServer(o: LlamaServerOptions): Promise<LlamaServer> {
  const port = await freePort()
  const args = [
    '-m',
    o.model,
    ...(o.mmproj ? ['--mmproj', o.mmproj] : []),
    '-t',
    String(o.threads ?? 1),
    '-c',
    String(o.contextSize ?? 4096),
    '-np',
    '1',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    // Nothing but the API, nothing fetched from anywhere.
    '--no-webui',
    '--offline',
    ...(o.extraArgs ?? []),
  ]
  // llama-server also reads its options from LLAMA_ARG_* variables; none leaks in from here.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLAMA_ARG_') && k !== 'HF_TOKEN'))
  const child = spawn(o.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  const keep = (b: Buffer): void => {
    log = (log + b.toString()).slice(-16_384)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let exited: string | null = null
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`
      resolve()
    })
    child.once('error', (err) => {
      exited = `failed to start: ${err.message}`
      resolve()
    })
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (exited) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exit
    clearTimeout(timer)
  }
  const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000)
  for (;;) {
    if (exited) throw new Error(`llama-server ${exited}:\n${log}`)
    try {
      const res = await fetch(`${url}/health`)
      await res.body?.cancel()
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`llama-server not healthy after ${o.readyTimeoutMs ?? 120_000} ms:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, port, process: child, log: () => log, stop }
}

export interface StreamedCompletion {
  /** Tokens streamed: the tokens the events carry, or the final event's count if larger. */
  tokens: number
  /** From the request's start to the first token's event, client side. */
  firstTokenMs: number
  /** (tokens - 1) over first token's event to the final event, client side. */
  tokensPerSecond: number
  text: string
  /** The server's own timings from the final event. */
  timings: Record<string, number> | undefined
  stopType: string | undefined
}

/** POSTs a streamed request and yields each SSE event's JSON with the time its bytes arrived. */
async function* timedEvents(
  server: LlamaServer,
  path: string,
  body: Record<string, unknown>,
): AsyncGenerator<{ data: unknown; now: number }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok || !res.body) throw new Error(`llama-server ${path}: HTTP ${res.status} ${await res.text()}`)
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const bytes of res.body) {
    const now = performance.now()
    buffered += decoder.decode(bytes as Uint8Array, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
        const data = JSON.parse(line.slice(6)) as { error?: unknown }
        if (data.error) throw new Error(`llama-server: ${JSON.stringify(data.error)}`)
        yield { data, now }
      }
    }
  }
}

/** What a stream delivered, timed by the client as the full-stack bench times ours: first token to the end. */
class Tally {
  tokens = 0
  text = ''
  firstAt: number | null = null
  endAt: number | null = null
  timings: Record<string, number> | undefined
  stopType: string | undefined
  constructor(private readonly started: number) {}

  add(now: number, text: string, tokens: number): void {
    if (tokens <= 0) return
    this.firstAt ??= now
    this.tokens += tokens
    this.text += text
  }

  /** The final event: its count wins when larger (held-back text, or every token repeated). */
  end(now: number, count: number | undefined, timings: Record<string, number> | undefined, stopType?: string): void {
    this.endAt = now
    this.timings = timings
    this.stopType = stopType
    this.tokens = Math.max(this.tokens, count ?? 0)
  }

  result(): StreamedCompletion {
    if (this.firstAt === null || this.endAt === null) throw new Error('llama-server streamed no tokens')
    return {
      tokens: this.tokens,
      firstTokenMs: this.firstAt - this.started,
      tokensPerSecond: (this.tokens - 1) / ((this.endAt - this.firstAt) / 1000),
      text: this.text,
      timings: this.timings,
      stopType: this.stopType,
    }
  }
}

/** Streams a llama-server /completion (SSE) and measures it from the client. */
export async function streamCompletion(server: LlamaServer, body: Record<string, unknown>): Promise<StreamedCompletion> {
  const tally = new Tally(performance.now())
  for await (const { data, now } of timedEvents(server, '/completion', { ...body, stream: true, return_tokens: true })) {
    const d = data as {
      content?: string
      tokens?: number[]
      tokens_predicted?: number
      stop?: boolean
      stop_type?: string
      timings?: Record<string, number>
    }
    if (d.stop) tally.end(now, d.tokens_predicted, d.timings, d.stop_type)
    else tally.add(now, d.content ?? '', d.tokens?.length ?? 0)
  }
  return tally.result()
}

/**
 * The same through llama-server's OpenAI chat endpoint (what the engine's child is sent), measured
 * alike: its template lays out the prompt, and it parses the answer as it streams.
 */
export async function streamChat(server: LlamaServer, body: Record<string, unknown>): Promise<StreamedCompletion> {
  const tally = new Tally(performance.now())
  const request = { ...body, stream: true, stream_options: { include_usage: true } }
  for await (const { data, now } of timedEvents(server, '/v1/chat/completions', request)) {
    const d = data as {
      choices?: { delta?: { content?: string | null } }[]
      usage?: { completion_tokens?: number }
      timings?: Record<string, number>
    }
    const content = d.choices?.[0]?.delta?.content
    if (content) tally.add(now, content, 1)
    if (d.timings) tally.end(now, d.usage?.completion_tokens, d.timings)
  }
  return tally.result()
}

/** llama-server's names for the engine's samplers: the ones the engine's llama-server backend sends. */
export const llamaServerSamplers = serverSamplers
