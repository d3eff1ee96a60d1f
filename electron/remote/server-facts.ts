// What a server tells about a model besides its answers: the context a prompt must fit in, and
// whether it is llama-server, which takes fields an OpenAI server would refuse. Kept for this
// run of the app, by base URL and model, as refused fields are (refused-fields.ts): a remote
// engine is made afresh for each answer, and what the last one learnt must not be asked again.
import { AppError } from '../ipc/errors.js'
import { JSON_BODY_BYTES, parseJson } from './completion.js'
import { exchange, NetworkError, readWhole, type RemoteEndpoint } from './http.js'

export interface ServerFacts {
  /** llama-server answered its /props: it takes return_progress, which OpenAI refuses. */
  llamaServer: boolean
  /**
   * The tokens one request's prompt and answer share (llama-server's n_ctx per slot, vLLM's
   * max_model_len); null while unknown. Known, the conversation leaves out its oldest turns
   * before it asks, instead of being refused first.
   */
  contextSize: number | null
}

const keyOf = (baseUrl: string, model: string): string => `${baseUrl}\n${model}`

/** What /props said; absent: not asked yet, or the last attempt could not reach the server. */
const props = new Map<string, Promise<ServerFacts>>()
/** The context a refusal named: newer than /props (the server may have restarted with another one). */
const refused = new Map<string, number>()
/** What /props said, once it has said it. */
const read = new Map<string, ServerFacts>()

/** What is known now, without asking. */
export function factsOf(baseUrl: string, model: string): ServerFacts {
  const key = keyOf(baseUrl, model)
  const said = read.get(key)
  return { llamaServer: said?.llamaServer ?? false, contextSize: refused.get(key) ?? said?.contextSize ?? null }
}

/** A refusal named the context the model has on this server. */
export function learnContextSize(baseUrl: string, model: string, contextSize: number): void {
  if (Number.isInteger(contextSize) && contextSize > 0) refused.set(keyOf(baseUrl, model), contextSize)
}

/** Forgets everything learnt (tests, and a test of the engine in Settings: the server may have changed). */
export function forgetFacts(baseUrl?: string): void {
  for (const map of [props, refused, read]) {
    for (const key of map.keys()) if (baseUrl === undefined || key.startsWith(`${baseUrl}\n`)) map.delete(key)
  }
}

/**
 * Where llama-server answers /props: its root, which is the base URL without the /v1 that its
 * OpenAI routes add (a proxy's prefix, or llama-server's --api-prefix, stays).
 */
export function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')
}

export interface FactsOptions {
  timeoutMs: number
  fetch: typeof globalThis.fetch
  signal?: AbortSignal
}

/**
 * Asks llama-server's GET /props once per run (default_generation_settings.n_ctx is the context
 * of one slot, the one a prompt must fit in). ?model= is for llama-server's router mode, whose
 * /props without it describes the router (n_ctx 0); a single-model server ignores it. Any other
 * server answers 404 or something else, and is not asked again this run; an unreachable one is
 * asked again next time. Never throws: what it cannot learn is unknown.
 */
export async function readFacts(endpoint: RemoteEndpoint, model: string, options: FactsOptions): Promise<ServerFacts> {
  const key = keyOf(endpoint.baseUrl, model)
  let asking = props.get(key)
  if (!asking) {
    asking = askProps(endpoint, model, options)
    props.set(key, asking)
    asking.then(
      (facts) => read.set(key, facts),
      () => props.delete(key),
    )
  }
  await asking.catch(() => undefined)
  return factsOf(endpoint.baseUrl, model)
}

async function askProps(endpoint: RemoteEndpoint, model: string, { timeoutMs, fetch, signal }: FactsOptions): Promise<ServerFacts> {
  const unknown: ServerFacts = { llamaServer: false, contextSize: null }
  try {
    const ex = await exchange(
      { ...endpoint, baseUrl: serverRoot(endpoint.baseUrl) },
      { method: 'GET', path: `/props?model=${encodeURIComponent(model)}`, headersTimeoutMs: timeoutMs, wholeExchange: true, signal, fetch },
    )
    try {
      const json = parseJson(await readWhole(ex, JSON_BODY_BYTES, timeoutMs))
      const settings = isObject(json) ? json.default_generation_settings : undefined
      if (!isObject(settings)) return unknown
      const nCtx = settings.n_ctx
      return { llamaServer: true, contextSize: typeof nCtx === 'number' && Number.isInteger(nCtx) && nCtx > 0 ? nCtx : null }
    } finally {
      ex.close()
    }
  } catch (error) {
    // Unreachable, or the question was cancelled: not an answer, so asked again next time.
    if (error instanceof NetworkError || signal?.aborted || !(error instanceof AppError)) throw error
    return unknown
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
