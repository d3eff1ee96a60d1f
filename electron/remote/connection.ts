// The model list and the connection test: what Settings shows before a remote engine is used.
import type { ImageBudget } from '../images/prepare.js'
import { AppError } from '../ipc/errors.js'
import type { ConnectionReport, KnownImages } from './contract.js'
import { JSON_BODY_BYTES, ModelList, parseJson, readCompletion } from './completion.js'
import { exchange, htmlAnswer, IMAGE_WORDS, looksLikeHtml, originOf, readWhole, RemoteHttpError, type RemoteEndpoint } from './http.js'
import { adapt, adaptationFor, remember, rememberedFor } from './refused-fields.js'

export interface RemoteModel {
  id: string
}

export type { ConnectionReport }

export interface RemoteEngineOptions {
  /**
   * How long a request that does no model work (the model list) may take, headers and body;
   * default 10 s. A generation waits for headers up to idleTimeoutMs instead, since servers send
   * them only once the work starts; an address that does not answer at all fails there after
   * Node's own TCP connect timeout (10 s), which fetch does not let us change.
   */
  connectTimeoutMs?: number
  /**
   * How long the server may stay silent during a generation, before its headers (llama-server
   * sends them only once a slot takes the request; Ollama once the model is loaded) and between
   * events; default 60 s. llama-server's own keep-alive pings count as a sign of life.
   */
  idleTimeoutMs?: number
  /** Attempts after the first, only before the first token arrives; default 2. */
  retries?: number
  fetch?: typeof fetch
  /**
   * How far images are scaled down before they are sent; default the local engine's plain budget
   * (1024 px on the long side, 1 MP). The server's projector is unknown here: a larger budget
   * gives a big vision model more detail at the cost of a larger upload. The engines the user
   * added get the budget of the user's image detail (image-budget.ts).
   */
  imageBudget?: ImageBudget
}

export const DEFAULTS = { connectTimeoutMs: 10_000, idleTimeoutMs: 60_000, retries: 2 }

// A 32x32 PNG: small enough for any server, large enough for projectors with a minimum size.
const PROBE_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAO0lEQVRIiWM4UaFBU8QwakHFaBBpjKaiE6MZTWO0qDgxWppWjFY4J0arzIrRVoXGaMOrYrTpqDGoW9cAi+KgTBYnPAIAAAAASUVORK5CYII='

/** GET {base}/models: the models the server offers. */
export async function listModels(
  endpoint: RemoteEndpoint,
  signal?: AbortSignal,
  options: RemoteEngineOptions = {},
): Promise<RemoteModel[]> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
  const ex = await exchange(endpoint, {
    method: 'GET',
    path: '/models',
    headersTimeoutMs: timeoutMs,
    wholeExchange: true,
    signal,
    fetch: options.fetch ?? fetch,
  })
  try {
    const text = await readWhole(ex, JSON_BODY_BYTES, timeoutMs)
    if (looksLikeHtml(ex.response.headers.get('content-type'), text)) throw htmlAnswer(ex.url)
    const list = ModelList.safeParse(parseJson(text))
    if (!list.success) {
      throw new AppError(
        'remote',
        `The server at ${originOf(ex.url)} answered /models with something other than an OpenAI model list; check the base URL (it usually ends in /v1).`,
      )
    }
    return list.data.data.map((m) => ({ id: m.id }))
  } finally {
    ex.close()
  }
}

/**
 * GET /models (latency), then for the chosen (or first) model a 1-token chat completion with a
 * tiny PNG: accepted, or refused with a message about images (the engine is then text-only).
 * `listed` gets the model list before the probe, which may fail: Settings keeps the list even
 * then (the saved model gone from the server).
 */
export async function testConnection(
  endpoint: RemoteEndpoint,
  model?: string,
  signal?: AbortSignal,
  options: RemoteEngineOptions = {},
  listed?: (models: string[]) => Promise<void>,
): Promise<ConnectionReport> {
  const started = performance.now()
  const models = (await listModels(endpoint, signal, options)).map((m) => m.id)
  const latencyMs = Math.round(performance.now() - started)
  await listed?.(models)
  const chosen = model ?? models[0] ?? null
  if (chosen === null) return { latencyMs, models, images: 'unknown', model: null }
  return { latencyMs, models, images: await probeImages(endpoint, chosen, signal, options), model: chosen }
}

/**
 * A 1-token chat completion with a tiny PNG: whether `model` takes images. Throws what else
 * the server said. Apart from the model list, so that Settings can keep the list even when
 * the probe fails (the saved model gone from the server).
 */
async function probeImages(
  endpoint: RemoteEndpoint,
  chosen: string,
  signal?: AbortSignal,
  options: RemoteEngineOptions = {},
): Promise<KnownImages> {
  // The probe runs the model: a server may first have to load it (Ollama does, on demand).
  const probeTimeoutMs = options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs
  const probe: Record<string, unknown> = {
    model: chosen,
    max_tokens: 1,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PROBE_PNG}` } },
          { type: 'text', text: 'What colour is this?' },
        ],
      },
    ],
  }
  adapt(probe, rememberedFor(endpoint.baseUrl, chosen))
  const ask = async (): Promise<void> => {
    const ex = await exchange(endpoint, {
      method: 'POST',
      path: '/chat/completions',
      body: probe,
      model: chosen,
      images: true,
      headersTimeoutMs: probeTimeoutMs,
      wholeExchange: true,
      signal,
      fetch: options.fetch ?? fetch,
    })
    try {
      const text = await readWhole(ex, JSON_BODY_BYTES, probeTimeoutMs)
      if (looksLikeHtml(ex.response.headers.get('content-type'), text)) throw htmlAnswer(ex.url)
      if (!readCompletion(parseJson(text), 'message')?.hasChoices) {
        throw new AppError(
          'remote',
          `The server at ${originOf(ex.url)} answered a chat completion with something other than the OpenAI API.`,
        )
      }
    } finally {
      ex.close()
    }
  }
  try {
    for (;;) {
      try {
        await ask()
        break
      } catch (error) {
        // A field the model refuses (a reasoning model's max_tokens) says nothing about images:
        // asked again without it, as a question would be (refused-fields.ts).
        if (!(error instanceof RemoteHttpError && error.refusedField !== null)) throw error
        const adaptation = adaptationFor(error.refusedField, error.serverMessage)
        if (!adapt(probe, [adaptation])) throw error
        remember(endpoint.baseUrl, chosen, adaptation)
      }
    }
    return 'accepted'
  } catch (error) {
    const refusedImage =
      error instanceof RemoteHttpError && error.status !== 401 && error.status !== 403 && IMAGE_WORDS.test(error.serverMessage ?? '')
    if (!refusedImage) throw error
    return 'refused'
  }
}
