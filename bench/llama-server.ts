// llama-server, built from the llama.cpp source node-llama-cpp ships (npm run
// build:llama-server), for side-by-side benchmarks: find the cached binary, start it on
// loopback with a free port, wait for /health, stream a completion, stop it.
import { spawn, type ChildProcess } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serverSamplers } from '../electron/engine/server-args.js'
import { bundleCommitOf, devCacheDir } from '../electron/engine/server-binary.js'
import { freePort } from '../electron/engine/server-process.js'

export const BUILD_HINT = 'npm run build:llama-server (about 9 minutes on 2 cores; needs Debian packages cmake g++)'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BUNDLE = join(ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle')

/** The commit of node-llama-cpp's llama.cpp bundle (the engine reads it the same way to find its dev build). */
export const bundleCommit = (bundle = BUNDLE): Promise<string | null> => bundleCommitOf(bundle)

/**
 * Where npm run build:llama-server caches the binary for this bundle: <commit>/ for the
 * portable build (GGML_NATIVE off, AVX2), <commit>-native/ for LLAMA_SERVER_NATIVE=1.
 */
export function llamaServerCacheDir(commit: string, native = false): string {
  return native ? `${devCacheDir(commit)}-native` : devCacheDir(commit)
}

/**
 * The cached llama-server for node-llama-cpp's llama.cpp, or the reason it is not there and
 * how to build it. LLAMA_SERVER_BIN overrides the lookup of the portable build.
 */
export async function findLlamaServer(
  native = false,
): Promise<{ found: true; path: string; commit: string | null } | { found: false; reason: string }> {
  const override = process.env.LLAMA_SERVER_BIN
  if (override && !native) {
    try {
      await access(override, constants.X_OK)
      return { found: true, path: override, commit: null }
    } catch {
      return { found: false, reason: `LLAMA_SERVER_BIN=${override} is not an executable file` }
    }
  }
  const commit = await bundleCommit()
  if (!commit) return { found: false, reason: `no llama.cpp bundle at ${BUNDLE} (npm install)` }
  const path = join(llamaServerCacheDir(commit, native), 'llama-server')
  try {
    await access(path, constants.X_OK)
    return { found: true, path, commit }
  } catch {
    const how = native ? `LLAMA_SERVER_NATIVE=1 ${BUILD_HINT}` : BUILD_HINT
    return {
      found: false,
      reason: `no ${native ? 'native ' : ''}llama-server built for llama.cpp ${commit.slice(0, 12)}; build it with ${how}`,
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

/**
 * Streams a llama-server /completion (SSE) and measures it from the client, as the
 * full-stack bench measures ours: first token to the end of the stream.
 */
export async function streamCompletion(server: LlamaServer, body: Record<string, unknown>): Promise<StreamedCompletion> {
  const started = performance.now()
  const res = await fetch(`${server.url}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, return_tokens: true }),
  })
  if (!res.ok || !res.body) throw new Error(`llama-server /completion: HTTP ${res.status} ${await res.text()}`)
  const decoder = new TextDecoder()
  let buffered = ''
  let tokens = 0
  let text = ''
  let firstAt: number | null = null
  let endAt: number | null = null
  let timings: Record<string, number> | undefined
  let stopType: string | undefined
  for await (const bytes of res.body) {
    const now = performance.now()
    buffered += decoder.decode(bytes as Uint8Array, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue
        const data = JSON.parse(line.slice(6)) as {
          content?: string
          tokens?: number[]
          tokens_predicted?: number
          stop?: boolean
          stop_type?: string
          timings?: Record<string, number>
          error?: unknown
        }
        if (data.error) throw new Error(`llama-server: ${JSON.stringify(data.error)}`)
        text += data.content ?? ''
        if (data.stop) {
          // The final event repeats the count (and, in some versions, every token): take its count.
          endAt = now
          timings = data.timings
          stopType = data.stop_type
          tokens = Math.max(tokens, data.tokens_predicted ?? 0)
        } else if ((data.tokens?.length ?? 0) > 0) {
          firstAt ??= now
          tokens += data.tokens!.length
        }
      }
    }
  }
  if (firstAt === null || endAt === null) throw new Error('llama-server streamed no tokens')
  return {
    tokens,
    firstTokenMs: firstAt - started,
    tokensPerSecond: (tokens - 1) / ((endAt - firstAt) / 1000),
    text,
    timings,
    stopType,
  }
}

/**
 * The same through llama-server's OpenAI chat endpoint (what the engine's child is sent), measured
 * alike: its template lays out the prompt, and it parses the answer as it streams.
 */
export async function streamChat(server: LlamaServer, body: Record<string, unknown>): Promise<StreamedCompletion> {
  const started = performance.now()
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  })
  if (!res.ok || !res.body) throw new Error(`llama-server /v1/chat/completions: HTTP ${res.status} ${await res.text()}`)
  const decoder = new TextDecoder()
  let buffered = ''
  let tokens = 0
  let text = ''
  let firstAt: number | null = null
  let endAt: number | null = null
  let timings: Record<string, number> | undefined
  for await (const bytes of res.body) {
    const now = performance.now()
    buffered += decoder.decode(bytes as Uint8Array, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue
      const data = JSON.parse(event.slice(6)) as {
        choices?: { delta?: { content?: string | null } }[]
        usage?: { completion_tokens?: number }
        timings?: Record<string, number>
        error?: unknown
      }
      if (data.error) throw new Error(`llama-server: ${JSON.stringify(data.error)}`)
      const content = data.choices?.[0]?.delta?.content
      if (content) {
        firstAt ??= now
        tokens++
        text += content
      }
      if (data.timings) {
        endAt = now
        timings = data.timings
        tokens = Math.max(tokens, data.usage?.completion_tokens ?? 0)
      }
    }
  }
  if (firstAt === null || endAt === null) throw new Error('llama-server streamed no tokens')
  return {
    tokens,
    firstTokenMs: firstAt - started,
    tokensPerSecond: (tokens - 1) / ((endAt - firstAt) / 1000),
    text,
    timings,
    stopType: undefined,
  }
}

/** llama-server's names for the engine's samplers: the ones the engine's llama-server backend sends. */
export const llamaServerSamplers = serverSamplers
