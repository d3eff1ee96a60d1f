// The local API's bounds on what one request, and the server as a whole, may take.
import { MAX_INPUT_PIXELS } from '../images/budget.js'

export interface ApiLimits {
  bodyBytes: number
  imagesPerRequest: number
  imagePixels: number
  /** How long a request waits for the engine to finish loading or reloading a model before it fails. */
  modelWaitMs: number
  /**
   * How long a new connection may stay silent before its first request. Node times out a
   * request whose headers are slow, but never a connection that sends nothing: about a
   * thousand of them used up the main process's file handles, and chats could not be read.
   */
  firstRequestMs: number
  /** Connections held at once; more are closed as they come. */
  maxConnections: number
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  bodyBytes: 32 * 1024 * 1024,
  imagesPerRequest: 8,
  imagePixels: MAX_INPUT_PIXELS,
  modelWaitMs: 60_000,
  firstRequestMs: 10_000,
  maxConnections: 256,
}
