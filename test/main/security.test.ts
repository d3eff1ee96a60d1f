import { readFile } from 'node:fs/promises'
import type { Session, WebContents } from 'electron'
import { describe, expect, it, vi } from 'vitest'
import { createRouter, type InvokeHandlers, type StreamHandlers } from '../../electron/ipc/router.js'
import {
  CONTENT_SECURITY_POLICY,
  createOriginCheck,
  debuggingSwitches,
  hardenSession,
  ipcSender,
  isSafeExternalLink,
  lockDownContents,
  originOf,
  secureWebPreferences,
  type IpcInvokeEvent,
} from '../../electron/main/security.js'

const PAGE = 'app://renderer/index.html'
const packaged = createOriginCheck(undefined)
const dev = createOriginCheck('http://localhost:5173/')

describe('origin check for IPC senders, permissions and navigation', () => {
  it('accepts exactly the app://renderer origin, whatever the path', () => {
    for (const url of [PAGE, 'app://renderer/quick.html#/ask', 'app://renderer/', 'app://renderer']) expect(packaged(url), url).toBe(true)
    for (const url of [
      'app://renderer.evil/index.html',
      'app://renderer:8080/index.html',
      'app://user@renderer/index.html',
      'app://other/index.html',
      'apps://renderer/index.html',
      'https://renderer/index.html',
      // The pages no longer load from file://, so no file:// page is ours, wherever installed.
      'file:///opt/app/resources/app.asar/out/renderer/index.html',
      'file:///etc/passwd',
      'https://example.com/',
      'not a url',
      '',
    ]) {
      expect(packaged(url), url).toBe(false)
    }
  })

  it('accepts the dev server only in development, on its exact origin', () => {
    expect(dev('http://localhost:5173/index.html')).toBe(true)
    expect(dev(PAGE)).toBe(true)
    expect(dev('http://localhost:5174/index.html')).toBe(false)
    expect(dev('http://127.0.0.1:5173/index.html')).toBe(false)
    expect(packaged('http://localhost:5173/index.html')).toBe(false)
  })

  it('reads origins the way Chromium writes them, app: included', () => {
    expect(originOf('app://renderer/assets/x.js')).toBe('app://renderer')
    expect(originOf('http://localhost:5173/x')).toBe('http://localhost:5173')
    expect(originOf('file:///opt/app/index.html')).toBeNull()
    expect(originOf('nope')).toBeNull()
  })
})

type RequestHandler = NonNullable<Parameters<Session['setPermissionRequestHandler']>[0]>
type CheckHandler = NonNullable<Parameters<Session['setPermissionCheckHandler']>[0]>
type BeforeRequest = (details: { url: string }, callback: (response: { cancel: boolean }) => void) => void

/** A session that keeps the handlers hardenSession installs, to call them as Electron does. */
function hardenedSession(isOurs = packaged) {
  const installed: { request?: RequestHandler; check?: CheckHandler; beforeRequest?: BeforeRequest } = {}
  const session = {
    setPermissionRequestHandler: (handler: RequestHandler) => void (installed.request = handler),
    setPermissionCheckHandler: (handler: CheckHandler) => void (installed.check = handler),
    webRequest: {
      onHeadersReceived: () => undefined,
      onBeforeRequest: (handler: BeforeRequest) => void (installed.beforeRequest = handler),
    },
  }
  hardenSession(session as unknown as Session, isOurs)
  // The window is ours: only the frame's own URL and place can tell a foreign frame apart.
  const window = { getURL: () => PAGE } as unknown as WebContents
  return {
    request: (permission: Parameters<RequestHandler>[1], details: Partial<Electron.MediaAccessPermissionRequest> = {}) =>
      new Promise<boolean>((resolve) =>
        installed.request!(window, permission, resolve, { requestingUrl: PAGE, isMainFrame: true, ...details }),
      ),
    check: (
      permission: Parameters<CheckHandler>[1],
      requestingOrigin = 'app://renderer/',
      details: Partial<Electron.PermissionCheckHandlerHandlerDetails> = {},
      contents: WebContents | null = window,
    ) => installed.check!(contents, permission, requestingOrigin, { requestingUrl: PAGE, isMainFrame: true, ...details }),
    allowsRequest: (url: string) => new Promise<boolean>((resolve) => installed.beforeRequest!({ url }, ({ cancel }) => resolve(!cancel))),
  }
}

describe('permission requests', () => {
  it('grant the camera to our page, and nothing that records sound', async () => {
    const session = hardenedSession()
    expect(await session.request('media', { mediaTypes: ['video'] })).toBe(true)
    expect(await session.request('media', { mediaTypes: ['audio'] })).toBe(false)
    expect(await session.request('media', { mediaTypes: ['video', 'audio'] })).toBe(false)
    expect(await session.request('media', { mediaTypes: [] })).toBe(false)
    expect(await session.request('media')).toBe(false)
  })

  it('never grant screen capture: screenshots are taken in main', async () => {
    const session = hardenedSession()
    expect(await session.request('display-capture', { mediaTypes: ['video'] })).toBe(false)
    expect(await session.request('display-capture', { mediaTypes: ['video', 'audio'] })).toBe(false)
  })

  it('grant clipboard writes and refuse everything else', async () => {
    const session = hardenedSession()
    expect(await session.request('clipboard-sanitized-write')).toBe(true)
    for (const permission of [
      'clipboard-read',
      'notifications',
      'geolocation',
      'openExternal',
      'fileSystem',
      'midiSysex',
      'window-management',
      'unknown',
    ] as const) {
      expect(await session.request(permission), permission).toBe(false)
    }
  })

  it('are decided on the requesting frame: a subframe or a foreign frame in our window gets nothing', async () => {
    const session = hardenedSession()
    expect(await session.request('media', { mediaTypes: ['video'], isMainFrame: false })).toBe(false)
    expect(await session.request('clipboard-sanitized-write', { isMainFrame: false })).toBe(false)
    expect(await session.request('media', { mediaTypes: ['video'], requestingUrl: 'https://evil.example/' })).toBe(false)
    expect(
      await session.request('media', {
        mediaTypes: ['video'],
        requestingUrl: 'file:///opt/app/resources/app.asar/out/renderer/index.html',
      }),
    ).toBe(false)
    expect(await session.request('media', { mediaTypes: ['video'], requestingUrl: 'http://localhost:5173/index.html' })).toBe(false)
  })

  it('grant the dev server page in development', async () => {
    expect(await hardenedSession(dev).request('media', { mediaTypes: ['video'], requestingUrl: 'http://localhost:5173/index.html' })).toBe(
      true,
    )
  })
})

describe('permission checks', () => {
  it('allow the camera and clipboard writes for our main frame, in either origin spelling', () => {
    const session = hardenedSession()
    expect(session.check('media', 'app://renderer/', { mediaType: 'video' })).toBe(true)
    expect(session.check('media', 'app://renderer', { mediaType: 'video' })).toBe(true)
    expect(session.check('clipboard-sanitized-write')).toBe(true)
  })

  it('refuse the microphone, unknown media, screen capture and other permissions', () => {
    const session = hardenedSession()
    expect(session.check('media', 'app://renderer/', { mediaType: 'audio' })).toBe(false)
    expect(session.check('media', 'app://renderer/', { mediaType: 'unknown' })).toBe(false)
    expect(session.check('media')).toBe(false)
    for (const permission of ['display-capture', 'clipboard-read', 'notifications', 'geolocation', 'hid', 'usb', 'serial'] as const)
      expect(session.check(permission), permission).toBe(false)
  })

  it('are decided on the requesting origin and frame, not the window', () => {
    const session = hardenedSession()
    expect(
      session.check('media', 'https://evil.example/', { mediaType: 'video', isMainFrame: false, embeddingOrigin: 'app://renderer/' }),
    ).toBe(false)
    expect(session.check('media', 'https://evil.example/', { mediaType: 'video' })).toBe(false)
    expect(session.check('media', 'app://renderer/', { mediaType: 'video', isMainFrame: false })).toBe(false)
    expect(session.check('clipboard-sanitized-write', 'file:///', {})).toBe(false)
    // Workers have no frame and no web contents.
    expect(session.check('clipboard-sanitized-write', 'app://renderer/', { isMainFrame: false }, null)).toBe(false)
  })
})

describe('requests the session lets through', () => {
  it('are our own files, inline data and blobs; never file:// or the network', async () => {
    const session = hardenedSession()
    for (const url of [
      'app://renderer/assets/index.js',
      'data:image/png;base64,AAAA',
      'blob:app://renderer/6f1c1d8e-2a4b-4c1e-9f7a-2b3c4d5e6f70',
    ])
      expect(await session.allowsRequest(url), url).toBe(true)
    for (const url of [
      'file:///etc/passwd',
      'file:///opt/app/resources/app.asar/out/renderer/index.html',
      'https://example.com/x.js',
      'app://other/x.js',
    ])
      expect(await session.allowsRequest(url), url).toBe(false)
  })
})

describe('navigation guards', () => {
  it('keep our windows on app://renderer pages', () => {
    const listeners = new Map<string, (event: { preventDefault(): void }, url: string) => void>()
    const contents = {
      on: (name: string, listener: (event: { preventDefault(): void }, url: string) => void) => void listeners.set(name, listener),
      setWindowOpenHandler: () => undefined,
    }
    lockDownContents(contents as unknown as WebContents, packaged, () => undefined)
    const blocked = (name: string, url: string): boolean => {
      const event = { preventDefault: vi.fn() }
      listeners.get(name)!(event, url)
      return event.preventDefault.mock.calls.length > 0
    }
    for (const name of ['will-navigate', 'will-redirect']) {
      expect(blocked(name, 'app://renderer/quick.html')).toBe(false)
      expect(blocked(name, 'file:///opt/app/resources/app.asar/out/renderer/index.html')).toBe(true)
      expect(blocked(name, 'https://evil.example/')).toBe(true)
      expect(blocked(name, 'app://evil/index.html')).toBe(true)
    }
  })
})

describe('IPC sender', () => {
  const mainFrame = { url: PAGE }
  const event = (senderFrame: { url: string } | null, destroyed = false) => {
    const sent: unknown[] = []
    const sender = {
      id: 7,
      mainFrame,
      isDestroyed: () => destroyed,
      send: (channel: string, payload: unknown) => void sent.push([channel, payload]),
    }
    return { event: { sender, senderFrame } satisfies IpcInvokeEvent, sent }
  }

  it("is the main frame only when the sending frame is the window's main frame", () => {
    expect(ipcSender(event(mainFrame).event)).toMatchObject({ id: 7, url: PAGE, isMainFrame: true })
    // A subframe with our URL (an iframe of ours inside the page) is still not the page.
    expect(ipcSender(event({ url: PAGE }).event)).toMatchObject({ url: PAGE, isMainFrame: false })
    // A frame that went away before the request arrived.
    expect(ipcSender(event(null).event)).toMatchObject({ url: '', isMainFrame: false })
  })

  it('sends to the window while it exists', () => {
    const live = event(mainFrame)
    ipcSender(live.event).send('engine:state', { state: 'idle' })
    expect(live.sent).toEqual([['engine:state', { state: 'idle' }]])
    const gone = event(mainFrame, true)
    ipcSender(gone.event).send('engine:state', { state: 'idle' })
    expect(gone.sent).toEqual([])
  })

  it('gets through the router from our main frame only', async () => {
    const info = { name: 'x', version: '1', platform: 'linux', electron: null }
    const router = createRouter({
      invoke: { 'app:info': async () => info } as unknown as InvokeHandlers,
      stream: {} as StreamHandlers,
      isTrustedSender: packaged,
    })
    expect(await router.invoke(ipcSender(event(mainFrame).event), 'app:info', undefined)).toEqual({ ok: true, value: info })
    for (const frame of [{ url: PAGE }, null, { url: 'https://evil.example/' }]) {
      const result = await router.invoke(ipcSender(event(frame).event), 'app:info', undefined)
      expect(result.ok || result.error.code).toBe('untrusted-sender')
    }
  })
})

describe('external links', () => {
  it('hands web pages (https and http) and mail to the system, never a file, a script or another application', () => {
    for (const url of ['https://huggingface.co/models', 'http://example.com/handbook', 'HTTP://EXAMPLE.COM', 'mailto:help@example.com'])
      expect(isSafeExternalLink(url), url).toBe(true)
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'blob:app://renderer/6f1c1d8e-2a4b-4c1e-9f7a-2b3c4d5e6f70',
      'about:blank',
      'app://renderer/index.html',
      'smb://host/share',
      'ms-settings:privacy',
      'vscode://file/etc/passwd',
      'ftp://example.com/file',
      'not a url',
      '',
    ]) {
      expect(isSafeExternalLink(url), url).toBe(false)
    }
  })

  it('opens a clicked link outside the app, never in a window of ours', () => {
    let openHandler: ((details: { url: string }) => { action: string }) | undefined
    const contents = {
      on: () => undefined,
      setWindowOpenHandler: (handler: typeof openHandler) => void (openHandler = handler),
    }
    const opened: string[] = []
    lockDownContents(contents as unknown as WebContents, packaged, (url) => void opened.push(url))
    for (const url of [
      'https://example.com/',
      'http://example.com/',
      'mailto:help@example.com',
      'file:///etc/passwd',
      'javascript:alert(1)',
    ])
      expect(openHandler!({ url }), url).toEqual({ action: 'deny' })
    expect(opened).toEqual(['https://example.com/', 'http://example.com/', 'mailto:help@example.com'])
  })
})

describe('content security policy', () => {
  it('forbids eval, inline scripts and remote origins', () => {
    const directives = Object.fromEntries(
      CONTENT_SECURITY_POLICY.split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    )
    expect(directives['default-src']).toEqual(["'none'"])
    expect(directives['script-src']).toEqual(["'self'"])
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/)
  })

  it.each(['index.html', 'quick.html', 'overlay.html'])(
    'is the same policy in %s’s meta tag (which cannot carry frame-ancestors)',
    async (page) => {
      const html = await readFile(new URL(`../../renderer/${page}`, import.meta.url), 'utf8')
      const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1]
      expect(meta).toBe(CONTENT_SECURITY_POLICY.replace(" frame-ancestors 'none';", ''))
    },
  )
})

describe('web preferences of every window', () => {
  it('isolate and sandbox the page, with no Node and no webviews', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
    })
  })
})

describe('remote-debugging switches on a packaged launch', () => {
  const APP = '/opt/Local Vision Assistant/local-vision-assistant'
  it('finds --remote-debugging-port and --remote-debugging-pipe however Chromium accepts them', () => {
    for (const argv of [
      [APP, '--remote-debugging-port=9222'],
      [APP, '--remote-debugging-port'],
      [APP, '-remote-debugging-port=0'],
      [APP, '--no-sandbox', '--remote-debugging-port=9222', '/home/me/shot.png'],
    ])
      expect(debuggingSwitches(argv, 'linux'), argv.join(' ')).toEqual(['remote-debugging-port'])
    expect(debuggingSwitches([APP, '--remote-debugging-pipe'], 'darwin')).toEqual(['remote-debugging-pipe'])
    expect(debuggingSwitches([APP, '--remote-debugging-pipe', '--remote-debugging-port=1'], 'linux')).toEqual([
      'remote-debugging-port',
      'remote-debugging-pipe',
    ])
    // Windows: a / prefix, and names in any case.
    for (const arg of ['/remote-debugging-port=9222', '--Remote-Debugging-Port=9222', '-REMOTE-DEBUGGING-PIPE'])
      expect(debuggingSwitches(['C:\\LVA\\lva.exe', arg], 'win32'), arg).toHaveLength(1)
  })

  it('passes a plain launch, an image to open, look-alikes and anything after --', () => {
    for (const argv of [
      [APP],
      [APP, '/home/me/remote-debugging-port.png'],
      [APP, '--remote-debugging-address=127.0.0.1'],
      [APP, '--remote-debugging-portal'],
      [APP, '--', '--remote-debugging-port=9222'],
      // The program itself is not a switch, and on Linux neither is a /path nor another case.
      ['--remote-debugging-port', 'x'],
      [APP, '/remote-debugging-port=9222', '--REMOTE-DEBUGGING-PORT=9222'],
    ])
      expect(debuggingSwitches(argv, 'linux'), argv.join(' ')).toEqual([])
  })

  it("refuses what Chromium's own reading finds, whatever the spelling", () => {
    expect(debuggingSwitches([APP], 'linux', (name) => name === 'remote-debugging-pipe')).toEqual(['remote-debugging-pipe'])
  })
})
