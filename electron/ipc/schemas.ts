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
  return specificIssues(error.issues)
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ')
}

/** The first field an error is about, as a path ('messages.0.content.0.image_url.url'); '' for the payload itself. */
export function issuePath(error: z.ZodError): string {
  return specificIssues(error.issues)[0]?.path.join('.') ?? ''
}

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] }

/**
 * A value that matches no branch of a union said only "Invalid input" (an image part without its
 * URL, a content part of an unknown type). The branch that got furthest into the value (its
 * issue deepest, else the one with fewest issues) says what is wrong, at its place.
 */
function specificIssues(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || !issue.errors?.length) return [issue]
    const depth = (branch: Issue[]): number => Math.max(0, ...branch.map((i) => i.path.length))
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0]!
    if (depth(best) === 0) return [issue]
    return specificIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })))
  })
}
