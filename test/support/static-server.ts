// Serves a built folder to Chromium as the app serves its pages: each file with its MIME type
// and the window's CSP as a header, nothing outside the folder.
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { CONTENT_SECURITY_POLICY } from '../../electron/main/security.js'

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
}

/** Listens on a free port of 127.0.0.1; `/` is index.html. */
export function serveFolder(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '')
    const file = join(dir, path || 'index.html')
    if (!file.startsWith(dir)) return void res.writeHead(403).end()
    readFile(file).then(
      (body) =>
        res
          .writeHead(200, {
            'content-type': MIME[extname(file)] ?? 'application/octet-stream',
            'content-security-policy': CONTENT_SECURITY_POLICY,
          })
          .end(body),
      // Chromium asks for a favicon by itself; a 404 would be a console error among those tests count.
      () => void res.writeHead(path === 'favicon.ico' ? 204 : 404).end(),
    )
  })
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)))
}
