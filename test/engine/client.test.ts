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
 * as an out-of-memory load does; one holding "hangs" never answers; dieOnLoad(n) makes process n (from 1) die when asked to load.
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
        // A question is answered at once, beside a load in progress, as the engine's event loop does.
        if (message.type === 'generate') {
          setTimeout(() => {
            if (dead) return
            if (!fake.loaded) listener({ id: message.id, type: 'error', error: { code: 'no-model', message: 'No model is loaded.' } })
            else {
              listener({ id: message.id, type: 'chunks', chunks: [{ kind: 'tokens', text: `from ${fake.loaded}`, count: 1 }] })
              listener({ id: message.id, type: 'result', value: null })
            }
          }, 0)
          return
        }
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
          // A load that never returns: a hung native call.
          if (message.request.modelPath.includes('hangs')) return
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

describe('a question right after a crash', () => {
  const answer = async (client: EngineClient): Promise<string> => {
    let text = ''
    for await (const chunk of client.generate({ messages: [{ role: 'user', text: 'Hi?' }] }))
      if (chunk.kind === 'tokens') text += chunk.text
    return text
  }

  it('waits for the model to be back in the fresh process instead of being refused', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/a.gguf' })
    fake.processes[0]!.die()
    await new Promise((r) => setTimeout(r, 1))
    expect(client.state().state).toBe('crashed')
    expect(await answer(client)).toBe('from /m/a.gguf')
    await client.dispose()
  })

  it('after a reload that failed, says why rather than waiting', async () => {
    const fake = fakeEngine((n) => n > 1)
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/a.gguf' })
    fake.processes[0]!.die()
    await expect(answer(client)).rejects.toThrow(/3 times within a minute/)
    await client.dispose()
  })
})

describe('Stop loading', () => {
  it('a load that never returns is stopped: its caller is told, and the model loaded before comes back in a fresh process', async () => {
    const fake = fakeEngine()
    const states: string[] = []
    const client = new EngineClient({ spawn: fake.spawn, onState: (s) => states.push(shown(s)) })
    await client.load({ modelPath: '/m/previous.gguf' })
    states.length = 0
    const hung = client.load({ modelPath: '/m/hangs.gguf' })
    await expect.poll(() => fake.processes[0]!.loads).toEqual(['/m/previous.gguf', '/m/hangs.gguf'])
    client.cancelLoad()
    await expect(hung).rejects.toMatchObject({ code: 'load-cancelled' })
    await expect.poll(() => shown(client.state())).toBe('ready /m/previous.gguf')
    expect(fake.processes[1]!.loads).toEqual(['/m/previous.gguf'])
    // No crash was shown: loading the new model, then loading the old one again, then ready.
    expect(states).toEqual(['loading', 'loading', 'ready /m/previous.gguf'])
    // Another model loads at once after it.
    expect((await client.load({ modelPath: '/m/next.gguf' })).modelPath).toBe('/m/next.gguf')
    await client.dispose()
  })

  it('with nothing loaded before, a stopped load leaves the engine idle', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    const hung = client.load({ modelPath: '/m/hangs.gguf' })
    await expect.poll(() => fake.processes[0]?.loads).toEqual(['/m/hangs.gguf'])
    client.cancelLoad()
    await expect(hung).rejects.toMatchObject({ code: 'load-cancelled' })
    await expect.poll(() => client.state().state).toBe('idle')
    expect(fake.processes).toHaveLength(1)
    await client.dispose()
  })

  it('is not counted as a crash: stopping loads again and again never gives up on the model loaded before', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/previous.gguf' })
    for (let i = 0; i < 4; i++) {
      const hung = client.load({ modelPath: `/m/hangs-${i}.gguf` })
      await expect.poll(() => fake.processes.at(-1)!.loads.at(-1)).toBe(`/m/hangs-${i}.gguf`)
      client.cancelLoad()
      await expect(hung).rejects.toMatchObject({ code: 'load-cancelled' })
      await expect.poll(() => shown(client.state())).toBe('ready /m/previous.gguf')
    }
    await client.dispose()
  })

  it('stopping the model being brought back after a crash leaves nothing loaded, and no load is under way after it', async () => {
    let hangFrom = Infinity
    const fake = fakeEngine()
    const spawn = (): EngineProcess => {
      const process = fake.spawn()
      // The fresh process after the crash never finishes loading.
      if (fake.processes.length >= hangFrom) {
        const send = process.send.bind(process)
        process.send = (message) =>
          message.type === 'load' ? void fake.processes.at(-1)!.loads.push(message.request.modelPath) : send(message)
      }
      return process
    }
    const client = new EngineClient({ spawn })
    await client.load({ modelPath: '/m/a.gguf' })
    hangFrom = 2
    fake.processes[0]!.die()
    await expect.poll(() => fake.processes[1]?.loads).toEqual(['/m/a.gguf'])
    expect(client.state().state).toBe('crashed')
    client.cancelLoad()
    await expect.poll(() => client.state().state).toBe('idle')
    await new Promise((r) => setTimeout(r, 50))
    expect(fake.processes).toHaveLength(2)
    expect(client.cancelLoad().state).toBe('idle')
    await client.dispose()
  })

  it('does nothing when no load is under way', async () => {
    const fake = fakeEngine()
    const client = new EngineClient({ spawn: fake.spawn })
    await client.load({ modelPath: '/m/a.gguf' })
    expect(shown(client.cancelLoad())).toBe('ready /m/a.gguf')
    await new Promise((r) => setTimeout(r, 50))
    expect(fake.processes).toHaveLength(1)
    expect(fake.processes[0]!.loaded).toBe('/m/a.gguf')
    await client.dispose()
  })
})
