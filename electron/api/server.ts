// A local OpenAI-compatible API (GET /v1/models, POST /v1/chat/completions with SSE
// streaming and images as data URLs) on 127.0.0.1 only, behind a bearer token. It shares
// the engine with the window through the scheduler; a client that disconnects cancels
// its generation. Requests that arrive while the engine reloads its model after a crash
// wait for the reload instead of failing.
//
// This file is the server's lifecycle: listening, the connection bounds, the settings a
// running server takes (update) and its closing. Every request passes the gate first
// (gate.ts); the completions are answered in completions.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { STOPPING, toApiError } from './api-errors.js'
import { answerCompletion, type CompletionOptions } from './completions.js'
import { modelId } from './engine-state.js'
import { keyDigest, passGate, type GateSettings } from './gate.js'
import { sendError, sendJson } from './http-io.js'
import { DEFAULT_API_LIMITS, type ApiLimits } from './limits.js'

export { DEFAULT_API_LIMITS, type ApiLimits } from './limits.js'
export { engineStateFeed, modelId, type EngineStateFeed } from './engine-state.js'

export interface ApiServerOptions extends CompletionOptions {
  token: string
  port: number
  /** Accept file:// image URLs (off unless the user allows it). */
  allowFileUrls?: boolean
  /** Web pages that may call the API from a browser (see origins.ts); none unless the user lists some. */
  allowedOrigins?: readonly string[]
  limits?: Partial<ApiLimits>
}

/** What a running server takes without a restart: a restart would cut every answer in progress. */
export interface ApiServerUpdate {
  token: string
  allowFileUrls: boolean
  allowedOrigins: readonly string[]
}

export interface ApiServer {
  readonly port: number
  readonly url: string
  /** Applies to every request from now on (a new key refuses the old one at once); requests in progress keep going. */
  update(change: ApiServerUpdate): void
  /** Stops listening; answers in progress end with an error that says the server stopped, then the connections close. */
  close(): Promise<void>
}

/** How long close() waits for answers in progress to send their error before it cuts the connections. */
const CLOSE_GRACE_MS = 2_000

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const limits = { ...DEFAULT_API_LIMITS, ...options.limits }
  /** The Host values are known once it listens (port 0 picks one). */
  const gate: GateSettings = { ownHosts: new Set(), allowedOrigins: options.allowedOrigins ?? [], key: keyDigest(options.token) }
  let allowFileUrls = options.allowFileUrls ?? false
  const completions = { options, limits, allowFileUrls: () => allowFileUrls }
  /** Each completion in progress, by its controller, and the promise that settles when it has answered. */
  const inFlight = new Map<AbortController, Promise<void>>()

  // Node would answer a request with no Host header itself, with a bare 400: the gate answers it, saying why.
  const server: Server = createServer({ requireHostHeader: false }, (req, res) => {
    const controller = new AbortController()
    const answered = handle(req, res, controller).catch((error: unknown) => sendError(res, toApiError(error)))
    inFlight.set(controller, answered)
    void answered.finally(() => inFlight.delete(controller))
  })
  server.maxConnections = limits.maxConnections
  // With no 'timeout' listener on the server, Node destroys a socket that times out.
  server.on('connection', (socket) => socket.setTimeout(limits.firstRequestMs))
  // Once a request has come the bound is lifted: an image's prompt or a long answer can be
  // quiet for longer, and Node's own timeouts (headers, request body, keep-alive) take over.
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0))

  async function handle(req: IncomingMessage, res: ServerResponse, controller: AbortController): Promise<void> {
    const route = passGate(req, res, gate)
    if (route === '/v1/models') return sendJson(res, 200, listModels())
    if (route === '/v1/chat/completions') return answerCompletion(req, res, controller, completions)
  }

  function listModels(): unknown {
    const id = modelId(options.engineState())
    return { object: 'list', data: id ? [{ id, object: 'model', created: 0, owned_by: 'local' }] : [] }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Loopback only: other machines on the network can never reach it.
    server.listen(options.port, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  gate.ownHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
  return {
    port,
    url: `http://127.0.0.1:${port}/v1`,
    update(change) {
      gate.key = keyDigest(change.token)
      gate.allowedOrigins = [...change.allowedOrigins]
      allowFileUrls = change.allowFileUrls
    },
    async close() {
      // No new connections, and idle ones close now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Each answer in progress stops and says why (an SSE error event, or a 503) rather than
      // being cut off mid-stream, which clients read as a network fault or a finished answer.
      const answering = [...inFlight.values()]
      for (const controller of inFlight.keys()) controller.abort(STOPPING)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(answering), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))])
      clearTimeout(timer)
      server.closeAllConnections()
      await closed
    },
  }
}
