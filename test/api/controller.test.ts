import { createServer } from 'node:net'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiConfiguration } from '../../electron/api/contract.js'
import { createApiController } from '../../electron/api/controller.js'
import { engineStateFeed } from '../../electron/api/server.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
// What Settings imports (@contract), so the window and main say the same.
import { MAX_ALLOWED_ORIGINS, originListProblem, originProblem, type EngineState } from '../../electron/ipc/contract.js'
import { scratchDir } from '../support/engine.js'
import { engineInfo } from '../renderer/fake-assistant.js'

const scheduler = new GenerationScheduler({
  // eslint-disable-next-line require-yield -- never asked to generate here
  async *generate() {
    throw new Error('unused')
  },
})
const engineState = () => ({ state: 'idle' as const })
// The engine stays idle in these tests: nothing to report.
const watchEngineState = () => () => undefined

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as { port: number }
  await new Promise((r) => probe.close(r))
  return port
}

describe('API settings', () => {
  it('is off by default, with a per-install key kept private on disk', async () => {
    const dir = await scratchDir()
    const api = await createApiController({ settingsPath: join(dir, 'api.json'), scheduler, engineState, watchEngineState })
    const status = api.status()
    expect(status).toMatchObject({
      enabled: false,
      running: false,
      url: null,
      port: 11435,
      allowFileUrls: false,
      allowedOrigins: [],
      error: null,
    })
    expect(status.token).toMatch(/^lva-[\w-]{32}$/)
    if (process.platform !== 'win32') expect((await stat(join(dir, 'api.json'))).mode & 0o777).toBe(0o600)
    const again = await createApiController({ settingsPath: join(dir, 'api.json'), scheduler, engineState, watchEngineState })
    expect(again.status().token).toBe(status.token)
    expect(
      (await createApiController({ settingsPath: join(await scratchDir(), 'api.json'), scheduler, engineState, watchEngineState })).status()
        .token,
    ).not.toBe(status.token)
  })

  it('starts on 127.0.0.1 when enabled, stops when disabled, and remembers', async () => {
    const dir = await scratchDir()
    const port = await freePort()
    const api = await createApiController({ settingsPath: join(dir, 'api.json'), scheduler, engineState, watchEngineState })
    const on = await api.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins: [] })
    expect(on).toMatchObject({ running: true, url: `http://127.0.0.1:${port}/v1` })
    const res = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${on.token}` } })
    expect(await res.json()).toEqual({ object: 'list', data: [] })
    expect(JSON.parse(await readFile(join(dir, 'api.json'), 'utf8'))).toMatchObject({ enabled: true, port })
    expect(await api.configure({ enabled: false, port, allowFileUrls: false, allowedOrigins: [] })).toMatchObject({
      running: false,
      url: null,
    })
    await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow()
    await api.close()
  })

  it('gives the server the engine’s state changes: a request during a reload ends when the reload does', async () => {
    const feed = engineStateFeed()
    let state: EngineState = { state: 'crashed', message: 'The engine process was killed (SIGKILL).', restarting: true }
    const api = await createApiController({
      settingsPath: join(await scratchDir(), 'api.json'),
      scheduler,
      engineState: () => state,
      watchEngineState: feed.watch,
    })
    const on = await api.configure({ enabled: true, port: await freePort(), allowFileUrls: false, allowedOrigins: [] })
    const started = performance.now()
    setTimeout(() => {
      state = { state: 'error', message: 'The engine restarted but the model could not be reloaded: the file is gone.' }
      feed.publish(state)
    }, 100)
    const res = await fetch(`${on.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${on.token}` },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    })
    // Well before the 60 s the server would otherwise wait.
    expect(performance.now() - started).toBeLessThan(5000)
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /^The engine restarted but the model could not be reloaded: the file is gone\./,
    )
    await api.close()
  })

  it('reports a port already in use', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const { port } = blocker.address() as { port: number }
    const api = await createApiController({ settingsPath: join(await scratchDir(), 'api.json'), scheduler, engineState, watchEngineState })
    expect(await api.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins: [] })).toMatchObject({
      running: false,
      error: `Port ${port} is already in use by another program; choose another.`,
    })
    await new Promise((r) => blocker.close(r))
  })
})

/** The preflight a browser on origin sends before a POST with the key. */
function preflightStatus(port: number, origin: string): Promise<{ status: number; allowOrigin: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'OPTIONS',
        path: '/v1/chat/completions',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      },
      (res) => {
        res.resume()
        const allowOrigin = res.headers['access-control-allow-origin']
        resolve({ status: res.statusCode ?? 0, allowOrigin: typeof allowOrigin === 'string' ? allowOrigin : undefined })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('allowed origins (CORS)', () => {
  it('are kept with the settings, reported in the status and given to the server', async () => {
    const dir = await scratchDir()
    const port = await freePort()
    const api = await createApiController({ settingsPath: join(dir, 'api.json'), scheduler, engineState, watchEngineState })
    const allowedOrigins = ['https://example.app', 'http://localhost:*']
    expect(await api.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins })).toMatchObject({
      running: true,
      allowedOrigins,
    })
    expect(await preflightStatus(port, 'http://localhost:5173')).toEqual({ status: 204, allowOrigin: 'http://localhost:5173' })
    expect(await preflightStatus(port, 'https://other.example')).toEqual({ status: 403, allowOrigin: undefined })
    expect(JSON.parse(await readFile(join(dir, 'api.json'), 'utf8'))).toMatchObject({ allowedOrigins })
    await api.close()
    const again = await createApiController({ settingsPath: join(dir, 'api.json'), scheduler, engineState, watchEngineState })
    expect(again.status().allowedOrigins).toEqual(allowedOrigins)
    // Taken away, an origin is refused at once.
    await again.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins: ['http://localhost:*'] })
    expect(await preflightStatus(port, 'https://example.app')).toEqual({ status: 403, allowOrigin: undefined })
    await again.close()
  })

  it('start empty for a settings file from before CORS, which keeps its key', async () => {
    const path = join(await scratchDir(), 'api.json')
    const token = `lva-${'k'.repeat(32)}`
    await writeFile(path, JSON.stringify({ enabled: false, port: 11500, allowFileUrls: true, token }))
    const api = await createApiController({ settingsPath: path, scheduler, engineState, watchEngineState })
    expect(api.status()).toMatchObject({ token, port: 11500, allowFileUrls: true, allowedOrigins: [] })
  })

  it('one bad value falls back alone, the key kept; a torn file gets a new key; the file as it was is kept aside', async () => {
    const dir = await scratchDir()
    const path = join(dir, 'api.json')
    const token = `lva-${'k'.repeat(32)}`
    const edited = JSON.stringify({ enabled: true, port: 80, allowFileUrls: true, allowedOrigins: ['https://example.app'], token })
    await writeFile(path, edited)
    const port = await freePort()
    const api = await createApiController({ settingsPath: path, scheduler, engineState, watchEngineState })
    expect(api.status()).toMatchObject({ token, enabled: true, port: 11435, allowFileUrls: true, allowedOrigins: ['https://example.app'] })
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe(edited)
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token, port: 11435 })
    await api.configure({ enabled: false, port, allowFileUrls: true, allowedOrigins: [] })
    await api.close()

    await writeFile(path, '{"enabled": true, "port": 11')
    const torn = await createApiController({ settingsPath: path, scheduler, engineState, watchEngineState })
    expect(torn.status()).toMatchObject({ enabled: false, port: 11435, allowFileUrls: false })
    expect(torn.status().token).toMatch(/^lva-[\w-]{32}$/)
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe('{"enabled": true, "port": 11')
    // A whole file is not copied again.
    await writeFile(`${path}.unreadable`, 'older')
    await createApiController({ settingsPath: path, scheduler, engineState, watchEngineState })
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe('older')
  })

  it('starts where its settings cannot be written, off; a change says why and changes nothing', async () => {
    const dir = await scratchDir()
    // The data folder's place holds a file: nothing can be written under it, as on a read-only disk.
    await writeFile(join(dir, 'data'), '')
    const api = await createApiController({ settingsPath: join(dir, 'data', 'api.json'), scheduler, engineState, watchEngineState })
    const before = api.status()
    expect(before).toMatchObject({ enabled: false, running: false })
    await expect(api.configure({ enabled: true, port: await freePort(), allowFileUrls: false, allowedOrigins: [] })).rejects.toMatchObject({
      code: 'storage',
      message: /^The API settings could not be saved \(.+\); nothing was changed\.$/,
    })
    expect(api.status()).toEqual(before)
  })

  it('are checked one by one when configured, with a message naming the entry to fix', () => {
    const configure = (allowedOrigins: string[]) =>
      ApiConfiguration.safeParse({ enabled: true, port: 11435, allowFileUrls: false, allowedOrigins })
    expect(
      configure(['https://example.app', 'http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'http://localhost:*'])
        .success,
    ).toBe(true)
    const refusals: [string, string][] = [
      ['https://example.app/', '"https://example.app/" is not an origin as browsers send it; write https://example.app.'],
      ['https://Example.App', '"https://Example.App" is not an origin as browsers send it; write https://example.app.'],
      ['https://example.app:443', '"https://example.app:443" is not an origin as browsers send it; write https://example.app.'],
      ['https://example.app/path', '"https://example.app/path" is not an origin as browsers send it; write https://example.app.'],
      ['https://user@example.app', '"https://user@example.app" is not an origin as browsers send it; write https://example.app.'],
      ['example.app', '"example.app" is not an origin; write it as scheme://host or scheme://host:port, like https://example.app.'],
      ['*', '"*": the only wildcard allowed is http://localhost:* (any port on localhost).'],
      ['https://*.example.app', '"https://*.example.app": the only wildcard allowed is http://localhost:* (any port on localhost).'],
      ['https://localhost:*', '"https://localhost:*": the only wildcard allowed is http://localhost:* (any port on localhost).'],
      ['http://127.0.0.1:*', '"http://127.0.0.1:*": the only wildcard allowed is http://localhost:* (any port on localhost).'],
      ['file:///home/me/page.html', '"file:///home/me/page.html": only http and https origins can be allowed.'],
      ['null', '"null" is not an origin; write it as scheme://host or scheme://host:port, like https://example.app.'],
    ]
    for (const [entry, message] of refusals) {
      const parsed = configure(['https://fine.example', entry])
      expect(parsed.success, entry).toBe(false)
      expect(parsed.error?.issues, entry).toMatchObject([{ path: ['allowedOrigins', 1], message }])
    }
    expect(configure(['https://example.app', 'https://example.app']).error?.issues).toMatchObject([
      { message: 'An origin is listed twice.' },
    ])
    expect(configure(Array.from({ length: 33 }, (_, i) => `http://localhost:${3000 + i}`)).success).toBe(false)
  })

  it('are refused in the same words by main and by Settings, too many or too long included', () => {
    const configure = (allowedOrigins: string[]) =>
      ApiConfiguration.safeParse({ enabled: true, port: 11435, allowFileUrls: false, allowedOrigins })
    const tooMany = Array.from({ length: MAX_ALLOWED_ORIGINS + 1 }, (_, i) => `http://localhost:${3000 + i}`)
    const tooManyWords = `At most ${MAX_ALLOWED_ORIGINS} origins can be allowed; remove one to add another.`
    expect(configure(tooMany).error?.issues).toMatchObject([{ path: ['allowedOrigins'], message: tooManyWords }])
    expect(originListProblem(tooMany)).toBe(tooManyWords)
    expect(originListProblem(tooMany.slice(1))).toBeNull()
    expect(originListProblem(['https://example.app', 'https://example.app'])).toBe('An origin is listed twice.')

    const long = `https://${'a'.repeat(290)}.example`
    const longWords = `This origin is ${long.length} characters long; an origin has at most 256.`
    // One sentence, not the schema's "Too big" beside it.
    expect(configure([long]).error?.issues).toMatchObject([{ path: ['allowedOrigins', 0], message: longWords }])
    expect(originProblem(long)).toBe(longWords)
    expect(originProblem('https://example.app/')).toBe(
      '"https://example.app/" is not an origin as browsers send it; write https://example.app.',
    )
    expect(originProblem('https://example.app')).toBeNull()
  })
})

describe('a settings change while answers are in progress', () => {
  const MODEL = 'slow-model'
  const ready: EngineState = { state: 'ready', info: engineInfo({ vision: false, modelPath: `/models/${MODEL}.gguf` }) }

  /** An engine that says "Hello", then waits for release() (or a cancel) before " world". */
  function slowEngine(): { scheduler: GenerationScheduler; release: () => void } {
    let release = (): void => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const scheduler = new GenerationScheduler({
      async *generate(_request, signal) {
        yield { kind: 'tokens', text: 'Hello', count: 1 }
        await Promise.race([gate, new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }))])
        const stats = { tokensIn: 1, tokensOut: 2, imageTokens: 0, timeToFirstTokenMs: 1, tokensPerSecond: null, totalMs: 1 }
        if (signal?.aborted) return yield { kind: 'done', stats: { ...stats, stopReason: 'cancelled' } }
        yield { kind: 'tokens', text: ' world', count: 1 }
        yield { kind: 'done', stats: { ...stats, stopReason: 'eos' } }
      },
    })
    return { scheduler, release: () => release() }
  }

  /** A completion as raw HTTP: its status, and a promise of the whole body; `started` resolves at the first bytes. */
  function ask(port: number, token: string, stream: boolean): { started: Promise<number>; body: Promise<string> } {
    let started: (status: number) => void = () => undefined
    const startedAt = new Promise<number>((resolve) => (started = resolve))
    const body = new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/chat/completions',
          agent: false,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = ''
          res.on('data', (c: Buffer) => {
            text += c
            started(res.statusCode ?? 0)
          })
          res.on('end', () => resolve(text))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream }))
    })
    return { started: startedAt, body }
  }

  it('takes new origins and the file-URL switch without cutting an answer', async () => {
    const { scheduler, release } = slowEngine()
    const port = await freePort()
    const api = await createApiController({
      settingsPath: join(await scratchDir(), 'api.json'),
      scheduler,
      engineState: () => ready,
      watchEngineState,
    })
    const on = await api.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins: [] })
    const answer = ask(port, on.token, true)
    expect(await answer.started).toBe(200)
    await api.configure({ enabled: true, port, allowFileUrls: true, allowedOrigins: ['https://example.app'] })
    // The new origin holds at once, on the server still running.
    expect(await preflightStatus(port, 'https://example.app')).toEqual({ status: 204, allowOrigin: 'https://example.app' })
    release()
    const body = await answer.body
    expect(body).toContain('"content":" world"')
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    await api.close()
  })

  it('turned off or moved, ends each answer with an error that says why, then closes', async () => {
    const { scheduler } = slowEngine()
    const port = await freePort()
    const api = await createApiController({
      settingsPath: join(await scratchDir(), 'api.json'),
      scheduler,
      engineState: () => ready,
      watchEngineState,
    })
    const on = await api.configure({ enabled: true, port, allowFileUrls: false, allowedOrigins: [] })
    const streaming = ask(port, on.token, true)
    await streaming.started
    // Queued behind the stream: it has had no answer yet.
    const waiting = ask(port, on.token, false)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const moved = await api.configure({ enabled: true, port: await freePort(), allowFileUrls: false, allowedOrigins: [] })
    expect(moved.running).toBe(true)
    const events = (await streaming.body).split('\n\n').filter(Boolean)
    expect(events.at(-1)).toMatch(/^data: \{"error":\{.*"code":"server_stopping"/)
    expect(events).not.toContain('data: [DONE]')
    expect(JSON.parse(await waiting.body)).toMatchObject({ error: { code: 'server_stopping', type: 'server_error' } })
    await api.close()
  })

  it('a new key refuses the old one at once, keeps the rest, and lets an answer in progress finish', async () => {
    const { scheduler, release } = slowEngine()
    const port = await freePort()
    const path = join(await scratchDir(), 'api.json')
    const api = await createApiController({ settingsPath: path, scheduler, engineState: () => ready, watchEngineState })
    const before = await api.configure({ enabled: true, port, allowFileUrls: true, allowedOrigins: ['https://example.app'] })
    const answer = ask(port, before.token, true)
    await answer.started
    const after = await api.regenerateKey()
    expect(after.token).toMatch(/^lva-[\w-]{32}$/)
    expect(after.token).not.toBe(before.token)
    expect(after).toEqual({ ...before, token: after.token })
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token: after.token, enabled: true, port })
    const models = (token: string) => fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${token}` } })
    expect((await models(before.token)).status).toBe(401)
    expect((await models(after.token)).status).toBe(200)
    release()
    expect((await answer.body).endsWith('data: [DONE]\n\n')).toBe(true)
    await api.close()
    // Read back after a restart of the app.
    const again = await createApiController({ settingsPath: path, scheduler, engineState: () => ready, watchEngineState })
    expect(again.status().token).toBe(after.token)
  })

  it('a new key that cannot be saved changes nothing and says why', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, 'data'), '')
    const api = await createApiController({ settingsPath: join(dir, 'data', 'api.json'), scheduler, engineState, watchEngineState })
    const before = api.status()
    await expect(api.regenerateKey()).rejects.toMatchObject({ code: 'storage', message: /^The API settings could not be saved/ })
    expect(api.status()).toEqual(before)
  })

  it('overlapping changes are applied in turn: no server is left running that the settings do not name', async () => {
    const [first, second] = [await freePort(), await freePort()]
    const api = await createApiController({ settingsPath: join(await scratchDir(), 'api.json'), scheduler, engineState, watchEngineState })
    const both = await Promise.all([
      api.configure({ enabled: true, port: first, allowFileUrls: false, allowedOrigins: [] }),
      api.configure({ enabled: true, port: second, allowFileUrls: false, allowedOrigins: [] }),
    ])
    expect(both[1]).toMatchObject({ running: true, port: second })
    await api.configure({ enabled: false, port: second, allowFileUrls: false, allowedOrigins: [] })
    for (const port of [first, second]) await expect(fetch(`http://127.0.0.1:${port}/v1/models`), `port ${port}`).rejects.toThrow()
    // The app quitting while a change is being saved: the server that change starts is closed too.
    const enabling = api.configure({ enabled: true, port: first, allowFileUrls: false, allowedOrigins: [] })
    await api.close()
    await enabling
    await expect(fetch(`http://127.0.0.1:${first}/v1/models`)).rejects.toThrow()
  })
})
