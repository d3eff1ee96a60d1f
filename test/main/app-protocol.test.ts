import { mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP_ORIGIN, APP_SCHEME_PRIVILEGES, appPageUrl, createAppProtocolHandler, resolveAppUrl } from '../../electron/main/app-protocol.js'
import { scratchDir } from '../support/engine.js'

const CSP = "default-src 'none'; frame-ancestors 'none'"
const SECRET = 'not for the renderer'

// An install path with '#' and '%' (which broke the file:// origin check) holding the renderer
// folder, a secret beside it, and links that point inside and outside it.
let base: string
let root: string
beforeAll(async () => {
  base = await scratchDir()
  root = join(base, 'Local Vision #1 100%', 'renderer')
  await mkdir(join(root, 'assets'), { recursive: true })
  await writeFile(join(root, 'index.html'), '<!doctype html><title>chat</title>')
  await writeFile(join(root, 'assets', 'app.js'), 'export const x = 1')
  await writeFile(join(root, 'assets', 'app.css'), 'body{}')
  await writeFile(join(root, 'assets', 'font.woff2'), 'wOF2')
  await writeFile(join(root, 'assets', 'blob.bin'), 'bytes')
  await writeFile(join(root, 'my file.txt'), 'spaced')
  await writeFile(join(base, 'secret.txt'), SECRET)
  await writeFile(join(base, 'Local Vision #1 100%', 'secret.txt'), SECRET)
  await symlink(join(base, 'secret.txt'), join(root, 'assets', 'leak.txt'))
  await symlink(base, join(root, 'escape'))
  await symlink(join(root, 'assets', 'app.js'), join(root, 'assets', 'alias.js'))
})
afterAll(async () => {
  await rm(base, { recursive: true, force: true })
})

describe('resolveAppUrl', () => {
  it('maps app://renderer/ URLs to files in the renderer folder, wherever it is installed', async () => {
    expect(await resolveAppUrl(appPageUrl('index.html'), root)).toEqual({ kind: 'file', path: await realpath(join(root, 'index.html')) })
    expect(await resolveAppUrl('app://renderer/assets/app.js?v=2#top', root)).toEqual({
      kind: 'file',
      path: await realpath(join(root, 'assets/app.js')),
    })
    expect(await resolveAppUrl('app://renderer/my%20file.txt', root)).toEqual({
      kind: 'file',
      path: await realpath(join(root, 'my file.txt')),
    })
    // A link that stays inside the folder is served as the file it points to.
    expect(await resolveAppUrl('app://renderer/assets/alias.js', root)).toEqual({
      kind: 'file',
      path: await realpath(join(root, 'assets/app.js')),
    })
  })

  it('refuses encoded separators, dot segments, backslashes, NULs, drive and stream markers', async () => {
    for (const url of [
      'app://renderer/..%2Fsecret.txt',
      'app://renderer/..%2fsecret.txt',
      'app://renderer/%2e%2e%2fsecret.txt',
      'app://renderer/%2E%2E%2F%2E%2E%2Fsecret.txt',
      'app://renderer/assets%2F..%2F..%2Fsecret.txt',
      'app://renderer/..%5Csecret.txt',
      'app://renderer/..\\secret.txt',
      'app://renderer/%2e%2e%5c%2e%2e%5csecret.txt',
      'app://renderer/index.html%00.png',
      'app://renderer/index.html\u0000.png',
      'app://renderer//etc/passwd',
      'app://renderer/C:%5CWindows%5Cwin.ini',
      'app://renderer/index.html::$DATA',
      'app://renderer/%E0%A4%A',
    ]) {
      expect(await resolveAppUrl(url, root), url).toEqual({ kind: 'refused' })
    }
  })

  it('finds nothing outside the folder through plain dot segments: the URL parser resolves them inside it', async () => {
    // '..' and its %2e%2e spelling are dot segments to the URL parser (Chromium's and Node's):
    // app://renderer/../../secret.txt is app://renderer/secret.txt, which does not exist.
    for (const url of [
      'app://renderer/../../secret.txt',
      'app://renderer/%2e%2e/secret.txt',
      'app://renderer/assets/%2E%2E/%2e%2e/secret.txt',
      'app://renderer/../../etc/passwd',
    ]) {
      expect(await resolveAppUrl(url, root), url).toEqual({ kind: 'missing' })
    }
  })

  it('refuses links whose real path is outside the folder', async () => {
    expect(await resolveAppUrl('app://renderer/assets/leak.txt', root)).toEqual({ kind: 'refused' })
    expect(await resolveAppUrl('app://renderer/escape/secret.txt', root)).toEqual({ kind: 'refused' })
  })

  it('refuses other hosts, ports, user info and schemes', async () => {
    for (const url of [
      'app://other/index.html',
      'app://renderer.evil/index.html',
      'app://renderer:8080/index.html',
      'app://user:pw@renderer/index.html',
      'file:///etc/passwd',
      'https://renderer/index.html',
      'not a url',
    ]) {
      expect(await resolveAppUrl(url, root), url).toEqual({ kind: 'refused' })
    }
  })

  it('reports missing files, folders and the bare origin as missing', async () => {
    for (const url of ['app://renderer/nope.html', 'app://renderer/assets', APP_ORIGIN, `${APP_ORIGIN}/`]) {
      expect(await resolveAppUrl(url, root), url).toEqual({ kind: 'missing' })
    }
  })
})

describe('app:// protocol handler', () => {
  const handle = (url: string, method = 'GET'): Promise<Response> => createAppProtocolHandler(root, CSP)(new Request(url, { method }))

  it('serves files with their MIME type, nosniff and the content security policy', async () => {
    const page = await handle('app://renderer/index.html')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('content-security-policy')).toBe(CSP)
    expect(await page.text()).toBe('<!doctype html><title>chat</title>')
    const types = {
      'assets/app.js': 'text/javascript; charset=utf-8',
      'assets/app.css': 'text/css; charset=utf-8',
      'assets/font.woff2': 'font/woff2',
      'assets/blob.bin': 'application/octet-stream',
    }
    for (const [path, type] of Object.entries(types))
      expect((await handle(`app://renderer/${path}`)).headers.get('content-type'), path).toBe(type)
  })

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await handle('app://renderer/assets/app.js', 'HEAD')
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await head.text()).toBe('')
    const post = await handle('app://renderer/index.html', 'POST')
    expect(post.status).toBe(405)
  })

  it('answers 403 to traversal and 404 to missing files, with no body', async () => {
    for (const url of ['app://renderer/..%2F..%2Fsecret.txt', 'app://renderer/assets/leak.txt', 'app://renderer/escape/secret.txt']) {
      const response = await handle(url)
      expect(response.status, url).toBe(403)
      expect(await response.text()).toBe('')
    }
    for (const url of ['app://renderer/../../secret.txt', 'app://renderer/missing.js']) {
      const response = await handle(url)
      expect(response.status, url).toBe(404)
      expect(await response.text()).not.toContain(SECRET)
    }
  })

  it('registers a standard, secure scheme that other origins cannot read and the CSP still governs', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({ standard: true, secure: true, supportFetchAPI: true })
    expect(APP_ORIGIN).toBe('app://renderer')
    expect(appPageUrl('quick.html')).toBe('app://renderer/quick.html')
  })
})
