// One HTTP exchange with an OpenAI-compatible server, and every way it can fail turned into
// a sentence the user can act on. Redirects are handled here, by hand: fetch would follow
// one to any host and carry the API key along.
import { AppError } from '../ipc/errors.js'
import { baseHref, checkBaseUrl } from './url.js'
import { KEY_CHARACTERS } from './api-key.js'
import { refusedField } from './refused-fields.js'
import { contextOverflow, serverOverflowNumbers, type OverflowNumbers } from '../engine/context-limit.js'

export interface RemoteEndpoint {
  baseUrl: string
  apiKey: string | null
  allowUnencrypted: boolean
}

/** A failure the server answered with: kept apart so callers can tell a refused image or a retryable status. */
export class RemoteHttpError extends AppError {
  /** The model refused the request's images (it cannot see): the chat asks again without them. */
  readonly imagesRefused: boolean
  /** How long the server asked to wait before trying again (Retry-After), when it said. */
  readonly retryAfterMs: number | null
  /** A request field the model refused that the request can do without (see refused-fields.ts). */
  readonly refusedField: string | null
  /** A prompt longer than the context: its tokens and the context's, when the server said them. */
  readonly overflow: OverflowNumbers | null

  constructor(
    readonly status: number,
    /** The server's own error text, when it gave one. */
    readonly serverMessage: string | null,
    message: string,
    more: {
      code?: 'remote' | 'context-overflow'
      imagesRefused?: boolean
      retryAfterMs?: number | null
      refusedField?: string | null
      overflow?: OverflowNumbers | null
    } = {},
  ) {
    super(more.code ?? 'remote', message)
    this.imagesRefused = more.imagesRefused ?? false
    this.retryAfterMs = more.retryAfterMs ?? null
    this.refusedField = more.refusedField ?? null
    this.overflow = more.overflow ?? null
  }
}

/** Retry-After as milliseconds from now: seconds, or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

const BAD_KEY =
  'The API key holds a character a request cannot carry (a space, a line break or an invisible character, often picked up in copying): paste it again in Settings.'

const MAX_REDIRECTS = 3
/** An error body is read only this far: enough for any JSON error, not a whole web page. */
const ERROR_BODY_BYTES = 64 * 1024

export interface ExchangeOptions {
  method: 'GET' | 'POST'
  /** Appended to the base URL, e.g. "/models". */
  path: string
  body?: unknown
  accept?: string
  /** How long the server may take to answer with headers (and, with wholeExchange, with its whole body). */
  headersTimeoutMs: number
  /** The timeout runs until close(): for short answers read whole, where no silence timer watches the body. */
  wholeExchange?: boolean
  /** The model the request names, for messages about a model the server refuses. */
  model?: string
  /** The request carries images: a refusal that talks about images is about them. */
  images?: boolean
  signal?: AbortSignal
  fetch: typeof fetch
  /**
   * Send once more when the connection closed before any answer. For a server whose requests
   * are safe to repeat (our own llama-server child): fetch reuses a kept-alive socket that the
   * server may be closing at that very moment, since its idle limit (5 s) and undici's (4 s,
   * on a timer that can fire a second late) are close, and fetch never resends a POST itself.
   */
  resendOnClosedSocket?: boolean
}

export interface Exchange {
  response: Response
  url: string
  /** Aborts the request (and its body) at once. */
  abort(reason?: unknown): void
  signal: AbortSignal
  /** Ends the exchange: aborts whatever is left of the body and stops listening to the caller's signal. */
  close(): void
}

/** The network failed before the server answered (refused, reset, unreachable): worth another try. */
export class NetworkError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('remote', message, options)
  }
}

/** Why a request was cut by our own timer rather than by the caller or the network. */
export class TimeoutReason extends Error {
  constructor(readonly phase: 'headers' | 'silence') {
    super(phase)
  }
}

export function originOf(href: string): string {
  return new URL(href).origin
}

/** Sends one request, following only redirects that keep the API key on the same server. */
export async function exchange(endpoint: RemoteEndpoint, o: ExchangeOptions): Promise<Exchange> {
  const base = checkBaseUrl(endpoint.baseUrl, endpoint.allowUnencrypted)
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(o.signal?.reason)
  if (o.signal?.aborted) controller.abort(o.signal.reason)
  o.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => controller.abort(new TimeoutReason('headers')), o.headersTimeoutMs)
  const headers: Record<string, string> = { accept: o.accept ?? 'application/json' }
  if (o.body !== undefined) headers['content-type'] = 'application/json'
  if (endpoint.apiKey) {
    // fetch refuses such a header with the whole value in its message, which would put the key
    // in the window and the log; a key saved before keys were checked may still hold one.
    if (!KEY_CHARACTERS.test(endpoint.apiKey)) throw new AppError('remote', BAD_KEY)
    headers.authorization = `Bearer ${endpoint.apiKey}`
  }
  const body = o.body === undefined ? undefined : JSON.stringify(o.body)
  let url = `${baseHref(base)}${o.path}`
  try {
    for (let hop = 0; ; hop++) {
      let response: Response
      try {
        const send = (): Promise<Response> =>
          o.fetch(url, { method: o.method, headers, body, redirect: 'manual', signal: controller.signal })
        response = await send().catch((error: unknown) => {
          if (o.resendOnClosedSocket && !controller.signal.aborted && closedSocket(error)) return send()
          throw error
        })
      } catch (error) {
        throw describeFetchFailure(error, url, controller.signal, o.headersTimeoutMs)
      }
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        await response.body?.cancel().catch(() => undefined)
        url = checkRedirect(url, response.headers.get('location'), endpoint, hop)
        continue
      }
      if (!response.ok) throw await describeFailure(response, url, base, o, Boolean(endpoint.apiKey))
      return {
        response,
        url,
        abort: (reason) => controller.abort(reason),
        signal: controller.signal,
        close: () => {
          clearTimeout(timer)
          o.signal?.removeEventListener('abort', onAbort)
          controller.abort()
        },
      }
    }
  } catch (error) {
    o.signal?.removeEventListener('abort', onAbort)
    controller.abort()
    throw error
  } finally {
    // The headers came (or never will): from here a stream's own silence timer takes over.
    if (!o.wholeExchange || controller.signal.aborted) clearTimeout(timer)
  }
}

function checkRedirect(from: string, location: string | null, endpoint: RemoteEndpoint, hop: number): string {
  const source = new URL(from)
  if (!location) throw new AppError('remote', `The server at ${source.origin} redirected without saying where to.`)
  const target = new URL(location, source)
  // Same server, or the same host moving to https: the key goes nowhere it was not already sent.
  const sameServer = target.origin === source.origin || (target.hostname === source.hostname && target.protocol === 'https:')
  if (!sameServer) {
    throw new AppError(
      'remote',
      `The server at ${source.origin} redirected to ${target.origin}; the request was not sent there, so your API key stays with ${source.origin}. If you trust ${target.origin}, use it as the base URL.`,
    )
  }
  if (hop + 1 >= MAX_REDIRECTS) throw new AppError('remote', `The server at ${source.origin} redirected too many times.`)
  checkBaseUrl(target.origin, endpoint.allowUnencrypted)
  return target.href
}

function closedSocket(error: unknown): boolean {
  const code = error instanceof Error ? (error.cause as { code?: string } | undefined)?.code : undefined
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'
}

function describeFetchFailure(error: unknown, url: string, signal: AbortSignal, headersTimeoutMs: number): Error {
  const origin = originOf(url)
  if (signal.aborted) {
    if (signal.reason instanceof TimeoutReason) {
      return new AppError('remote', `The server at ${origin} did not answer within ${seconds(headersTimeoutMs)}.`)
    }
    return abortError(signal)
  }
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined
  const code = cause?.code ?? ''
  if (code === 'ECONNREFUSED') return new NetworkError(`Nothing answers at ${origin} (connection refused); is the server running?`)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new NetworkError(`The name ${new URL(url).hostname} could not be found; check the address.`)
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return new NetworkError(`The server at ${origin} could not be reached (connection timed out).`)
  }
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH_TOO_LONG/.test(code)) {
    return new AppError(
      'remote',
      `The server at ${origin} does not answer https:// (${code}); if it serves plain http (llama-server does unless started with --ssl-key-file), use its http:// address.`,
    )
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return new AppError('remote', `The server at ${origin} has a certificate that has expired (${code}); it needs a new one.`)
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new AppError(
      'remote',
      `The server at ${origin} has a certificate for another name than ${new URL(url).hostname} (${code}); use the name its certificate is for.`,
    )
  }
  if (/CERT|SSL|TLS/.test(code)) {
    // A certificate made on the server (llama-server's --ssl-cert-file with a self-made one) or
    // by a company's own authority: saying only "not trusted" left the user nothing to do.
    return new AppError(
      'remote',
      `The server at ${origin} has a certificate this app does not trust: it is self-signed, or signed by an authority the app does not know (${code}). Give the server a certificate from a public authority (Let's Encrypt; a proxy such as Caddy gets one), or, on your own network, use its http:// address.`,
    )
  }
  const detail = cause?.message ?? (error instanceof Error ? error.message : String(error))
  return new NetworkError(`The server at ${origin} could not be reached: ${detail}.`, { cause: error })
}

/** The error for a request the caller cancelled: the caller knows, so it says little. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason : new DOMException('The request was cancelled.', 'AbortError')
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/** Reads a short answer whole (at most maxBytes), with the sentence for a timeout or a broken connection. */
export async function readWhole(ex: Exchange, maxBytes: number, timeoutMs: number): Promise<string> {
  try {
    return (await readCapped(ex.response, maxBytes)).text
  } catch (error) {
    if (ex.signal.reason instanceof TimeoutReason) {
      throw new AppError('remote', `The server at ${originOf(ex.url)} did not answer within ${seconds(timeoutMs)}.`)
    }
    if (ex.signal.aborted) throw abortError(ex.signal)
    throw new NetworkError(`The server at ${originOf(ex.url)} broke the connection in the middle of its answer.`, { cause: error })
  }
}

/** Reads at most maxBytes of a body, then drops the rest. */
export async function readCapped(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false }
  const parts: Uint8Array[] = []
  let length = 0
  let truncated = false
  for await (const chunk of response.body) {
    const bytes = chunk as Uint8Array
    parts.push(bytes)
    length += bytes.byteLength
    if (length > maxBytes) {
      truncated = true
      await response.body.cancel().catch(() => undefined)
      break
    }
  }
  const all = Buffer.concat(parts).subarray(0, maxBytes)
  return { text: new TextDecoder().decode(all), truncated }
}

export function looksLikeHtml(contentType: string | null, text: string): boolean {
  return /html/i.test(contentType ?? '') || /^\s*<(!doctype|html|head|body)/i.test(text)
}

/**
 * The server's error: its message, in the shapes OpenAI, llama-server, vLLM, Ollama and FastAPI
 * use, its type and code words (OpenAI's "context_length_exceeded", llama-server's
 * "exceed_context_size_error"), and for a prompt longer than the context, the numbers:
 * llama-server sends them as n_prompt_tokens and n_ctx beside its message, others only in it.
 */
export function serverError(text: string): {
  message: string | null
  kind: string
  param: string | null
  overflow: OverflowNumbers | null
} {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { message: null, kind: '', param: null, overflow: null }
  }
  const pick = (v: unknown): string | null => {
    if (typeof v === 'string' && v.trim()) return v.trim()
    if (Array.isArray(v)) return pick(v[0])
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>
      return pick(o.message) ?? pick(o.error) ?? pick(o.detail)
    }
    return null
  }
  const message = pick(json)
  const error = json && typeof json === 'object' ? (json as Record<string, unknown>).error : null
  const fields = error && typeof error === 'object' ? (error as Record<string, unknown>) : {}
  const kind = [fields.type, fields.code].filter((v) => typeof v === 'string').join(' ')
  // OpenAI names the request field an error is about.
  const param = fields.param
  const counted = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null)
  const needed = counted(fields.n_prompt_tokens)
  const contextSize = counted(fields.n_ctx)
  return {
    message: message === null || message.length <= 300 ? message : `${message.slice(0, 300)}…`,
    kind,
    param: typeof param === 'string' ? param : null,
    overflow:
      needed !== null && contextSize !== null
        ? { needed, imageTokens: 0, contextSize }
        : message === null
          ? null
          : serverOverflowNumbers(message),
  }
}

export function htmlAnswer(url: string): AppError {
  return new AppError(
    'remote',
    `The server at ${originOf(url)} answered with a web page, not the OpenAI API; check the base URL (it usually ends in /v1).`,
  )
}

/**
 * A failure answered with a web page. Only a missing page says the address is wrong; a proxy
 * (nginx, Cloudflare) in front of a working server answers its own page for a server that is
 * down or restarting (502-504, 520-524, retried as such) and for a body over its limit (413:
 * nginx's default 1 MB, two screenshots).
 */
function htmlFailure(status: number, url: string): AppError {
  const origin = originOf(url)
  if (status === 404) return htmlAnswer(url)
  if (status === 413)
    return new RemoteHttpError(
      status,
      null,
      `The server at ${origin}, or a proxy in front of it, refused the request as too large (413): fewer or smaller images, or a larger limit on the proxy (nginx: client_max_body_size), let it through.`,
    )
  if ((status >= 502 && status <= 504) || (status >= 520 && status <= 524))
    return new RemoteHttpError(
      status,
      null,
      `A proxy at ${origin} could not get an answer from the inference server behind it (${status}); is it running, or still loading its model?`,
    )
  return new RemoteHttpError(status, null, `The server at ${origin} failed (${status}) and answered with a web page instead of saying why.`)
}

const MODEL_WORDS = /\bmodel/i
/** llama-server, vLLM and OpenAI on a prompt longer than the context; the chat service then drops the oldest turns. */
const CONTEXT_WORDS = /context[_ ](length|size|window)|exceed_context|maximum context|exceeds the available context/i
/** How servers word a refused image: llama-server names the mmproj, vLLM and others the modality. */
export const IMAGE_WORDS = /image|multimodal|multi-modal|vision|mmproj/i

async function describeFailure(
  response: Response,
  url: string,
  base: URL,
  { model, images }: Pick<ExchangeOptions, 'model' | 'images'>,
  hasKey: boolean,
): Promise<AppError> {
  const status = response.status
  const { text } = await readCapped(response, ERROR_BODY_BYTES).catch(() => ({ text: '', truncated: false }))
  if (looksLikeHtml(response.headers.get('content-type'), text) && status !== 401 && status !== 403) return htmlFailure(status, url)
  const { message: said, kind, param, overflow } = serverError(text)
  const because = said ? `: ${said}` : '.'
  if ((status === 400 || status === 413 || status === 422) && CONTEXT_WORDS.test(`${kind} ${said ?? ''}`)) {
    // With the numbers, the same sentence as the engine on this computer's: the conversation
    // reads them back (overflowNumbers) to leave out enough at once, and the remote engine
    // remembers the context, so the next question is cut to fit before it is sent. A prompt
    // that fits but leaves too little for max_tokens (vLLM counts both) keeps the server's
    // words, which say so, and which overflowNumbers reads as well.
    const message =
      overflow && overflow.needed >= overflow.contextSize
        ? contextOverflow(overflow.needed, 0, overflow.contextSize).message
        : `The conversation is longer than the model on the server can take (${status})${because}`
    return new RemoteHttpError(status, said, message, { code: 'context-overflow', overflow })
  }
  if (status === 401 || status === 403) {
    const message = hasKey
      ? `The server refused the API key (${status}).`
      : `The server asks for an API key (${status}); add one in Settings.`
    return new RemoteHttpError(status, said, message)
  }
  if (images && said !== null && IMAGE_WORDS.test(said)) {
    const which = model === undefined ? 'The model' : `The model “${model}”`
    return new RemoteHttpError(status, said, `${which} on this server does not accept images (${status}): ${said}`, { imagesRefused: true })
  }
  const refused = status === 400 || status === 422 ? refusedField(param, said) : null
  if (refused !== null) {
    const which = model === undefined ? 'The model' : `The model “${model}”`
    return new RemoteHttpError(status, said, `${which} on this server refused the request's ${refused} (${status})${because}`, {
      refusedField: refused,
    })
  }
  if (model !== undefined && said !== null && MODEL_WORDS.test(said) && status >= 400 && status < 500) {
    // Not "lists the model": an answer has no list at hand, and the model may have gone from it
    // since the engine was saved (the connection test says which models it serves now).
    return new RemoteHttpError(status, said, `The server refused the model “${model}” (${status})${because}`)
  }
  if (status === 404) return new RemoteHttpError(status, said, `No OpenAI-compatible API at ${baseHref(base)} (404).`)
  const wait = retryAfterMs(response.headers.get('retry-after'))
  if (status === 429 || (status === 503 && wait !== null)) {
    const when = wait === null ? '' : ` It asks to try again in ${seconds(Math.ceil(wait / 1000) * 1000)}.`
    const reason = said ? `: ${said.replace(/\.$/, '')}.` : '.'
    return new RemoteHttpError(status, said, `The server is busy (${status})${reason}${when}`, { retryAfterMs: wait })
  }
  if (status >= 500) {
    return new RemoteHttpError(
      status,
      said,
      said ? `The server failed (${status}): ${said}` : `The server failed (${status}) without saying why.`,
    )
  }
  return new RemoteHttpError(status, said, `The server refused the request (${status})${because}`)
}
