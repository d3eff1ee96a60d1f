// The values and sentences that more than one module relies on, in one place, so the
// engine, the fit estimate, main and the renderer cannot drift apart. No runtime imports:
// the preload and the renderer import it too.
import type { ChatSettings } from '../chats/contract.js'

/** Bounds of what the renderer may send; the schemas enforce them, the UI states them. */
export const LIMITS = {
  textChars: 100_000,
  messages: 1_000,
  imagesPerMessage: 8,
  /** Encoded image size accepted over IPC; decoding limits live in the image pipeline. */
  imageBytes: 40 * 1024 * 1024,
  pathChars: 4_096,
  maxTokens: 32_768,
  /** A conversation's title; the sidebar's rename field holds to it. */
  titleChars: 200,
  /** A remote engine's name and address; the engine form's fields hold to them. */
  engineNameChars: 80,
  engineAddressChars: 2_048,
} as const

/**
 * Why a question or an edit cannot be sent (longer than the IPC contract takes), in the user's
 * words; null when it can. The windows check it before sending, so the text stays to be shortened.
 */
export function tooLongText(text: string): string | null {
  if (text.length <= LIMITS.textChars) return null
  const n = (v: number): string => v.toLocaleString('en')
  return `The question is ${n(text.length)} characters long; the most one message can hold is ${n(LIMITS.textChars)}. Shorten it, or ask about a part at a time.`
}

/** A new conversation's settings. */
export const DEFAULT_CHAT_SETTINGS: ChatSettings = { maxTokens: 1024, temperature: 0.7 }

/** Sizes the way people read them; main's messages and the renderer share it. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`
}

/** Context size when a load names none: this, or the model's training context if smaller. */
export const DEFAULT_CONTEXT_SIZE = 8192

/**
 * The context a model gets: what the load asks for, else the default; never more than the
 * model was trained on (past it, answers fall apart and the KV cache grows for nothing).
 */
export function contextSizeFor(trainContextSize: number | null, requested?: number): number {
  return Math.min(requested ?? DEFAULT_CONTEXT_SIZE, trainContextSize ?? Infinity)
}

/** The local API's port until the user picks another. */
export const DEFAULT_API_PORT = 11435

/** One sentence per situation the user meets in more than one place. */
export const MESSAGES = {
  noVision: 'The loaded model has no vision projector (mmproj), so it cannot see images. Load a vision model or remove the images.',
  /** The same, where the image is the screenshot quick-ask holds. */
  noVisionScreenshot:
    'The loaded model has no vision projector (mmproj), so it cannot see the screenshot. Load a vision model in the chat window.',
} as const
