// Reading a request's body within its limit, and writing the API's answers: JSON, SSE events,
// and errors as OpenAI error bodies.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError } from './openai-types.js'

/** A body over the limit is still read, and thrown away, up to this many times the limit (see readBody). */
const DISCARD_FACTOR = 2
/** ...and for at most this long. */
const DISCARD_MS = 10_000

export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes)
  if (!body) throw new ApiError(413, `The request body is larger than ${maxBytes} bytes.`, 'invalid_request_error', 'request_too_large')
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new ApiError(400, `The request body is not valid JSON (${(error as Error).message}).`, 'invalid_request_error', 'invalid_json')
  }
}

/**
 * The body, or null when it is larger than maxBytes. A client that sends a large body reads
 * the response only after it has written the body, so closing the connection on it at once
 * gives it a broken pipe instead of the 413: a body over the limit is read on and thrown
 * away, up to DISCARD_FACTOR times the limit and DISCARD_MS, and the 413 closes the
 * connection after that.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const discardBytes = DISCARD_FACTOR * maxBytes
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > discardBytes) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let discardTimer: NodeJS.Timeout | undefined
    const overLimit = (): void => {
      chunks.length = 0
      discardTimer = setTimeout(() => finish(null), DISCARD_MS)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > discardBytes) return finish(null)
      if (discardTimer) return
      if (size > maxBytes) overLimit()
      else chunks.push(chunk)
    }
    const onEnd = (): void => finish(discardTimer ? null : Buffer.concat(chunks))
    const finish = (body: Buffer | null): void => {
      clearTimeout(discardTimer)
      // The error listener stays: a client that goes away later must not make an unhandled error.
      req.off('data', onData).off('end', onEnd)
      resolve(body)
    }
    req.on('data', onData).on('end', onEnd).on('error', reject)
    if (declared > maxBytes) overLimit()
  })
}

export function sse(res: ServerResponse, data: unknown): void {
  res.write(`data: ${JSON.stringify(data)}\n\n`)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  // A refused body may not have been read to its end: close the connection rather than read the rest.
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(status === 413 ? { connection: 'close' } : {}),
  })
  res.end(text)
}

export function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) return void res.end()
  sendJson(res, error.status, error.body(), error.headers)
}
