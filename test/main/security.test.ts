import { readFile } from 'node:fs/promises'
import type { WebContents } from 'electron'
import { describe, expect, it, vi } from 'vitest'
import {
  CONTENT_SECURITY_POLICY,
  createOriginCheck,
  isSafeExternalLink,
  lockDownContents,
  originOf,
  secureWebPreferences,
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

describe('navigation guards', () => {
  it('keep our windows on app://renderer pages', () => {
    const listeners = new Map<string, (event: { preventDefault(): void }, url: string) => void>()
    const contents = { on: (name: string, listener: (event: { preventDefault(): void }, url: string) => void) => void listeners.set(name, listener), setWindowOpenHandler: () => undefined }
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

describe('external links', () => {
  it('opens only https links', () => {
    expect(isSafeExternalLink('https://huggingface.co/models')).toBe(true)
    for (const url of ['http://example.com', 'file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'ms-settings:privacy', 'not a url']) {
      expect(isSafeExternalLink(url), url).toBe(false)
    }
  })
})

describe('content security policy', () => {
  it('forbids eval, inline scripts and remote origins', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]))
    expect(directives['default-src']).toEqual(["'none'"])
    expect(directives['script-src']).toEqual(["'self'"])
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/)
  })

  it.each(['index.html', 'quick.html', 'overlay.html'])('is the same policy in %s’s meta tag (which cannot carry frame-ancestors)', async (page) => {
    const html = await readFile(new URL(`../../renderer/${page}`, import.meta.url), 'utf8')
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBe(CONTENT_SECURITY_POLICY.replace(" frame-ancestors 'none';", ''))
  })
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
