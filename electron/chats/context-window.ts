// Which turns of a conversation go to the model once they no longer all fit its context. The
// oldest go first, their images with them, the system prompt kept. A follow-up leaves out what
// the answer before it left out, so its prompt begins as that answer's did and the server's
// cache holds all of it but what is new. When more must go, enough goes at once that the answer
// has room and the next few follow-ups fit too.
// Before, every answer left out the fewest turns that fit, worked out afresh from the oldest: the
// first turn kept moved with each follow-up, which then re-read all it kept (16 of 210 tokens
// cached on a context of 256, each image encoded again every time), and the prompt was cut to
// fit with no room left to answer in (one answer stopped at 45 of the 200 tokens it could have).
import type { ChatMessage, GenerationStats, StoredMessage } from '../ipc/contract.js'

/** The conversation as the engine gets it, each message with the stored one it came from (null: the system prompt). */
export interface Prompt {
  messages: ChatMessage[]
  sources: (StoredMessage | null)[]
}

/** Who answers: an answer counts as theirs when the same model (on the same engine) wrote it. */
export interface Writer {
  model: string | null
  /** A remote engine's name; null for this computer's. */
  engineName: string | null
}

/** A prompt's tokens, and how many of them its images take. */
export interface PromptSize {
  total: number
  imageTokens: number
}

/**
 * How much room an answer is kept: its longest answer, but at most a quarter of the context. An
 * answer as long as the context would leave no room for the conversation; a quarter keeps at
 * least half of it for the conversation (with the quarter below, for the follow-ups to grow
 * into) while a model's usual answer, at the default 1,024 tokens, fits in a context of 4,096.
 */
export function answerRoom(maxTokens: number, contextSize: number): number {
  return Math.max(1, Math.min(maxTokens, Math.floor(contextSize / 4)))
}

/**
 * What a prompt is cut to when turns must go: the answer's room and a quarter of the context more
 * are left free. Each drop makes the server read every turn kept again, from the system prompt
 * on; with a quarter of the context for follow-ups to fill, drops come that far apart, at the cost
 * of at most that much more history left out.
 */
export function dropTarget(contextSize: number, room: number): number {
  return Math.max(0, contextSize - room - Math.floor(contextSize / 4))
}

/** Where each turn (a question and what answered it) begins among the messages. */
function turnStarts(messages: ChatMessage[]): number[] {
  return messages.flatMap((m, i) => (m.role === 'user' ? [i] : []))
}

/** The messages with the `dropped` oldest turns left out; system prompts stay. */
export function withoutTurns(messages: ChatMessage[], dropped: number): ChatMessage[] {
  if (dropped <= 0) return messages
  const from = turnStarts(messages)[dropped]
  if (from === undefined) throw new Error(`no turn ${dropped} to start from`)
  return [...messages.slice(0, turnStarts(messages)[0]), ...messages.slice(from)]
}

/** The latest answer the prompt holds that the same writer wrote, with its numbers. */
function lastAnswer(prompt: Prompt, by: Writer): { index: number; stats: GenerationStats } | null {
  for (let i = prompt.messages.length - 1; i >= 0; i--) {
    const source = prompt.sources[i]
    if (source?.role !== 'assistant' || !source.stats || source.stats.tokensIn <= 0) continue
    if (source.model !== by.model || (source.engine ?? null) !== by.engineName) continue
    return { index: i, stats: source.stats }
  }
  return null
}

/** How many oldest turns the prompt leaves out to start as the latest answer's did: 0 with no such answer. */
export function keptWindow(prompt: Prompt, by: Writer): number {
  const last = lastAnswer(prompt, by)
  const dropped = last?.stats.droppedTurns ?? 0
  // Never past the question that answer answered (a stored number is not trusted further).
  const before = turnStarts(prompt.messages).filter((i) => last && i < last.index).length
  return Math.max(0, Math.min(dropped, before - 1))
}

/** Tokens per character of text and per image, as a prompt whose size is known had them. */
interface Rates {
  perChar: number
  perImage: number
}

function ratesOf(messages: ChatMessage[], size: PromptSize): Rates {
  const chars = messages.reduce((n, m) => n + m.text.length, 0)
  const images = messages.reduce((n, m) => n + (m.images?.length ?? 0), 0)
  return {
    perChar: Math.max(0, size.total - size.imageTokens) / Math.max(1, chars),
    perImage: images ? size.imageTokens / images : 0,
  }
}

const estimate = (m: ChatMessage, r: Rates): number => m.text.length * r.perChar + (m.images?.length ?? 0) * r.perImage

/**
 * The prompt's size before it is sent, leaving out `dropped` turns: the latest answer's prompt
 * and answer as the engine counted them, and what follows it (the question) estimated at that
 * prompt's tokens per character and per image. Null when no answer of the writer's started where
 * this prompt starts: the engine's refusal says then.
 */
export function sizeBefore(prompt: Prompt, dropped: number, by: Writer): PromptSize | null {
  const last = lastAnswer(prompt, by)
  if (!last || (last.stats.droppedTurns ?? 0) !== dropped) return null
  const answered = withoutTurns(prompt.messages.slice(0, last.index), dropped)
  const rates = ratesOf(answered, { total: last.stats.tokensIn, imageTokens: last.stats.imageTokens })
  const after = prompt.messages.slice(last.index + 1)
  return {
    total: Math.ceil(last.stats.tokensIn + last.stats.tokensOut + after.reduce((n, m) => n + estimate(m, rates), 0)),
    imageTokens: Math.ceil(last.stats.imageTokens + after.reduce((n, m) => n + (m.images?.length ?? 0), 0) * rates.perImage),
  }
}

/**
 * How many oldest turns to leave out, more than `dropped`, for a prompt of `size` (leaving out
 * `dropped`) to come down to dropTarget. Each turn's share is estimated from the size, by its
 * characters and images; the engine refuses again if it still does not fit. Without a size or a
 * context (a remote server's refusal), one more turn. Null when only the question is left.
 */
export function dropMore(
  messages: ChatMessage[],
  dropped: number,
  size: PromptSize | null,
  contextSize: number | null,
  room: number,
): number | null {
  const starts = turnStarts(messages)
  const last = starts.length - 1
  if (dropped >= last) return null
  if (!size || !contextSize) return dropped + 1
  const rates = ratesOf(withoutTurns(messages, dropped), size)
  const target = dropTarget(contextSize, room)
  let left = size.total
  let next = dropped
  do {
    for (let i = starts[next]!; i < starts[next + 1]!; i++) left -= estimate(messages[i]!, rates)
    next++
  } while (next < last && left > target)
  return next
}
