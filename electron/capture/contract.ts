// Screenshots' part of the IPC contract: the capture in hand, windows to choose from, a
// region, and the quick-ask window's own requests.
import { z } from 'zod'
import { ChatId } from '../chats/contract.js'
import type { ScreenText } from '../ocr/types.js'

export interface CaptureInfo {
  id: string
  /** Physical pixels. */
  width: number
  height: number
  displayId: number
  scaleFactor: number
}

/** An application window that can be captured instead of the whole display. */
export interface WindowSource {
  sourceId: string
  name: string
  /** A small PNG of the window, to recognise it by. */
  thumbnail: Uint8Array
}

export const Selection = z.strictObject({
  x1: z.number().finite(),
  y1: z.number().finite(),
  x2: z.number().finite(),
  y2: z.number().finite(),
})

/** The global screenshot shortcut: the one in force, the one the user chose, and why they differ. */
export interface HotkeyState {
  /** The shortcut registered now; null when it is turned off or the chosen one could not be registered. */
  accelerator: string | null
  /** The shortcut the user chose (saved), null when turned off. */
  saved: string | null
  /** This platform's default shortcut. */
  default: string
  /**
   * Why the shortcut saved is not in force (another application held it at startup); in the
   * answer to a change, why that change was refused. Null when all went well.
   */
  error: string | null
}

/** Longer than any accelerator Electron accepts (every modifier and the longest key name). */
export const MAX_ACCELERATOR_CHARS = 100

/**
 * A new shortcut: an Electron accelerator such as Control+Shift+Space, 'default' for the
 * platform's default, or null (or 'off') for none. Main checks the accelerator itself, and
 * answers with the state (its error says what is wrong): the previous shortcut stays in force.
 */
export const HotkeyChoice = z.strictObject({
  accelerator: z.union([z.null(), z.string().trim().min(1).max(MAX_ACCELERATOR_CHARS)]),
})
export type HotkeyChoice = z.infer<typeof HotkeyChoice>

/** Request/response channels of the capture flow and quick-ask. */
export const captureInvoke = {
  'capture:latest': { request: z.undefined() },
  'capture:bytes': { request: z.strictObject({ id: z.uuid() }) },
  'capture:preview': { request: z.strictObject({ id: z.uuid() }) },
  'capture:region': { request: z.strictObject({ id: z.uuid(), selection: Selection }) },
  'capture:cancel': { request: z.undefined() },
  /** The text on the screenshot in hand (read as soon as it was taken): to show, copy, or ask about. */
  'capture:text': { request: z.strictObject({ id: z.uuid() }) },
  'capture:start-region': { request: z.undefined() },
  'capture:windows': { request: z.undefined() },
  'capture:window': { request: z.strictObject({ sourceId: z.string().min(1).max(200) }) },
  'quick:hide': { request: z.undefined() },
  'quick:open-in-chat': { request: z.strictObject({ chatId: ChatId }) },
  'hotkey:get': { request: z.undefined() },
  'hotkey:set': { request: HotkeyChoice },
} as const

export interface CaptureResponses {
  'capture:latest': CaptureInfo | null
  'capture:bytes': Uint8Array
  'capture:preview': Uint8Array
  'capture:region': CaptureInfo
  'capture:cancel': null
  'capture:text': ScreenText
  'capture:start-region': null
  'capture:windows': WindowSource[]
  'capture:window': CaptureInfo
  'quick:hide': null
  'quick:open-in-chat': null
  'hotkey:get': HotkeyState
  'hotkey:set': HotkeyState
}
