// What the user reads when a server elsewhere cannot be used as asked: a certificate not trusted
// (and what to do), https:// to a plain http server, a stream that came as another content-type,
// and the local API asked while only a remote engine answers in the app.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { notReady } from '../../electron/api/engine-state.js'
import { AppError } from '../../electron/ipc/errors.js'
import { listModels, RemoteEngine, type RemoteEndpoint } from '../../electron/remote/remote-engine.js'

const servers: { close(): void; closeAllConnections(): void }[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

async function serve(handle: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => handle(res))
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

const at = (baseUrl: string): RemoteEndpoint => ({ baseUrl, apiKey: null, allowUnencrypted: false })

async function failure(engine: RemoteEngine): Promise<string> {
  try {
    for await (const chunk of engine.generate({ messages: [{ role: 'user', text: 'hi' }] })) void chunk
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    return (error as AppError).message
  }
  throw new Error('it answered')
}

/** fetch failing as Node's does on a TLS handshake it refuses: "fetch failed", the reason in its cause. */
const refusingTls =
  (code: string): typeof fetch =>
  () =>
    Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) }))

describe('wording', () => {
  it('a certificate not trusted says why and what to do', async () => {
    const origin = 'https://gpu.example.net'
    await expect(listModels(at(`${origin}/v1`), undefined, { fetch: refusingTls('DEPTH_ZERO_SELF_SIGNED_CERT') })).rejects.toThrow(
      `The server at ${origin} has a certificate this app does not trust: it is self-signed, or signed by an authority the app does not know (DEPTH_ZERO_SELF_SIGNED_CERT). Give the server a certificate from a public authority (Let's Encrypt; a proxy such as Caddy gets one), or, on your own network, use its http:// address.`,
    )
    await expect(listModels(at(`${origin}/v1`), undefined, { fetch: refusingTls('CERT_HAS_EXPIRED') })).rejects.toThrow(
      `The server at ${origin} has a certificate that has expired (CERT_HAS_EXPIRED); it needs a new one.`,
    )
    await expect(listModels(at(`${origin}/v1`), undefined, { fetch: refusingTls('ERR_TLS_CERT_ALTNAME_INVALID') })).rejects.toThrow(
      `The server at ${origin} has a certificate for another name than gpu.example.net (ERR_TLS_CERT_ALTNAME_INVALID); use the name its certificate is for.`,
    )
  })

  it('https:// to a server that speaks plain http says to use http://, not that a certificate is untrusted', async () => {
    const host = await serve((res) => res.end('{}'))
    await expect(listModels(at(`https://${host}/v1`))).rejects.toThrow(
      /^The server at https:\/\/127\.0\.0\.1:\d+ does not answer https:\/\/ \(ERR_SSL_WRONG_VERSION_NUMBER\); if it serves plain http .*, use its http:\/\/ address\.$/,
    )
  })

  it('an answer that is not a stream names the content-type it came as', async () => {
    const plain = await serve(
      (res) => void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('OK, here is your answer: hello'),
    )
    expect(await failure(new RemoteEngine(at(`http://${plain}/v1`), 'm', { retries: 0 }))).toBe(
      `The server at http://${plain} answered with something other than the OpenAI API (content-type text/plain, where a text/event-stream was asked for).`,
    )
    // Ollama's own API, not its OpenAI one.
    const ndjson = await serve((res) =>
      res
        .writeHead(200, { 'content-type': 'application/x-ndjson' })
        .end(`${JSON.stringify({ message: { content: 'hi' }, done: false })}\n${JSON.stringify({ done: true })}\n`),
    )
    expect(await failure(new RemoteEngine(at(`http://${ndjson}/v1`), 'm', { retries: 0 }))).toMatch(
      /\(content-type application\/x-ndjson, where/,
    )
    const relabelled = await serve((res) =>
      res
        .writeHead(200, { 'content-type': 'application/octet-stream' })
        .end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'hi' } }] })}\n\ndata: [DONE]\n\n`),
    )
    expect(await failure(new RemoteEngine(at(`http://${relabelled}/v1`), 'm', { retries: 0 }))).toMatch(
      /\(an event stream sent as content-type application\/octet-stream; a proxy may have changed its type, where a text\/event-stream was asked for\)\.$/,
    )
  })

  it('the local API, with no model loaded here, says it does not serve remote engines', () => {
    const error = notReady({ state: 'idle' })
    expect(error.status).toBe(503)
    expect(error.message).toBe(
      'No model is loaded in the app. The local API serves the model loaded on this computer; remote engines are not served through it. Load a model, then try again.',
    )
  })
})
