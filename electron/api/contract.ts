// The local API's part of the IPC contract: its status and the settings the window changes.
import { z } from 'zod'
import { originListProblem, originProblem } from './origins.js'

export interface ApiStatus {
  enabled: boolean
  running: boolean
  port: number
  /** Base URL for OpenAI clients, while running. */
  url: string | null
  /** The bearer token for this install. */
  token: string
  allowFileUrls: boolean
  /** Web pages allowed to call the API from a browser (CORS): exact origins, or http://localhost:* for any port on localhost. */
  allowedOrigins: string[]
  error: string | null
}

/**
 * Each entry checked on its own, so the message names the one to fix. The rules and their words
 * are in origins.ts, without zod: Settings says the same beside the field (the IPC index re-exports them).
 */
export const AllowedOrigins = z
  .array(
    z.string().superRefine((entry, ctx) => {
      const problem = originProblem(entry)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    }),
  )
  .superRefine((origins, ctx) => {
    const problem = originListProblem(origins)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

export const ApiConfiguration = z.strictObject({
  enabled: z.boolean(),
  port: z.int().min(1024).max(65535),
  allowFileUrls: z.boolean(),
  allowedOrigins: AllowedOrigins,
})
export type ApiConfiguration = z.infer<typeof ApiConfiguration>

/** Request/response channels of the local API's settings. */
export const apiInvoke = {
  'api:status': { request: z.undefined() },
  'api:configure': { request: ApiConfiguration },
  /** A fresh key in place of the current one, for a key that leaked or was handed out too widely. */
  'api:regenerate-key': { request: z.undefined() },
} as const

export interface ApiResponses {
  'api:status': ApiStatus
  'api:configure': ApiStatus
  'api:regenerate-key': ApiStatus
}
