// Request fields a model may refuse although the server takes them for others: OpenAI's
// reasoning models (o1, o3, o4-mini, gpt-5) refuse max_tokens ("Use 'max_completion_tokens'
// instead") and any temperature or top_p but the default; older Azure deployments refuse
// stream_options. The chat sends its length and temperature with every question, so without
// this such a model could not answer at all.

/**
 * Fields that can be renamed or left out and still ask the same question. stop is not here:
 * leaving it out would let an answer run past where the user asked it to end.
 */
const ADAPTABLE = [
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'seed',
  'stream_options',
  'parallel_tool_calls',
  // llama-server's, sent only to a server that answered as llama-server; a proxy in front of
  // one may still refuse it.
  'return_progress',
]
const REFUSAL_WORDS = /unsupported|not supported|does not support|unrecognized|unknown|not permitted|not allowed/i

/**
 * The field a 400/422 error refuses, when it is one the request can do without: OpenAI names
 * it in `param`; servers that do not are recognised by their wording.
 */
export function refusedField(param: string | null, message: string | null): string | null {
  if (param !== null && ADAPTABLE.includes(param)) return param
  if (message === null || !REFUSAL_WORDS.test(message)) return null
  return ADAPTABLE.find((field) => new RegExp(`(^|[^\\w])${field}([^\\w]|$)`).test(message)) ?? null
}

export type Adaptation = { field: string; renameTo?: string }

/** What to do about a refused field: max_tokens becomes max_completion_tokens where the server says so. */
export function adaptationFor(field: string, message: string | null): Adaptation {
  return field === 'max_tokens' && /max_completion_tokens/.test(message ?? '') ? { field, renameTo: 'max_completion_tokens' } : { field }
}

/** Applies adaptations to a request body; true when the body changed. */
export function adapt(body: Record<string, unknown>, adaptations: Iterable<Adaptation>): boolean {
  let changed = false
  for (const { field, renameTo } of adaptations) {
    if (!(field in body)) continue
    if (renameTo !== undefined) body[renameTo] = body[field]
    delete body[field]
    changed = true
  }
  return changed
}

/**
 * What each server's models refused, for this run of the app, keyed by base URL and model: the
 * next question to the same model goes out adapted, without a refused request first.
 */
const remembered = new Map<string, Map<string, Adaptation>>()

export function rememberedFor(baseUrl: string, model: string): Adaptation[] {
  return [...(remembered.get(`${baseUrl}\n${model}`)?.values() ?? [])]
}

export function remember(baseUrl: string, model: string, adaptation: Adaptation): void {
  const key = `${baseUrl}\n${model}`
  const known = remembered.get(key) ?? new Map<string, Adaptation>()
  known.set(adaptation.field, adaptation)
  remembered.set(key, known)
}
