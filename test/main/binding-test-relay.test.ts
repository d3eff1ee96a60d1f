// node-llama-cpp's binding test in the packaged app's engine: relayed to the main process,
// never forked from the engine's utility process (electron/engine/binding-test-relay.ts).
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import {
  bindingTestScript,
  isBindingTestFork,
  isRelayMessage,
  relayedFork,
  serveBindingTests,
  type RelayEnvelope,
  type RelayPort,
  type RelayReply,
  type RelayRequest,
  type TestProcess,
} from '../../electron/engine/binding-test-relay.js'
import type { PackagedEngineReport } from './packaged-engine-child.js'

const TEST_ENV = { TEST_BINDING_CP: 'true' }

/** An engine's parent port and the main process's end of it, in one process. */
function ports(): { engine: RelayPort; toEngine: (reply: RelayEnvelope<RelayReply>) => void; fromEngine: RelayEnvelope<RelayRequest>[] } {
  const emitter = new EventEmitter()
  const fromEngine: RelayEnvelope<RelayRequest>[] = []
  return {
    engine: { postMessage: (m) => void fromEngine.push(m), on: (event, listener) => void emitter.on(event, listener) },
    toEngine: (reply) => void emitter.emit('message', { data: reply }),
    fromEngine,
  }
}

/** A test process that records what it was sent and exits when told. */
function fakeTest(): TestProcess & { sent: unknown[]; killed: boolean; say(m: unknown): void; exit(code: number): void } {
  const events = new EventEmitter()
  const test = {
    sent: [] as unknown[],
    killed: false,
    postMessage: (m: unknown) => void test.sent.push(m),
    onMessage: (listener: (m: unknown) => void) => void events.on('message', listener),
    onExit: (listener: (code: number) => void) => void events.on('exit', listener),
    kill: () => {
      test.killed = true
      events.emit('exit', 143)
    },
    say: (m: unknown) => void events.emit('message', m),
    exit: (code: number) => void events.emit('exit', code),
  }
  return test
}

describe('the engine side: which forks are relayed', () => {
  it("knows node-llama-cpp's binding test by its script and TEST_BINDING_CP", () => {
    const script = bindingTestScript()
    expect(isBindingTestFork(script, { env: { ...process.env, ...TEST_ENV } })).toBe(true)
    expect(isBindingTestFork(new URL(`file://${script}`), { env: TEST_ENV })).toBe(true)
    expect(isBindingTestFork(script, { env: {} })).toBe(false)
    expect(isBindingTestFork('/app/engine-host.js', { env: TEST_ENV })).toBe(false)
  })

  it('forks anything else as before, and the test through the port', () => {
    const original = vi.fn((): ChildProcess => new EventEmitter() as unknown as ChildProcess)
    const { engine, fromEngine } = ports()
    const relayed = relayedFork(original, engine)
    relayed('/app/worker.js', ['a'], { env: TEST_ENV })
    relayed(bindingTestScript(), { env: {} })
    expect(original).toHaveBeenCalledTimes(2)
    relayed(bindingTestScript(), [], { env: TEST_ENV })
    expect(original).toHaveBeenCalledTimes(2)
    expect(fromEngine).toEqual([{ bindingTest: { id: 1, kind: 'start' } }])
  })

  it("gives node-llama-cpp a child it can use: send, 'message', kill and 'exit'", () => {
    const { engine, toEngine, fromEngine } = ports()
    const child = relayedFork(vi.fn(), engine)(bindingTestScript(), [], { env: TEST_ENV })
    // testBindingBinary.js reads these at once: a child already gone is a failed test.
    expect(child.killed).toBe(false)
    expect(child.exitCode).toBeNull()
    expect(child.stdout).toBeNull()
    const heard: unknown[] = []
    child.on('message', (m) => heard.push(m))
    const exits: (number | null)[] = []
    child.on('exit', (code) => exits.push(code))
    toEngine({ bindingTest: { id: 1, kind: 'message', message: { type: 'ready' } } })
    // Another test's reply is not this one's.
    toEngine({ bindingTest: { id: 2, kind: 'message', message: { type: 'done' } } })
    child.send({ type: 'start', bindingBinaryPath: '/b.node' })
    child.kill('SIGKILL')
    toEngine({ bindingTest: { id: 1, kind: 'exit', code: 0 } })
    toEngine({ bindingTest: { id: 1, kind: 'exit', code: 1 } })
    expect(heard).toEqual([{ type: 'ready' }])
    expect(fromEngine.slice(1)).toEqual([
      { bindingTest: { id: 1, kind: 'message', message: { type: 'start', bindingBinaryPath: '/b.node' } } },
      { bindingTest: { id: 1, kind: 'kill' } },
    ])
    expect(exits).toEqual([0])
    expect(child.exitCode).toBe(0)
  })
})

describe('the main process side: one test process per test', () => {
  it('starts a test, passes messages both ways and reports the exit code', () => {
    const replies: RelayEnvelope<RelayReply>[] = []
    const test = fakeTest()
    const start = vi.fn(() => test)
    const served = serveBindingTests({ send: (r) => void replies.push(r), start })
    expect(served.handle({ type: 'ready', pid: 1 })).toBe(false)
    expect(served.handle({ id: 3, type: 'result', value: null })).toBe(false)
    expect(served.handle({ bindingTest: { id: 7, kind: 'start' } })).toBe(true)
    test.say({ type: 'ready' })
    served.handle({ bindingTest: { id: 7, kind: 'message', message: { type: 'start' } } })
    test.exit(0)
    expect(start).toHaveBeenCalledTimes(1)
    expect(test.sent).toEqual([{ type: 'start' }])
    expect(replies).toEqual([
      { bindingTest: { id: 7, kind: 'message', message: { type: 'ready' } } },
      { bindingTest: { id: 7, kind: 'exit', code: 0 } },
    ])
  })

  it('reports a test process that could not start as an exit, and refuses tests without end', () => {
    const replies: RelayEnvelope<RelayReply>[] = []
    const served = serveBindingTests({
      send: (r) => void replies.push(r),
      start: () => {
        throw new Error('not ready')
      },
    })
    served.handle({ bindingTest: { id: 1, kind: 'start' } })
    expect(replies).toEqual([{ bindingTest: { id: 1, kind: 'exit', code: -1 } }])

    const many = serveBindingTests({ send: (r) => void replies.push(r), start: fakeTest })
    for (let id = 10; id < 15; id++) many.handle({ bindingTest: { id, kind: 'start' } })
    expect(replies.at(-1)).toEqual({ bindingTest: { id: 14, kind: 'exit', code: -1 } })
  })

  it('kills the tests of an engine that is gone', () => {
    const tests = [fakeTest(), fakeTest()]
    const served = serveBindingTests({ send: () => undefined, start: () => tests.shift()! })
    const started = [...tests]
    served.handle({ bindingTest: { id: 1, kind: 'start' } })
    served.handle({ bindingTest: { id: 2, kind: 'start' } })
    served.handle({ bindingTest: { id: 1, kind: 'kill' } })
    expect(started.map((t) => t.killed)).toEqual([true, false])
    served.dispose()
    expect(started.map((t) => t.killed)).toEqual([true, true])
  })

  it('tells relay messages from the engine protocol', () => {
    expect(isRelayMessage({ bindingTest: { id: 1, kind: 'start' } })).toBe(true)
    for (const m of [null, 'x', { type: 'log', line: 'l' }, { bindingTest: null }, { bindingTest: { kind: 'start' } }])
      expect(isRelayMessage(m), JSON.stringify(m)).toBe(false)
  })
})

describe("node-llama-cpp's test script, as the main process starts it", () => {
  it('is where the main process looks, and answers a parent port (a utility process) as well as process.send', async () => {
    const source = await readFile(bindingTestScript(), 'utf8')
    expect(source).toContain('process.env.TEST_BINDING_CP === "true" && (process.parentPort != null || process.send != null)')
    expect(source).toContain('process.parentPort.on("message"')
  })
})

describe("the engine's getLlama in a packaged app's utility process", () => {
  it('starts node-llama-cpp without forking a process that needs ELECTRON_RUN_AS_NODE', async () => {
    const child = fork(fileURLToPath(new URL('./packaged-engine-child.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      // import('electron') then gives a path, as a utility process's electron module gives no
      // utilityProcess: node-llama-cpp falls back to child_process.fork either way. Set, it
      // also keeps the electron package from trying to download its binary.
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    } satisfies ForkOptions)
    const report = await new Promise<PackagedEngineReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as PackagedEngineReport))
      child.once('exit', (code) => reject(new Error(`the engine child exited (${code}) without a report`)))
    })
    child.kill()
    expect(report.refusedForks).toEqual([])
    expect(report.relayedTests).toBeGreaterThan(0)
    // The last binary tested is the one loaded.
    expect(report.exitCodes.at(-1)).toBe(0)
    expect(report.logs.filter((line) => line.includes('could not start'))).toEqual([])
    expect(report.backend).not.toBeNull()
  })
})
