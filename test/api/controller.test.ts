import { createServer } from 'node:net'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createApiController } from '../../electron/api/controller.js'
import { engineStateFeed } from '../../electron/api/server.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineState } from '../../electron/ipc/contract.js'
import { scratchDir } from '../support/engine.js'

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
    expect(status).toMatchObject({ enabled: false, running: false, url: null, port: 11435, allowFileUrls: false, error: null })
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
    const on = await api.configure({ enabled: true, port, allowFileUrls: false })
    expect(on).toMatchObject({ running: true, url: `http://127.0.0.1:${port}/v1` })
    const res = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${on.token}` } })
    expect(await res.json()).toEqual({ object: 'list', data: [] })
    expect(JSON.parse(await readFile(join(dir, 'api.json'), 'utf8'))).toMatchObject({ enabled: true, port })
    expect(await api.configure({ enabled: false, port, allowFileUrls: false })).toMatchObject({ running: false, url: null })
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
    const on = await api.configure({ enabled: true, port: await freePort(), allowFileUrls: false })
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
    expect(await api.configure({ enabled: true, port, allowFileUrls: false })).toMatchObject({
      running: false,
      error: `Port ${port} is already in use by another program; choose another.`,
    })
    await new Promise((r) => blocker.close(r))
  })
})
