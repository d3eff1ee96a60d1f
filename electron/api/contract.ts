// The local API's part of the IPC contract: its status and the settings the window changes.
import { z } from 'zod'

export interface ApiStatus {
  enabled: boolean
  running: boolean
  port: number
  /** Base URL for OpenAI clients, while running. */
  url: string | null
  /** The bearer token for this install. */
  token: string
  allowFileUrls: boolean
  error: string | null
}

/** Request/response channels of the local API's settings. */
export const apiInvoke = {
  'api:status': { request: z.undefined() },
  'api:configure': { request: z.strictObject({ enabled: z.boolean(), port: z.int().min(1024).max(65535), allowFileUrls: z.boolean() }) },
} as const

export interface ApiResponses {
  'api:status': ApiStatus
  'api:configure': ApiStatus
}
