// The one gate every request passes first: its Host header must name this server on loopback
// (a web page on another name that resolves to 127.0.0.1, DNS rebinding, sends its own
// name), a browser's Origin must be one the user allowed (CORS is off until then), and
// everything but a CORS preflight needs the key. Then the path and method pick the route.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from './openai-types.js'
import { originAllowed } from './origins.js'

/**
 * What a preflight from an allowed origin is told: the methods the routes answer, the
 * headers a client sends (the key, JSON, and the platform headers OpenAI's JS client adds,
 * so that client works from an allowed page), and how long the browser may remember it.
 */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': [
    'authorization',
    'content-type',
    'x-stainless-arch',
    // The client's helpers (chat.completions.parse, .stream, runTools) name themselves in it.
    'x-stainless-helper-method',
    'x-stainless-lang',
    'x-stainless-os',
    'x-stainless-package-version',
    'x-stainless-retry-count',
    'x-stainless-runtime',
    'x-stainless-runtime-version',
    'x-stainless-timeout',
  ].join(', '),
  'access-control-max-age': '600',
}

export type Route = '/v1/models' | '/v1/chat/completions'

/** Each known path and the one method it answers; others get 405 with this as Allow. */
const ROUTES = new Map<string, { route: Route; method: string }>([
  ['/v1/models', { route: '/v1/models', method: 'GET' }],
  ['/v1/chat/completions', { route: '/v1/chat/completions', method: 'POST' }],
])

/** What the gate checks against; a running server changes the origins and the key (ApiServer.update). */
export interface GateSettings {
  /** The Host values that name this server, lower case. */
  ownHosts: ReadonlySet<string>
  allowedOrigins: readonly string[]
  /** keyDigest of the key the server takes. */
  key: Buffer
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest()
}

/** The auth scheme is case-insensitive (RFC 9110); comparing fixed-length digests keeps the check constant-time whatever the length sent. */
function authorized(header: string | undefined, key: Buffer): boolean {
  const bearer = /^bearer +(\S+)$/i.exec(header ?? '')
  return bearer !== null && timingSafeEqual(keyDigest(bearer[1]!), key)
}

/**
 * The route the request takes, or null when the gate has answered it itself (a CORS
 * preflight); a request the gate refuses throws the ApiError that says why.
 */
export function passGate(req: IncomingMessage, res: ServerResponse, settings: GateSettings): Route | null {
  const host = req.headers.host
  if (host === undefined || !settings.ownHosts.has(host.toLowerCase()))
    throw new ApiError(
      421,
      `This server answers only requests addressed to ${[...settings.ownHosts].join(', ')}; the Host header was ${host === undefined ? 'missing' : `'${host}'`}.`,
      'invalid_request_error',
      'invalid_host',
    )
  // Every answer depends on the Origin sent: caches must keep them apart.
  res.setHeader('vary', 'Origin')
  const origin = req.headers.origin
  if (origin !== undefined) {
    if (!originAllowed(origin, settings.allowedOrigins))
      throw new ApiError(
        403,
        `Web pages from ${origin} may not use this API; the app’s settings list the origins that may.`,
        'invalid_request_error',
        'origin_not_allowed',
      )
    res.setHeader('access-control-allow-origin', origin)
    // A preflight carries no key (browsers never send one with it): it is answered before the key is checked.
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, PREFLIGHT_HEADERS)
      res.end()
      return null
    }
  }
  if (!authorized(req.headers.authorization, settings.key)) {
    throw new ApiError(
      401,
      'Missing or wrong API key. Use the key shown in the app’s settings as a Bearer token.',
      'authentication_error',
      'invalid_api_key',
    )
  }
  const path = pathOf(req.url ?? '/')
  const known = ROUTES.get(path)
  if (!known) throw new ApiError(404, `Unknown endpoint: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url')
  if (req.method !== known.method)
    throw new ApiError(405, `Use ${known.method} for ${path}.`, 'invalid_request_error', 'method_not_allowed', null, {
      allow: known.method,
    })
  return known.route
}

/** The request's path; a request line whose URL cannot be read (a bad host in its absolute form) is a 400, not a 500. */
function pathOf(url: string): string {
  try {
    return new URL(url, 'http://localhost').pathname.replace(/\/+$/, '')
  } catch {
    throw new ApiError(400, 'The request URL cannot be read.', 'invalid_request_error', 'invalid_url')
  }
}
