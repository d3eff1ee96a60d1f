// How the text layer's reading reaches the model: a labelled block before the question,
// bounded in tokens, cut with a note rather than silently, and only where it helps.
import type { ChatMessage } from '../engine/contract.js'
import type { ScreenText, ScreenTextMode } from './types.js'

/** The most the text on a message's images may take of the prompt (all its images together). */
export const SCREEN_TEXT_TOKENS = 1500
/** The room for a message's screen text: SCREEN_TEXT_TOKENS, or a quarter of a smaller model's context (unknown: the default). */
export function screenTextBudget(contextSize: number | null): number {
  return contextSize ? Math.min(SCREEN_TEXT_TOKENS, Math.floor(contextSize / 4)) : SCREEN_TEXT_TOKENS
}

/** 'auto' gives the model an image's text when it holds at least this many words; a logo or a
 *  caption on a photo is what the model sees well enough itself. */
export const AUTO_MIN_WORDS = 4

export interface ScreenTextBlock {
  /** The question with the text of its images before it. */
  text: string
  /** What the answer should say about it (cut to fit, not read). */
  notes: string[]
}

/**
 * Tokens per character of scripts that vocabularies built mostly on English split finely, the
 * most measured on the catalog's models' tokenizers (Qwen 3, Gemma 3) with some room: a Telugu
 * sentence took 149 Qwen tokens for 97 characters, Tamil 109 for 98, Greek 79 for 87, Hindi 75
 * for 83, Thai 45 for 73, Arabic 24 for 64, Russian 24 for 75 (audit repro r6-token-estimate).
 */
const SCRIPT_RATES: readonly { chars: RegExp; perChar: number }[] = [
  // CJK, Hangul, full-width forms: most vocabularies split them singly.
  { chars: /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/gu, perChar: 1 },
  // Indic scripts (Devanagari to Sinhala): a syllable's letter and its signs are often a token each.
  { chars: /[\u0900-\u0dff]/gu, perChar: 2 },
  // Thai and Lao, Greek, Armenian, Georgian.
  { chars: /[\u0e00-\u0eff\u0370-\u03ff\u1f00-\u1fff\u0530-\u058f\u10a0-\u10ff]/gu, perChar: 1.25 },
  // Cyrillic, Hebrew, Arabic (with its presentation forms).
  { chars: /[\u0400-\u052f\u0590-\u06ff\u0750-\u077f\ufb1d-\ufdff\ufe70-\ufeff]/gu, perChar: 0.6 },
]

/**
 * Tokens a text may take, over-counted on purpose so the bound holds for any tokenizer: each
 * script of SCRIPT_RATES at its rate, one per three other characters (English runs near four
 * per token; code, numbers and paths near three).
 */
export function estimateTokens(text: string): number {
  let counted = 0
  let tokens = 0
  for (const { chars, perChar } of SCRIPT_RATES) {
    const found = text.match(chars)?.length ?? 0
    counted += found
    tokens += found * perChar
  }
  return Math.ceil(tokens + (text.length - counted) / 3)
}

/** Whether an image's reading goes to the model under this mode. */
export function givesText(
  mode: ScreenTextMode,
  text: ScreenText | undefined,
  canSee: boolean,
): text is Extract<ScreenText, { status: 'read' }> {
  if (!text || text.status !== 'read' || mode === 'never') return false
  // A model that cannot see has nothing else to go on.
  if (mode === 'always' || !canSee) return true
  return text.text.split(/\s+/u).filter(Boolean).length >= AUTO_MIN_WORDS
}

/**
 * The question as the model gets it: each image's text in a labelled block, then the question.
 * `texts` holds one entry per image of the message, in order; `budget` bounds all blocks together.
 */
export function withScreenText(
  question: string,
  texts: (ScreenText | undefined)[],
  options: { mode: ScreenTextMode; canSee: boolean; budget?: number },
): ScreenTextBlock {
  const notes: string[] = []
  const blocks: string[] = []
  let left = options.budget ?? SCREEN_TEXT_TOKENS
  texts.forEach((text, index) => {
    if (text?.status === 'failed' && options.mode !== 'never') notes.push(`Image ${index + 1}: ${text.reason}`)
    if (!givesText(options.mode, text, options.canSee)) return
    const label = texts.length > 1 ? `image ${index + 1}` : 'the image'
    const head = `Text read from ${label} by on-device OCR (in reading order; it may contain mistakes):`
    const lines = text.text.split('\n')
    const kept: string[] = []
    let cost = estimateTokens(head) + 4
    for (const line of lines) {
      const lineCost = estimateTokens(line) + 1
      if (cost + lineCost > left) break
      kept.push(line)
      cost += lineCost
    }
    const cut = lines.length - kept.length
    if (kept.length === 0) {
      notes.push(`The text on ${label} was left out: there was no room for it in the prompt.`)
      return
    }
    if (cut > 0) notes.push(`The text on ${label} was cut to fit: ${cut} of ${lines.length} lines were left out.`)
    left -= cost
    const tail =
      cut > 0 ? `\n[${cut} more lines not shown: the text on screen is limited to ${options.budget ?? SCREEN_TEXT_TOKENS} tokens]` : ''
    blocks.push(`${head}\n"""\n${kept.join('\n')}${tail}\n"""`)
  })
  return { text: blocks.length ? `${blocks.join('\n\n')}\n\n${question}` : question, notes }
}

/**
 * A user turn as the model gets it with the text layer: the text of its images before the
 * question; for a model that cannot see, that text instead of the images.
 */
export function withImageText(
  message: ChatMessage,
  texts: (ScreenText | undefined)[],
  options: { mode: ScreenTextMode; canSee: boolean; budget?: number },
): { message: ChatMessage; notes: string[] } {
  if (!message.images?.length || options.mode === 'never') return { message, notes: [] }
  const block = withScreenText(message.text, texts, options)
  if (options.canSee) return { message: { ...message, text: block.text }, notes: block.notes }
  const { images: _dropped, ...rest } = message
  // Without the images, a reading that failed left the model nothing: it is told, or it answers
  // as if the message had no image (an earlier question's image is not read again each time).
  const unread = texts.flatMap((t, i) => (t?.status === 'failed' ? [texts.length > 1 ? `image ${i + 1}` : 'the image'] : []))
  const said = unread.length ? `${block.text}\n\n[The text on ${unread.join(', ')} could not be read.]` : block.text
  return { message: { ...rest, text: said }, notes: [...block.notes, NOT_SEEING] }
}

export const NOT_SEEING = 'This model cannot see images: it answered from the text read on them.'
