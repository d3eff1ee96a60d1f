// One exchange with a server whose connection closes before it answers: the way a kept-alive
// socket fails when the server closes it at the moment fetch reuses it.
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, it } from 'vitest'
import { exchange, NetworkError } from '../../electron/remote/http.js'

const sockets: Socket[] = []
const closers: (() => void)[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const close of closers.splice(0)) close()
})

/** A server that drops the first `drop` requests' connections once their headers are in, then answers. */
async function dropping(drop: number): Promise<{ url: string; requests: () => number }> {
  let requests = 0
  const server = createServer((socket) => {
    sockets.push(socket)
    let head = ''
    socket.on('data', (b: Buffer) => {
      head += b.toString()
      if (!head.includes('\r\n\r\n')) return
      head = ''
      requests++
      if (requests <= drop) return void socket.destroy()
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}')
    })
  })
  closers.push(() => server.close())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests }
}

const post = (url: string, resendOnClosedSocket: boolean) =>
  exchange(
    { baseUrl: url, apiKey: null, allowUnencrypted: true },
    { method: 'POST', path: '/completion', body: { prompt: 'x' }, headersTimeoutMs: 5000, fetch, resendOnClosedSocket },
  )

it('sends once more, and only once, when asked to and the connection closed before any answer', async () => {
  const once = await dropping(1)
  const ex = await post(once.url, true)
  expect(ex.response.status).toBe(200)
  expect(await ex.response.json()).toEqual({})
  ex.close()
  expect(once.requests()).toBe(2)

  const twice = await dropping(2)
  const error = await post(twice.url, true).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(NetworkError)
  expect((error as Error).message).toMatch(/could not be reached: other side closed/)
  expect(twice.requests()).toBe(2)
})

it('without being asked, a closed connection is said at once and nothing is sent again', async () => {
  const server = await dropping(1)
  const error = await post(server.url, false).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(NetworkError)
  expect(server.requests()).toBe(1)
})
