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

/** Asking /props, then what it said; absent: not asked yet, or the last attempt could not reach the server. */
interface Asked {
  asking: Promise<ServerFacts>
  facts?: ServerFacts
}
const props = new Map<string, Asked>()
/** The context a refusal named: newer than /props (the server may have restarted with another one). */
const refused = new Map<string, number>()

/** What is known now, without asking. */
export function factsOf(baseUrl: string, model: string): ServerFacts {
  const key = keyOf(baseUrl, model)
  const said = props.get(key)?.facts
  return { llamaServer: said?.llamaServer ?? false, contextSize: refused.get(key) ?? said?.contextSize ?? null }
}

/** A refusal named the context the model has on this server. */
export function learnContextSize(baseUrl: string, model: string, contextSize: number): void {
  if (Number.isInteger(contextSize) && contextSize > 0) refused.set(keyOf(baseUrl, model), contextSize)
}

/** Forgets what was learnt of a server (a test of the engine in Settings: the server may have changed). */
export function forgetFacts(baseUrl: string): void {
  for (const map of [props, refused]) {
    for (const key of map.keys()) if (key.startsWith(`${baseUrl}\n`)) map.delete(key)
  }
}

/**
 * Where llama-server answers /props: its root, which is the base URL without the /v1 that its
 * OpenAI routes add (a proxy's prefix, or llama-server's --api-prefix, stays).
 */
function serverRoot(baseUrl: string): string {
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
  let entry = props.get(key)
  if (!entry) {
    const asked: Asked = { asking: askProps(endpoint, model, options) }
    entry = asked
    props.set(key, asked)
    // Settings may have forgotten this server meanwhile: a late answer or failure touches only its own entry.
    asked.asking.then(
      (facts) => void (asked.facts = facts),
      () => void (props.get(key) === asked && props.delete(key)),
    )
  }
  await entry.asking.catch(() => undefined)
  return factsOf(endpoint.baseUrl, model)
}

async function askProps(endpoint: RemoteEndpoint, model: string, options: FactsOptions): Promise<ServerFacts> {
  try {
    return await readProps({ ...endpoint, baseUrl: serverRoot(endpoint.baseUrl) }, `/props?model=${encodeURIComponent(model)}`, options)
  } catch (error) {
    // Unreachable, or the question was cancelled: not an answer, so asked again next time.
    if (error instanceof NetworkError || options.signal?.aborted || !(error instanceof AppError)) throw error
    return { llamaServer: false, contextSize: null }
  }
}

/**
 * One read of llama-server's GET /props at `path`: an answer with default_generation_settings is
 * llama-server's, and its n_ctx the context of one slot. Throws what the exchange throws (the
 * engine's own llama-server child reads it here too).
 */
export async function readProps(endpoint: RemoteEndpoint, path: string, { timeoutMs, fetch, signal }: FactsOptions): Promise<ServerFacts> {
  const ex = await exchange(endpoint, { method: 'GET', path, headersTimeoutMs: timeoutMs, wholeExchange: true, signal, fetch })
  try {
    const json = parseJson(await readWhole(ex, JSON_BODY_BYTES, timeoutMs))
    const settings = isObject(json) ? json.default_generation_settings : undefined
    if (!isObject(settings)) return { llamaServer: false, contextSize: null }
    const nCtx = settings.n_ctx
    return { llamaServer: true, contextSize: typeof nCtx === 'number' && Number.isInteger(nCtx) && nCtx > 0 ? nCtx : null }
  } finally {
    ex.close()
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
