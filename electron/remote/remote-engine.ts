// A remote engine: an OpenAI-compatible inference server (llama-server, vLLM, Ollama, LM
// Studio) answering through the same Generator contract as the engine on this computer.
// Streams over SSE with our own bounded reader on fetch (see sse.ts): cancel aborts the HTTP
// request at once, which is what makes llama-server and vLLM stop generating.
import type { GenerateChunk, GenerateRequest, GenerationStats } from '../engine/contract.js'
import type { Generator, Lane } from '../engine/scheduler.js'
import { firstTokenMs, tokensPerSecond } from '../engine/first-token.js'
import type { ImageBudget } from '../images/prepare.js'
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
import { SseDecoder, SseError, type SseEvent } from './sse.js'
import { JSON_BODY_BYTES, parseJson, readCompletion, type CompletionPart, type Counts } from './completion.js'
import { DEFAULTS, listModels, type RemoteEngineOptions, type RemoteModel } from './connection.js'
import { THINK_CLOSE, THINK_OPEN } from '../engine/thinking.js'
import { adapt, adaptationFor, remember, rememberedFor } from './refused-fields.js'
import { factsOf, learnContextSize, readFacts } from './server-facts.js'

export type { RemoteEndpoint }
export { listModels, testConnection, type ConnectionReport, type RemoteEngineOptions, type RemoteModel } from './connection.js'

const BACKOFF_MS = [250, 750]
/** Statuses worth asking again: the server is starting, overloaded or behind a restarting proxy. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504])
/** The longest Retry-After waited for before trying again; longer, the user is told when. */
const MAX_RETRY_AFTER_MS = 10_000

/** The stream ended or broke before the answer did. */
class StreamCut extends Error {}

/** A chunk that carries a token counted as one: of the answer's text, or of its thinking. */
function answers(part: CompletionPart): boolean {
  return part.content !== '' || part.reasoning !== ''
}

function stopReason(finish: string | null): GenerationStats['stopReason'] {
  return finish === 'length' ? 'max-tokens' : 'eos'
}

export class RemoteEngine implements Generator {
  private readonly connectTimeoutMs: number
  private readonly idleTimeoutMs: number
  private readonly retries: number
  private readonly fetch: typeof fetch
  private readonly imageBudget: ImageBudget | undefined

  constructor(
    private readonly endpoint: RemoteEndpoint,
    readonly model: string,
    options: RemoteEngineOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs
    this.retries = options.retries ?? DEFAULTS.retries
    this.fetch = options.fetch ?? fetch
    this.imageBudget = options.imageBudget
  }

  /**
   * The context the model has on the server, once known: from llama-server's /props
   * (readServerFacts), or from a refusal that named it. Null while unknown.
   */
  get contextSize(): number | null {
    return factsOf(this.endpoint.baseUrl, this.model).contextSize
  }

  /**
   * Asks the server what it tells of the model (llama-server's /props: its context) once per run
   * of the app, before the first question, so that the conversation fits the context before it
   * is sent rather than after a refusal. Waits as long as a question would: llama-server's
   * router mode loads the model to answer. Never fails; what it cannot learn stays unknown.
   */
  async readServerFacts(signal?: AbortSignal): Promise<void> {
    await readFacts(this.endpoint, this.model, { timeoutMs: this.idleTimeoutMs, fetch: this.fetch, signal })
  }

  /** The models the server offers, as listModels with this engine's connect timeout. */
  models(signal?: AbortSignal): Promise<RemoteModel[]> {
    return listModels(this.endpoint, signal, { connectTimeoutMs: this.connectTimeoutMs, fetch: this.fetch })
  }

  async *generate(request: GenerateRequest, signal?: AbortSignal, lane?: Lane): AsyncGenerator<GenerateChunk> {
    // Lanes keep separate cached prompts in the local engine; a server keeps its own cache.
    void lane
    const started = performance.now()
    const body = await chatBody(this.model, request, true, this.imageBudget)
    // llama-server then says the prompt's size and what it reused before the first token, so an
    // answer stopped early still says what it was asked with. Sent only to a server that
    // answered llama-server's /props (readServerFacts): OpenAI refuses fields it does not know.
    if (factsOf(this.endpoint.baseUrl, this.model).llamaServer) body.return_progress = true
    adapt(body, rememberedFor(this.endpoint.baseUrl, this.model))
    const tools = new ToolCallCollector()
    const counts: Counts = {}
    let streamed = 0
    let firstAt: number | null = null
    let lastAt = 0
    let finish: string | null = null
    let thinking = false
    /**
     * The answer's length is held here too: a server that ignores max_tokens (a proxy that drops
     * it, a model it was refused for) streamed 3,314 tokens for 64. The token after the last one
     * allowed ends the request; the last one allowed is waited past, so that a server that keeps
     * to max_tokens still sends its finish and counts.
     */
    const limit = request.sampling?.maxTokens
    let overran = false
    /**
     * What progress events said: they carry no token, but their text can hold what the template
     * opened (a thought's opening), which goes out with the first token, neither counted nor
     * timed as one (as in electron/engine/server-backend.ts).
     */
    let opening: string

    /**
     * Keeps what a chunk says besides its text, and returns the text. Thinking that the server
     * sends apart from the answer goes into the text between <think> and </think>, as a local
     * model's does on every local path (electron/engine/thinking.ts):
     * the user watches it arrive instead of waiting through it in silence, and the transcript
     * reads the same whichever engine answered.
     */
    const take = (part: CompletionPart): string => {
      if (part.error !== null) throw new AppError('remote', `The server reported an error in the middle of the answer: ${part.error}`)
      for (const [key, value] of Object.entries(part.counts) as [keyof Counts, number | undefined][]) {
        if (value !== undefined) counts[key] = value
      }
      if (part.finishReason) finish = part.finishReason
      let text = ''
      if (part.reasoning) {
        if (!thinking) text += THINK_OPEN
        thinking = true
        text += part.reasoning
      }
      if (thinking && (part.content || part.toolCalls.length > 0 || part.finishReason)) {
        text += THINK_CLOSE
        thinking = false
      }
      if (part.toolCalls.length > 0) {
        tools.add(part.toolCalls)
        firstAt ??= performance.now()
      }
      return text + part.content
    }

    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) {
        yield this.done(started, streamed, firstAt, lastAt, 'cancelled', counts, tools)
        return
      }
      let ex: Exchange | null = null
      let silence: NodeJS.Timeout | undefined
      // Asked again (only before a first token): the new attempt's progress says it again.
      opening = ''
      try {
        ex = await exchange(this.endpoint, {
          method: 'POST',
          path: '/chat/completions',
          body,
          accept: 'text/event-stream',
          headersTimeoutMs: this.idleTimeoutMs,
          model: this.model,
          images: request.messages.some((m) => (m.images?.length ?? 0) > 0),
          signal,
          fetch: this.fetch,
        })
        const current = ex
        // One timer re-armed lazily: resetting a timeout on every chunk would cost more than the chunk.
        let heardAt = performance.now()
        const watch = (): void => {
          const quiet = performance.now() - heardAt
          if (quiet >= this.idleTimeoutMs) current.abort(new TimeoutReason('silence'))
          else silence = setTimeout(watch, this.idleTimeoutMs - quiet)
        }
        silence = setTimeout(watch, this.idleTimeoutMs)
        const contentType = current.response.headers.get('content-type') ?? ''
        if (!/event-stream/i.test(contentType)) {
          // A server that ignores stream: true answers once, as JSON, usually right after its headers.
          const { text } = await readCapped(current.response, JSON_BODY_BYTES)
          if (looksLikeHtml(contentType, text)) throw htmlAnswer(current.url)
          const whole = readCompletion(parseJson(text), 'message')
          // An error answered with 200 (some gateways): the server's own words, as in a stream.
          if (whole?.error) throw new AppError('remote', `The server at ${originOf(current.url)} answered with an error: ${whole.error}`)
          if (!whole?.hasChoices) {
            // The type it sent says what answered: a proxy's text/plain, Ollama's native NDJSON, or
            // an event stream whose type a proxy changed.
            const received = contentType ? `content-type ${contentType.split(';')[0]!.trim()}` : 'no content-type'
            const what = /^\s*data:/.test(text) ? `an event stream sent as ${received}; a proxy may have changed its type` : received
            throw new AppError(
              'remote',
              `The server at ${originOf(current.url)} answered with something other than the OpenAI API (${what}, where a text/event-stream was asked for).`,
            )
          }
          const content = take(whole)
          firstAt = lastAt = performance.now()
          if (content) {
            streamed = counts.completionTokens ?? 1
            yield { kind: 'tokens', text: content, count: streamed }
          }
          break
        }
        const sse = new SseDecoder()
        let ended = false
        for await (const bytes of current.response.body!) {
          heardAt = performance.now()
          // The events that arrived together go out together: one await per network read, not per token.
          let text = ''
          let count = 0
          const events: SseEvent[] = []
          let fault: unknown = null
          try {
            sse.push(bytes as Uint8Array, events)
          } catch (error) {
            fault = error
          }
          try {
            for (const event of events) {
              if (event.data === '[DONE]') {
                ended = true
                break
              }
              const part = readCompletion(parseJson(event.data), 'delta')
              if (!part?.hasChoices && part?.error == null) {
                throw new AppError(
                  'remote',
                  `The server at ${originOf(current.url)} sent a malformed stream (an event that is not an OpenAI chunk: “${event.data.slice(0, 80)}”).`,
                )
              }
              const progress = part.counts.progressTotal !== undefined
              if (limit !== undefined && streamed + count >= limit && !progress && answers(part)) {
                overran = ended = true
                break
              }
              const content = take(part)
              if (progress) opening += content
              else if (content) {
                text += opening + content
                opening = ''
                count++
              }
            }
          } catch (error) {
            fault ??= error
          }
          // The tokens before a fault are the user's to keep: they go out before the error does.
          if (count > 0) {
            lastAt = performance.now()
            firstAt ??= lastAt
            streamed += count
            yield { kind: 'tokens', text, count }
          }
          if (fault !== null) throw fault
          if (ended) break
        }
        if (!ended) {
          // An event the stream ended without its blank line (some gateways end a whole answer
          // so): kept when it parses as a chunk; a cut-off one, or garbage, is a cut stream.
          const last = sse.flush()
          if (last?.data === '[DONE]') ended = true
          else if (last) {
            const part = readCompletion(parseJson(last.data), 'delta')
            if (!part?.hasChoices) throw new StreamCut('the connection closed in the middle of an event')
            const content = take(part)
            if (content) {
              lastAt = performance.now()
              firstAt ??= lastAt
              streamed++
              yield { kind: 'tokens', text: content, count: 1 }
            }
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
        // A field this model refuses (a reasoning model's max_tokens or temperature): asked again
        // without it, once per field, and remembered so the next question goes out right at once.
        if (error instanceof RemoteHttpError && error.refusedField !== null && firstAt === null) {
          const adaptation = adaptationFor(error.refusedField, error.serverMessage)
          if (adapt(body, [adaptation])) {
            remember(this.endpoint.baseUrl, this.model, adaptation)
            attempt--
            continue
          }
        }
        // Remembered for the engine and model, so the next question is cut to fit before it goes.
        if (error instanceof RemoteHttpError && error.overflow)
          learnContextSize(this.endpoint.baseUrl, this.model, error.overflow.contextSize)
        const explained = this.explain(error, ex, streamed)
        const retryable =
          error instanceof StreamCut ||
          error instanceof NetworkError ||
          (error instanceof RemoteHttpError && RETRY_STATUSES.has(error.status))
        // A server that says when to come back (Retry-After: rate limits, llama-server loading
        // a model) is waited for when that is soon; one that asks for longer is told to the user.
        const asked = error instanceof RemoteHttpError ? error.retryAfterMs : null
        if (firstAt === null && retryable && attempt < this.retries && (asked === null || asked <= MAX_RETRY_AFTER_MS)) {
          await sleep(Math.max(asked ?? 0, BACKOFF_MS[attempt] ?? BACKOFF_MS.at(-1)!), signal)
          continue
        }
        throw explained
      } finally {
        clearTimeout(silence)
        ex?.close()
      }
    }
    // No token came after it (the answer ended at once): the opening is still the answer's.
    if (opening) yield { kind: 'tokens', text: opening, count: 0 }
    yield this.done(started, streamed, firstAt, lastAt, overran ? 'max-tokens' : stopReason(finish), counts, tools)
  }

  /** Turns what broke into the sentence the user reads; tokens already shown stay shown. */
  private explain(error: unknown, ex: Exchange | null, streamed: number): Error {
    const origin = originOf(this.endpoint.baseUrl)
    if (ex?.signal.reason instanceof TimeoutReason) {
      return streamed > 0
        ? new AppError(
            'remote',
            `The server at ${origin} stopped answering after ${tokens(streamed)} (silent for ${seconds(this.idleTimeoutMs)}).`,
          )
        : new AppError('remote', `The server at ${origin} accepted the request but sent nothing for ${seconds(this.idleTimeoutMs)}.`)
    }
    if (error instanceof SseError) {
      return new AppError('remote', `The server at ${origin} sent ${error.message} in its stream; the answer was ended.`)
    }
    if (error instanceof AppError) return error
    const why = error instanceof StreamCut ? error.message : 'the connection broke'
    return streamed > 0
      ? new AppError('remote', `The server at ${origin} stopped answering after ${tokens(streamed)} (${why}).`, { cause: error })
      : new AppError('remote', `The server at ${origin} stopped answering before the first token (${why}).`, { cause: error })
  }

  private done(
    started: number,
    streamed: number,
    firstAt: number | null,
    lastAt: number,
    reason: GenerationStats['stopReason'],
    counts: Counts,
    tools: ToolCallCollector,
  ): GenerateChunk {
    const tokensOut = counts.completionTokens ?? counts.predictedN ?? streamed
    // The usage or timings at the end of an answer; before them (an answer stopped, or cut at
    // maxTokens), llama-server's progress events, which said the prompt's size at its start.
    const cached = counts.cachedTokens ?? counts.cacheN ?? counts.progressCache
    const timed = counts.promptN !== undefined || counts.cacheN !== undefined
    const tokensIn = counts.promptTokens ?? (timed ? (counts.promptN ?? 0) + (counts.cacheN ?? 0) : (counts.progressTotal ?? 0))
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
        timeToFirstTokenMs: firstTokenMs(started, firstAt),
        // Timed on this side, as the user sees the answer arrive. An answer that arrived in one
        // network read (a loaded machine, a buffering proxy, a server that ignores stream: true)
        // leaves no span to time; llama-server's own figure stands in where it sends one.
        tokensPerSecond: tokensPerSecond(tokensOut, span, counts.predictedPerSecond),
        totalMs: Math.round(performance.now() - started),
        stopReason: reason,
      },
    }
  }
}

const tokens = (n: number): string => `${n} token${n === 1 ? '' : 's'}`

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
