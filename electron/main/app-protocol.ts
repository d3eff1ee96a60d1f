// The app:// protocol that serves the packaged renderer. Pages loaded from file:// would get
// file-protocol privileges and an origin that depends on the install path; app://renderer is
// one fixed origin whatever the path, and it can reach nothing but the renderer folder.
// Plain Node: index.ts registers the scheme and hands createAppProtocolHandler to protocol.handle.
import { promises as fs } from 'node:fs'
import { extname, isAbsolute, join, relative, sep } from 'node:path'

export const APP_SCHEME = 'app'
export const APP_HOST = 'renderer'
/** The origin every packaged page has, as Chromium serialises it. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`

/**
 * Standard: real origins, relative URLs and 'self' in the CSP work as on https. Secure: a
 * secure context (getUserMedia and the async clipboard need one). supportFetchAPI: the module
 * scripts and styles load through fetch. No corsEnabled (other origins cannot read our files),
 * no bypassCSP, no service workers.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true } as const

export function appPageUrl(page: string): string {
  return `${APP_ORIGIN}/${page}`
}

export type ResolvedAppUrl =
  | { kind: 'file'; path: string }
  /** Anything that tries to leave the renderer folder or is not ours to serve. */
  | { kind: 'refused' }
  | { kind: 'missing' }

/**
 * Maps an app://renderer/… URL to a file under rootDir. Each path segment is percent-decoded
 * on its own, and a segment that decodes to a separator, a dot segment, a NUL or a drive or
 * stream marker is refused, so no encoding of '../' gets through; the file's real path (links
 * followed) must still lie inside rootDir's real path.
 */
export async function resolveAppUrl(url: string, rootDir: string): Promise<ResolvedAppUrl> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { kind: 'refused' }
  }
  // For a scheme Node does not know, host keeps any port; user info is never ours.
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST || parsed.username || parsed.password) return { kind: 'refused' }
  // The bare origin names no file; any other empty segment ('//') is refused below.
  if (parsed.pathname === '' || parsed.pathname === '/') return { kind: 'missing' }
  const segments: string[] = []
  for (const raw of parsed.pathname.split('/').slice(1)) {
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return { kind: 'refused' }
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0:]/.test(segment)) return { kind: 'refused' }
    segments.push(segment)
  }
  let realRoot: string
  let realFile: string
  try {
    realRoot = await fs.realpath(rootDir)
    realFile = await fs.realpath(join(rootDir, ...segments))
  } catch {
    return { kind: 'missing' }
  }
  const inside = relative(realRoot, realFile)
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return { kind: 'refused' }
  try {
    return (await fs.stat(realFile)).isFile() ? { kind: 'file', path: realFile } : { kind: 'missing' }
  } catch {
    return { kind: 'missing' }
  }
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
}

export function mimeTypeOf(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * What protocol.handle('app', …) calls: a fetch-style handler over the renderer folder. The
 * policy is sent as a header because a header can say what a page's meta tag cannot (frame-ancestors).
 */
export function createAppProtocolHandler(rootDir: string, contentSecurityPolicy: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405, headers: { Allow: 'GET, HEAD' } })
    const resolved = await resolveAppUrl(request.url, rootDir)
    if (resolved.kind === 'refused') return new Response(null, { status: 403 })
    if (resolved.kind === 'missing') return new Response(null, { status: 404 })
    const headers = {
      'Content-Type': mimeTypeOf(resolved.path),
      // Module scripts are refused unless served as JavaScript; never let the browser guess.
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': contentSecurityPolicy,
    }
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers })
    // A copy into a plain Uint8Array: the DOM's BodyInit (the type the renderer-side tsconfigs
    // see) does not accept a Buffer that may sit on a SharedArrayBuffer.
    return new Response(new Uint8Array(await fs.readFile(resolved.path)), { status: 200, headers })
  }
}
