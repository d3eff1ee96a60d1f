// Every channel's request schema, put together from the domains' contracts. Main only:
// the router validates each renderer payload with these before any handler runs.
import { z } from 'zod'
import { apiInvoke } from '../api/contract.js'
import { captureInvoke } from '../capture/contract.js'
import { chatsInvoke, chatsStream } from '../chats/contract.js'
import { engineInvoke, engineStream } from '../engine/contract.js'
import { modelsInvoke } from '../models/contract.js'
import { enginesInvoke } from '../remote/contract.js'
import { ocrInvoke } from '../ocr/contract.js'
import type { InvokeChannel, StreamChannel } from './contract.js'

export const StreamId = z.uuid()

export const invokeChannels = {
  'app:info': { request: z.undefined() },
  ...engineInvoke,
  ...chatsInvoke,
  ...apiInvoke,
  ...modelsInvoke,
  ...captureInvoke,
  ...enginesInvoke,
  ...ocrInvoke,
} as const satisfies Record<InvokeChannel, { request: z.ZodType }>

export const streamChannels = {
  ...engineStream,
  ...chatsStream,
} as const satisfies Record<StreamChannel, { request: z.ZodType }>

export const StreamStart = z.strictObject({
  channel: z.string().max(64),
  streamId: StreamId,
  request: z.unknown(),
})
export const StreamCancel = z.strictObject({ streamId: StreamId })

/** Turns a zod failure into one readable line: where, and what was wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ')
}
