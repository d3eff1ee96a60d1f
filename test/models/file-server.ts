// A model file server on 127.0.0.1 for download tests: ranges, throttling, dropped
// connections, server errors, and hostile behaviour (going quiet, trickling, sending past
// the end of the file), each switchable.
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FileServerOptions {
  /** Bytes per 20 ms tick; unthrottled when absent. */
  bytesPerTick?: number
  ranges?: boolean
  /** Drop the connection after this many body bytes, on the first N responses. */
  dropAfter?: { bytes: number; times: number }
  /** Answer the next N requests with nothing at all, not even headers, holding them open (counts down). */
  unresponsive?: number
  /** Answer the file requests at these places in `requests` (0-based) with nothing at all, holding them open. */
  silentRequests?: number[]
  /** On the next `times` responses, go quiet after this many body bytes, holding the connection open (counts down). */
  hangAfter?: { bytes: number; times: number }
  /** Keep sending this many bytes past the end of the file, with no Content-Length (chunked), as a broken server might. */
  overrun?: number
  /** Status codes to answer with before serving, one per request (taken from the front as they are used). */
  failWith?: number[]
  /** A range answer (206) sends at most this many bytes, and says so in its Content-Range, as a server may. */
  rangeLimit?: number
  /** The entity tag sent with every file (read live: change it with the file's bytes); If-Range is ignored, as by some proxies, unless ifRange. */
  etag?: string
  /** Honour If-Range, as HTTP says: a range request naming another entity tag gets the whole file (200). */
  ifRange?: boolean
  /** JSON answers (an API), by path; null answers 404, undefined falls through to the files. */
  json?: (path: string, query: URLSearchParams) => unknown
}

export interface FileServer {
  url(name: string): string
  /** The Range header of every request, in order ('none' when absent). */
  requests: string[]
  /** The Accept-Encoding header of every file request, in order ('none' when absent). */
  encodings: string[]
  /** Body bytes written to each response that sends a file, in order, counted as they are handed to the socket. */
  sent: number[]
  /** The options in force; change them while it runs (e.g. slow it down). */
  options: FileServerOptions
  origin: string
  close(): Promise<void>
}

export function makeContent(size: number, seed = 1): { body: Buffer; sha256: string } {
  const body = Buffer.alloc(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    body[i] = x >>> 16
  }
  return { body, sha256: createHash('sha256').update(body).digest('hex') }
}

export async function startFileServer(files: Record<string, Buffer>, options: FileServerOptions = {}): Promise<FileServer> {
  const requests: string[] = []
  const encodings: string[] = []
  const sent: number[] = []
  let drops = options.dropAfter?.times ?? 0
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const name = decodeURIComponent(url.pathname.slice(1))
    const answer = options.json?.(name, url.searchParams)
    if (answer === null) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}')
    if (answer !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    requests.push(req.headers.range ?? 'none')
    encodings.push(req.headers['accept-encoding'] ?? 'none')
    const status = options.failWith?.shift()
    if (status) return void res.writeHead(status).end(`error ${status}`)
    if (options.unresponsive) return void options.unresponsive--
    if (options.silentRequests?.includes(requests.length - 1)) return
    const body = files[name]
    if (!body) return void res.writeHead(404).end('not found')
    const etag = options.etag ?? '"v1"'
    const stale = options.ifRange && req.headers['if-range'] !== undefined && req.headers['if-range'] !== etag
    const range = options.ranges === false || stale ? null : /bytes=(\d+)-/.exec(req.headers.range ?? '')
    const start = range ? Number(range[1]) : 0
    if (start >= body.length && range) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end()
    const overrun = options.overrun ?? 0
    const end = range && options.rangeLimit ? Math.min(body.length, start + options.rangeLimit) : body.length
    res.writeHead(range ? 206 : 200, {
      ...(overrun ? {} : { 'content-length': end - start }),
      'accept-ranges': options.ranges === false ? 'none' : 'bytes',
      etag,
      ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${body.length}` } : {}),
    })
    const drop = drops > 0 ? (drops--, options.dropAfter!.bytes) : Infinity
    const hang = options.hangAfter && options.hangAfter.times > 0 ? (options.hangAfter.times--, options.hangAfter.bytes) : Infinity
    // The file, then (overrun) filler bytes past its end.
    const content = overrun ? Buffer.concat([body, Buffer.alloc(overrun, 0x55)]) : body.subarray(0, end)
    const index = sent.push(0) - 1
    let pos = start
    const step = options.bytesPerTick ?? content.length
    const tick = (): void => {
      if (res.destroyed) return
      const n = Math.min(step, content.length - pos, drop - sent[index]!, hang - sent[index]!)
      if (n > 0) {
        res.write(content.subarray(pos, pos + n))
        pos += n
        sent[index]! += n
      }
      if (sent[index]! >= drop) return void res.destroy()
      if (sent[index]! >= hang) return // quiet from here on; the client has to notice
      if (pos >= content.length) return void res.end()
      setTimeout(tick, 20)
    }
    tick()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    options,
    origin: `http://127.0.0.1:${port}`,
    url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    requests,
    encodings,
    sent,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
