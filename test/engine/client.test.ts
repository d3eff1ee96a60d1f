// Main's engine client against fake engine processes that keep the real one's order (one load
// at a time, the previous model unloaded before the next is tried) and die when told: what the
// client says is loaded, and brings back after a crash, is what the engine holds.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { EngineInfo, EngineState } from '../../electron/ipc/contract.js'
import { EngineClient, type EngineProcess } from '../../electron/engine/client.js'
import type { FromEngine, ToEngine } from '../../electron/engine/protocol.js'
import { engineInfo } from '../renderer/fake-assistant.js'

const info = (modelPath: string): EngineInfo => engineInfo({ vision: false, modelPath })

interface FakeProcess {
  /** The model this process holds. */
  loaded: string | null
  /** Every model path it was asked to load, in order. */
  loads: string[]
  die(): void
}

/**
 * Fake engine processes. A path holding "too-big" fails after the previous model was unloaded,
 * as an out-of-memory load does; dieOnLoad(n) makes process n (from 1) die when asked to load.
 */
function fakeEngine(dieOnLoad: (n: number) => boolean = () => false): { spawn: () => EngineProcess; processes: FakeProcess[] } {
  const processes: FakeProcess[] = []
  const spawn = (): EngineProcess => {
    const n = processes.length + 1
    let listener: (m: FromEngine) => void = () => undefined
    let exit: (code: number | null, signal: string | null) => void = () => undefined
    let dead = false
    let queue: Promise<unknown> = Promise.resolve()
    const fake: FakeProcess = {
      loaded: null,
      loads: [],
      die: () => {
        if (dead) return
        dead = true
        setTimeout(() => exit(134, null), 0)
      },
    }
    processes.push(fake)
    setTimeout(() => listener({ type: 'ready', pid: n }), 0)
    return {
      pid: n,
      send(message: ToEngine) {
        queue = queue.then(async () => {
          await new Promise((r) => setTimeout(r, 10))
          if (dead) return
          if (message.type === 'unload') {
            fake.loaded = null
            listener({ id: message.id, type: 'result', value: null })
          }
          if (message.type !== 'load') return
          fake.loads.push(message.request.modelPath)
          if (dieOnLoad(n)) return fake.die()
          fake.loaded = null
          if (message.request.modelPath.includes('too-big')) {
            listener({ id: message.id, type: 'error', error: { code: 'model-load-failed', message: 'Out of memory.' } })
            return
          }
          fake.loaded = message.request.modelPath
          listener({ id: message.id, type: 'result', value: info(fake.loaded) })
        })
      },
      onMessage: (l) => void (listener = l),
      onExit: (l) => void (exit = l),
      kill: () => fake.die(),
    }
  }
  return { spawn, processes }
}

const shown = (state: EngineState): string => (state.state === 'ready' ? `ready ${state.info.modelPath}` : state.state)

afterEach(() => {
  vi.useRealTimers()
})

describe('loads one after another', () => {
  it('a load that fails while a newer one waits does not bring the old model back over the new one', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/previous.gguf' })
    const failed = client.load({ modelPath: '/m/too-big.gguf' }).then(
      () => 'loaded',
      (error: Error) => error.message,
    )
    const wanted = client.load({ modelPath: '/m/wanted.gguf' })
    expect(await failed).toBe('Out of memory.')
    expect((await wanted).modelPath).toBe('/m/wanted.gguf')
    // Whatever was still queued has run.
    await new Promise((r) => setTimeout(r, 100))
    const engine = fake.processes[0]!
    expect(engine.loaded).toBe('/m/wanted.gguf')
    expect(engine.loads).toEqual(['/m/previous.gguf', '/m/too-big.gguf', '/m/wanted.gguf'])
    expect(shown(client.state())).toBe('ready /m/wanted.gguf')

    // A crash brings back what was loaded, not the model the failed load replaced.
    engine.die()
    await expect.poll(() => fake.processes[1]?.loaded).toBe('/m/wanted.gguf')
    await expect.poll(() => shown(client.state())).toBe('ready /m/wanted.gguf')
    expect(fake.processes[1]!.loads).toEqual(['/m/wanted.gguf'])
    await client.dispose()
  })

  it('a load that fails with nothing waiting brings the previous model back', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/previous.gguf' })
    await expect(client.load({ modelPath: '/m/too-big.gguf' })).rejects.toThrow('Out of memory.')
    expect(fake.processes[0]!.loaded).toBe('/m/previous.gguf')
    expect(shown(client.state())).toBe('ready /m/previous.gguf')
    await client.dispose()
  })

  it('an unload asked for during a load leaves nothing loaded', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    const loading = client.load({ modelPath: '/m/a.gguf' })
    const unloaded = await client.unload()
    await loading
    expect(unloaded).toEqual({ state: 'idle' })
    expect(client.state()).toEqual({ state: 'idle' })
    expect(fake.processes[0]!.loaded).toBeNull()
  })
})

describe('after a crash', () => {
  it('a reload that needed two tries leaves the model known, and the next crash brings it back', async () => {
    // Only Date: the crash count's minute passes; the fakes' timers run as they are.
    vi.useFakeTimers({ toFake: ['Date'] })
    const fake = fakeEngine((n) => n === 2)
    const states: EngineState[] = []
    const client = new EngineClient({ spawn: fake.spawn, onState: (s) => states.push(s) })
    await client.load({ modelPath: '/m/model.gguf' })
    fake.processes[0]!.die()
    await expect.poll(() => fake.processes.length).toBe(3)
    await expect.poll(() => shown(client.state())).toBe('ready /m/model.gguf')
    // The first try's failure, seen after the second began, said nothing.
    expect(states.filter((s) => s.state === 'error')).toEqual([])

    vi.setSystemTime(Date.now() + 61_000)
    fake.processes[2]!.die()
    await expect.poll(() => fake.processes.length).toBe(4)
    await expect.poll(() => shown(client.state())).toBe('ready /m/model.gguf')
    expect(fake.processes[3]!.loads).toEqual(['/m/model.gguf'])
    await client.dispose()
  })

  it('a model that takes every fresh process down is brought back three times, then not, and the state says why', async () => {
    const fake = fakeEngine((n) => n > 1)
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/model.gguf' })
    fake.processes[0]!.die()
    await expect.poll(() => client.state().state).toBe('error')
    expect(client.state()).toEqual({
      state: 'error',
      message:
        'The engine process stopped 3 times within a minute, so the model was not loaded again. Load it again to retry, or choose another model.',
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(fake.processes).toHaveLength(3)
    await client.dispose()
  })
})
