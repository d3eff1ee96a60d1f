// Electron's security defaults in one place: what our windows may load, reach and ask for.
import type { Session, WebContents } from 'electron'
import type { Sender } from '../ipc/router.js'
import { APP_ORIGIN } from './app-protocol.js'

/**
 * The origin of a URL (or of an origin string such as a permission check's requestingOrigin),
 * written as Chromium writes it. Node's URL gives 'null' for schemes it does not know, app:
 * among them, so those are put together from scheme and host; file: has no origin at all.
 */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url)
    if (parsed.origin !== 'null') return parsed.origin
    if (!parsed.host || parsed.username || parsed.password) return null
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return null
  }
}

/**
 * Where our own pages come from: app://renderer (the packaged files, served by app-protocol.ts),
 * or the dev server in development. Origins are compared whole, so neither a look-alike host,
 * another port nor a file:// page passes.
 */
export function createOriginCheck(devServerUrl: string | undefined): (url: string) => boolean {
  const trusted = new Set([APP_ORIGIN])
  if (devServerUrl) trusted.add(new URL(devServerUrl).origin)
  return (url: string): boolean => {
    const origin = originOf(url)
    return origin !== null && trusted.has(origin)
  }
}

// Sent as a header by the app:// handler and, for the dev server, by hardenSession; each page's
// meta tag carries the same policy but frame-ancestors, which a meta tag cannot set.
// Svelte writes styles through the CSSOM, which style-src does not govern, so no 'unsafe-inline'.
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

type PermissionRequestDetails =
  | Electron.PermissionRequest
  | Electron.FilesystemPermissionRequest
  | Electron.MediaAccessPermissionRequest
  | Electron.OpenExternalPermissionRequest

/**
 * The camera and nothing else: the composer takes camera frames, and nothing in the app records
 * sound. A request that names no media type, or audio beside video, is refused whole.
 */
function cameraOnly(mediaTypes: readonly string[] | undefined): boolean {
  return mediaTypes !== undefined && mediaTypes.length > 0 && mediaTypes.every((type) => type === 'video')
}

/**
 * Permissions are decided on the frame that asks, not on the window: the frame must be the main
 * frame of one of our pages. Our pages use the camera (media, video only) and write to the
 * clipboard (copy buttons). display-capture is never granted: screenshots are taken in main with
 * desktopCapturer, and the renderer never calls getDisplayMedia.
 */
export function hardenSession(session: Session, isOurs: (url: string) => boolean, devServerUrl?: string): void {
  // In development the dev server's hot-reload socket is ours too.
  const devSocket = devServerUrl ? `ws://${new URL(devServerUrl).host}/` : null
  session.setPermissionRequestHandler((_contents, permission, callback, details: PermissionRequestDetails) => {
    if (!details.isMainFrame || !isOurs(details.requestingUrl)) return callback(false)
    if (permission === 'media') return callback(cameraOnly('mediaTypes' in details ? details.mediaTypes : undefined))
    callback(permission === 'clipboard-sanitized-write')
  })
  // Checks come from frames (and from workers, which have none: isMainFrame is false for them).
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => {
    if (!details.isMainFrame || !isOurs(requestingOrigin)) return false
    if (permission === 'media') return details.mediaType === 'video'
    return permission === 'clipboard-sanitized-write'
  })
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
  })
  // No remote content: anything that is not our own page or an inline image is refused.
  session.webRequest.onBeforeRequest((details, callback) => {
    const url = details.url
    const allowed =
      isOurs(url) ||
      url.startsWith('data:') ||
      url.startsWith('blob:') ||
      url.startsWith('devtools:') ||
      (devSocket !== null && url.startsWith(devSocket))
    callback({ cancel: !allowed })
  })
}

/** The parts of Electron's IpcMainInvokeEvent that say who sent a request. */
export interface IpcInvokeEvent {
  sender: { id: number; mainFrame: object; isDestroyed(): boolean; send(channel: string, payload: unknown): void }
  senderFrame: { url: string } | null
}

/**
 * The router's view of an IPC request: the sending frame's URL, and whether that frame is the
 * window's main frame (a frame inside our page, even one with our URL, is not the page). A
 * frame that is gone by the time the request arrives has no URL and is not the main frame.
 */
export function ipcSender(event: IpcInvokeEvent): Sender {
  const contents = event.sender
  const frame = event.senderFrame
  return {
    id: contents.id,
    url: frame?.url ?? '',
    isMainFrame: frame !== null && frame === contents.mainFrame,
    send: (channel, payload) => {
      if (!contents.isDestroyed()) contents.send(channel, payload)
    },
  }
}

/**
 * No navigation away from our pages, no new windows: a link the user clicks (answers' links open
 * as new windows) goes to the system's browser or mail app instead, when isSafeExternalLink allows it.
 */
export function lockDownContents(contents: WebContents, isOurs: (url: string) => boolean, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    if (!isOurs(url)) event.preventDefault()
  })
  contents.on('will-redirect', (event, url) => {
    if (!isOurs(url)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalLink(url)) openExternal(url)
    return { action: 'deny' }
  })
}

/**
 * The schemes handed to the system when the user clicks a link: web pages (http too: an answer
 * may cite a site that has no https, and the click is the user's choice) and mail. Never file:
 * (it runs or opens what is on disk), javascript:, data:, or a custom scheme, which can start
 * any application that registered it (ms-settings:, smb:, a vendor's updater).
 */
const EXTERNAL_SCHEMES = new Set(['https:', 'http:', 'mailto:'])

export function isSafeExternalLink(url: string): boolean {
  try {
    return EXTERNAL_SCHEMES.has(new URL(url).protocol)
  } catch {
    return false
  }
}

/**
 * The web preferences of every window we open: isolated, sandboxed, no Node, no
 * webviews, no middle-click windows. One place, checked by test/main/security.test.ts.
 */
export function secureWebPreferences(preload: string): Electron.WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    spellcheck: false,
    disableBlinkFeatures: 'Auxclick',
  }
}

/**
 * Chromium's switches that open the app to the DevTools protocol, over a port or a pipe: whoever
 * holds it drives our pages, window.assistant and the screen and camera grants with them. The
 * fuses refuse Node's --inspect and NODE_OPTIONS, not these.
 */
export const DEBUGGING_SWITCHES = ['remote-debugging-port', 'remote-debugging-pipe'] as const

/**
 * The debugging switches on a command line, read as Chromium's base::CommandLine reads it: after
 * the program, an argument beginning with -- or - (also / on Windows, where switch names are not
 * case-sensitive) is a switch, its value after =, until a lone --. hasSwitch is Chromium's own
 * reading (app.commandLine.hasSwitch), asked too, so a spelling missed here is still caught.
 */
export function debuggingSwitches(
  argv: readonly string[],
  platform: NodeJS.Platform,
  hasSwitch: (name: string) => boolean = () => false,
): string[] {
  const windows = platform === 'win32'
  const prefixes = windows ? ['--', '-', '/'] : ['--', '-']
  const named = new Set<string>()
  for (const arg of argv.slice(1)) {
    if (arg === '--') break
    const prefix = prefixes.find((p) => arg.startsWith(p) && arg.length > p.length)
    if (!prefix) continue
    const name = arg.slice(prefix.length).split('=', 1)[0]!
    named.add(windows ? name.toLowerCase() : name)
  }
  return DEBUGGING_SWITCHES.filter((name) => named.has(name) || hasSwitch(name))
}
