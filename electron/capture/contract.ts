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
}
