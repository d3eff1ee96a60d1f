import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY, createOriginCheck, isSafeExternalLink, secureWebPreferences } from '../../electron/main/security.js'

describe('origin check for IPC senders and navigation', () => {
  const packaged = createOriginCheck(undefined, '/opt/app/resources/app.asar/out/renderer')
  const dev = createOriginCheck('http://localhost:5173/', '/home/me/app/out/renderer')

  it('accepts only our packaged pages', () => {
    expect(packaged('file:///opt/app/resources/app.asar/out/renderer/index.html')).toBe(true)
    expect(packaged('file:///opt/app/resources/app.asar/out/renderer/index.html#/chat')).toBe(true)
    expect(packaged('file:///opt/app/resources/app.asar/out/renderer-evil/index.html')).toBe(false)
    expect(packaged('file:///etc/passwd')).toBe(false)
    expect(packaged('https://example.com/')).toBe(false)
    expect(packaged('not a url')).toBe(false)
    expect(packaged('')).toBe(false)
  })

  it('accepts the dev server only in development', () => {
    expect(dev('http://localhost:5173/index.html')).toBe(true)
    expect(dev('http://localhost:5174/index.html')).toBe(false)
    expect(packaged('http://localhost:5173/index.html')).toBe(false)
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
