// A remote engine: an OpenAI-compatible inference server (llama-server, vLLM, Ollama, LM
// Studio) answering through the same Generator contract as the engine on this computer.
// Streams over SSE with our own bounded reader on fetch (see sse.ts): cancel aborts the HTTP
// request at once, which is what makes llama-server and vLLM stop generating.
import type { GenerateChunk, GenerateRequest, GenerationStats } from '../engine/contract.js'
import type { Generator, Lane } from '../engine/scheduler.js'
import { AppError } from '../ipc/errors.js'
import { chatBody, ToolCallCollector } from './chat-body.js'
import {
  exchange,
  htmlAnswer,
  looksLikeHtml,
  NetworkError,
  originOf,
  readCapped,
  RemoteHttpError,
  seconds,
  TimeoutReason,
  type Exchange,
  type RemoteEndpoint,
} from './http.js'
import { readSse, SseError } from './sse.js'
import { Completion, JSON_BODY_BYTES, parseJson } from './completion.js'
import { DEFAULTS, listModels, type RemoteEngineOptions, type RemoteModel } from './connection.js'

export type { RemoteEndpoint }
export { listModels, testConnection, type ConnectionReport, type RemoteEngineOptions, type RemoteModel } from './connection.js'

const BACKOFF_MS = [250, 750]
/** Statuses worth asking again: the server is starting, overloaded or behind a restarting proxy. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504])

/** The stream ended or broke before the answer did. */
class StreamCut extends Error {}

function stopReason(finish: string | null): GenerationStats['stopReason'] {
  return finish === 'length' ? 'max-tokens' : 'eos'
}

export class RemoteEngine implements Generator {
  private readonly connectTimeoutMs: number
  private readonly idleTimeoutMs: number
  private readonly retries: number
  private readonly fetch: typeof fetch

  constructor(
    private readonly endpoint: RemoteEndpoint,
    readonly model: string,
    options: RemoteEngineOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs
    this.retries = options.retries ?? DEFAULTS.retries
    this.fetch = options.fetch ?? fetch
  }

  /** The models the server offers, as listModels with this engine's connect timeout. */
  models(signal?: AbortSignal): Promise<RemoteModel[]> {
    return listModels(this.endpoint, signal, { connectTimeoutMs: this.connectTimeoutMs, fetch: this.fetch })
  }

  async *generate(request: GenerateRequest, signal?: AbortSignal, lane?: Lane): AsyncGenerator<GenerateChunk> {
    // Lanes keep separate cached prompts in the local engine; a server keeps its own cache.
    void lane
    const started = performance.now()
    const body = await chatBody(this.model, request, true)
    const tools = new ToolCallCollector()
    let streamed = 0
    let firstAt: number | null = null
    let lastAt = 0
    let finish: string | null = null
    const counts: Pick<Completion, 'usage' | 'timings'> = {}

    const take = (c: Completion, via: 'delta' | 'message'): string => {
      if (c.error !== undefined && c.error !== null) {
        const said = typeof c.error === 'string' ? c.error : JSON.stringify(c.error).slice(0, 300)
        throw new AppError('remote', `The server reported an error in the middle of the answer: ${said}`)
      }
      if (c.usage) counts.usage = c.usage
      if (c.timings) counts.timings = c.timings
      const choice = c.choices?.[0]
      if (!choice) return ''
      if (choice.finish_reason) finish = choice.finish_reason
      const part = via === 'delta' ? choice.delta : choice.message
      if (part?.tool_calls?.length) {
        tools.add(
          part.tool_calls.map((d) => ({
            ...d,
            function: { name: d.function?.name ?? undefined, arguments: d.function?.arguments ?? undefined },
          })),
        )
        firstAt ??= performance.now()
      }
      return part?.content ?? ''
    }

    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) {
        yield this.done(started, streamed, firstAt, lastAt, 'cancelled', counts, tools)
        return
      }
      let ex: Exchange | null = null
      let silence: NodeJS.Timeout | undefined
      let heardAt = performance.now()
      try {
        ex = await exchange(this.endpoint, {
          method: 'POST',
          path: '/chat/completions',
          body,
          accept: 'text/event-stream',
          headersTimeoutMs: this.idleTimeoutMs,
          model: this.model,
          signal,
          fetch: this.fetch,
        })
        const current = ex
        const contentType = current.response.headers.get('content-type') ?? ''
        if (!/event-stream/i.test(contentType)) {
          // A server that ignores stream: true answers once, as JSON.
          const { text } = await readCapped(current.response, JSON_BODY_BYTES)
          if (looksLikeHtml(contentType, text)) throw htmlAnswer(current.url)
          const whole = Completion.safeParse(parseJson(text))
          if (!whole.success)
            throw new AppError('remote', `The server at ${originOf(current.url)} answered with something other than the OpenAI API.`)
          const content = take(whole.data, 'message')
          firstAt = lastAt = performance.now()
          if (content) {
            streamed++
            yield { kind: 'tokens', text: content, count: counts.usage?.completion_tokens ?? 1 }
          }
          break
        }
        // One timer re-armed lazily: resetting a timeout on every event would cost more than the event.
        heardAt = performance.now()
        const watch = (): void => {
          const quiet = performance.now() - heardAt
          if (quiet >= this.idleTimeoutMs) current.abort(new TimeoutReason('silence'))
          else silence = setTimeout(watch, this.idleTimeoutMs - quiet)
        }
        silence = setTimeout(watch, this.idleTimeoutMs)
        let ended = false
        for await (const event of readSse(current.response.body!, undefined, () => (heardAt = performance.now()))) {
          if (event.data === '[DONE]') {
            ended = true
            break
          }
          const parsed = Completion.safeParse(parseJson(event.data))
          if (!parsed.success) {
            throw new AppError(
              'remote',
              `The server at ${originOf(current.url)} sent a malformed stream (an event that is not an OpenAI chunk: “${event.data.slice(0, 80)}”).`,
            )
          }
          const text = take(parsed.data, 'delta')
          if (text) {
            lastAt = performance.now()
            firstAt ??= lastAt
            streamed++
            yield { kind: 'tokens', text, count: 1 }
          }
        }
        // Some servers close after the finish_reason without [DONE]; that is a whole answer.
        if (!ended && finish === null) throw new StreamCut('the connection closed before the answer ended')
        break
      } catch (error) {
        if (signal?.aborted) {
          yield this.done(started, streamed, firstAt, lastAt, 'cancelled', counts, tools)
          return
        }
        const explained = this.explain(error, ex, streamed)
        const retryable =
          error instanceof StreamCut ||
          error instanceof NetworkError ||
          (error instanceof RemoteHttpError && RETRY_STATUSES.has(error.status))
        if (firstAt === null && retryable && attempt < this.retries) {
          await sleep(BACKOFF_MS[attempt] ?? BACKOFF_MS.at(-1)!, signal)
          continue
        }
        throw explained
      } finally {
        clearTimeout(silence)
        ex?.close()
      }
    }
    yield this.done(started, streamed, firstAt, lastAt, stopReason(finish), counts, tools)
  }

  /** Turns what broke into the sentence the user reads; tokens already shown stay shown. */
  private explain(error: unknown, ex: Exchange | null, streamed: number): Error {
    const origin = originOf(this.endpoint.baseUrl)
    if (ex?.signal.reason instanceof TimeoutReason) {
      return streamed > 0
        ? new AppError(
            'remote',
            `The server at ${origin} stopped answering after ${streamed} tokens (silent for ${seconds(this.idleTimeoutMs)}).`,
          )
        : new AppError('remote', `The server at ${origin} accepted the request but sent nothing for ${seconds(this.idleTimeoutMs)}.`)
    }
    if (error instanceof SseError) {
      return new AppError('remote', `The server at ${origin} sent ${error.message} in its stream; the answer was ended.`)
    }
    if (error instanceof AppError) return error
    const why = error instanceof StreamCut ? error.message : 'the connection broke'
    return streamed > 0
      ? new AppError('remote', `The server at ${origin} stopped answering after ${streamed} tokens (${why}).`, { cause: error })
      : new AppError('remote', `The server at ${origin} stopped answering before the first token (${why}).`, { cause: error })
  }

  private done(
    started: number,
    streamed: number,
    firstAt: number | null,
    lastAt: number,
    reason: GenerationStats['stopReason'],
    counts: Pick<Completion, 'usage' | 'timings'>,
    tools: ToolCallCollector,
  ): GenerateChunk {
    const { usage, timings } = counts
    const tokensOut = usage?.completion_tokens ?? timings?.predicted_n ?? streamed
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? timings?.cache_n
    const tokensIn = usage?.prompt_tokens ?? (timings?.prompt_n ?? 0) + (timings?.cache_n ?? 0)
    const span = firstAt === null ? 0 : lastAt - firstAt
    const toolCalls = tools.result()
    return {
      kind: 'done',
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
      stats: {
        tokensIn,
        ...(cached !== undefined ? { cachedTokens: cached } : {}),
        tokensOut,
        // No OpenAI-compatible server reports how many of the prompt tokens were an image's.
        imageTokens: 0,
        timeToFirstTokenMs: firstAt === null ? null : Math.round((firstAt - started) * 10) / 10,
        tokensPerSecond: span > 0 && tokensOut > 1 ? Math.round(((tokensOut - 1) / span) * 1000 * 10) / 10 : null,
        totalMs: Math.round(performance.now() - started),
        stopReason: reason,
      },
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
