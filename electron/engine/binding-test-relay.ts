// node-llama-cpp loads a llama.cpp binary only after a child process has loaded it first
// (always for a prebuilt binary on Linux, for GPU builds on Windows): a binary this machine
// cannot run then ends the child, not the process that asked. It starts that child with
// Electron's utilityProcess.fork where `electron` has one (the main process) and with
// child_process.fork everywhere else (node-llama-cpp 3.21.1, testBindingBinary.js:44-61).
// The engine runs in a utility process, whose `electron` module has no utilityProcess, so
// child_process.fork it is: Electron runs process.execPath, the app itself, with
// ELECTRON_RUN_AS_NODE=1, which the packaged app ignores (the RunAsNode fuse is off, see
// scripts/after-pack.mjs). The child starts as a second copy of the app instead, never answers,
// and node-llama-cpp gives up on every binary.
//
// So in the engine's utility process, the fork of that one test script is relayed to the main
// process, which starts the script as a utility process of its own, the way node-llama-cpp does
// from the main process; every other fork goes through untouched. The test script answers a
// parent port as well as process.send (testBindingBinary.js:208-273), and messages pass both
// ways unchanged, so the test itself stays node-llama-cpp's.
import type { ChildProcess, ForkOptions } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { basename, dirname, join } from 'node:path'

/** What the engine asks the main process, and hears back, about one test. */
export type RelayRequest = { id: number; kind: 'start' } | { id: number; kind: 'message'; message: unknown } | { id: number; kind: 'kill' }
export type RelayReply = { id: number; kind: 'message'; message: unknown } | { id: number; kind: 'exit'; code: number }
/** Relay messages travel on the engine's parent port beside the engine protocol, under this key. */
export interface RelayEnvelope<T> {
  bindingTest: T
}

/** The engine's end of its parent port (Electron's ParentPort): what the relay needs of it. */
export interface RelayPort {
  postMessage(message: RelayEnvelope<RelayRequest>): void
  on(event: 'message', listener: (event: { data: unknown }) => void): void
}

type Fork = (modulePath: string | URL, argsOrOptions?: readonly string[] | ForkOptions, options?: ForkOptions) => ChildProcess

/** node-llama-cpp's binding test: its script, forked with TEST_BINDING_CP set (testBindingBinary.js:93-103). */
export function isBindingTestFork(modulePath: string | URL, options: ForkOptions | undefined): boolean {
  const path = modulePath instanceof URL ? modulePath.pathname : modulePath
  return basename(path).startsWith('testBindingBinary') && options?.env?.TEST_BINDING_CP === 'true'
}

function envelope<T>(message: unknown): T | null {
  if (typeof message !== 'object' || message === null || !('bindingTest' in message)) return null
  const inner = (message as RelayEnvelope<unknown>).bindingTest
  if (typeof inner !== 'object' || inner === null) return null
  const { id, kind } = inner as { id?: unknown; kind?: unknown }
  return typeof id === 'number' && typeof kind === 'string' ? (inner as T) : null
}

/** Whether a message from the engine belongs to the relay rather than to the engine protocol. */
export const isRelayMessage = (message: unknown): boolean => envelope<RelayRequest>(message) !== null

/**
 * What node-llama-cpp uses of the child it forks (testBindingBinary.js:104-144): send, kill,
 * 'message' and 'exit', exitCode and killed; no stdout or stderr (it pipes them only when asked).
 */
class RelayedTest extends EventEmitter {
  exitCode: number | null = null
  killed = false
  readonly stdout = null
  readonly stderr = null
  readonly pid = undefined
  constructor(private readonly post: (request: RelayRequest) => void) {
    super()
  }
  send(message: unknown): boolean {
    this.post({ id: 0, kind: 'message', message })
    return true
  }
  kill(): boolean {
    if (this.exitCode !== null || this.killed) return false
    this.killed = true
    this.post({ id: 0, kind: 'kill' })
    return true
  }
  exited(code: number): void {
    if (this.exitCode !== null) return
    this.exitCode = code
    this.emit('exit', code, null)
  }
}

/**
 * child_process.fork, but node-llama-cpp's binding test goes to the main process over the port;
 * everything else is forked by `original`.
 */
export function relayedFork(original: Fork, port: RelayPort): Fork {
  const tests = new Map<number, RelayedTest>()
  let nextId = 1
  port.on('message', ({ data }) => {
    const reply = envelope<RelayReply>(data)
    const test = reply && tests.get(reply.id)
    if (!reply || !test) return
    if (reply.kind === 'message') test.emit('message', reply.message)
    else {
      tests.delete(reply.id)
      test.exited(reply.code)
    }
  })
  return (modulePath, argsOrOptions, options) => {
    const forkOptions = Array.isArray(argsOrOptions) ? options : (argsOrOptions as ForkOptions | undefined)
    if (!isBindingTestFork(modulePath, forkOptions)) return original(modulePath, argsOrOptions, options)
    const id = nextId++
    const test = new RelayedTest((request) => port.postMessage({ bindingTest: { ...request, id } }))
    tests.set(id, test)
    port.postMessage({ bindingTest: { id, kind: 'start' } })
    return test as unknown as ChildProcess
  }
}

interface ElectronProcess {
  type?: string
  parentPort?: RelayPort
}

let relaying = false

/**
 * In an Electron utility process, relays node-llama-cpp's binding test to the main process
 * (electron/main/engine-process.ts serves it); elsewhere (Node, tests) child_process.fork
 * runs Node and works, and nothing changes. node-llama-cpp imports fork as an ES module
 * binding, which follows the builtin's export only after syncBuiltinESMExports.
 */
export function relayBindingTestsToMain(): void {
  const electron = process as NodeJS.Process & ElectronProcess
  if (relaying || process.versions.electron === undefined || electron.type !== 'utility' || !electron.parentPort) return
  relaying = true
  const childProcess = createRequire(import.meta.url)('node:child_process') as { fork: Fork }
  childProcess.fork = relayedFork(childProcess.fork, electron.parentPort)
  syncBuiltinESMExports()
}

/** One test process, as the main process starts it (a utility process there, a Node child in tests). */
export interface TestProcess {
  postMessage(message: unknown): void
  onMessage(listener: (message: unknown) => void): void
  onExit(listener: (code: number) => void): void
  kill(): void
}

/** A compromised engine could ask for tests without end; node-llama-cpp runs one at a time. */
const MAX_RUNNING = 4

/**
 * The main process's side: starts a test process for each test the engine asks for, passes
 * messages both ways and reports its exit code. `start` always starts node-llama-cpp's own
 * test script, whatever path the engine forked. handle: true for a relay message, consumed.
 */
export function serveBindingTests(options: { send: (reply: RelayEnvelope<RelayReply>) => void; start: () => TestProcess }): {
  handle(message: unknown): boolean
  dispose(): void
} {
  const running = new Map<number, TestProcess>()
  const reply = (message: RelayReply): void => options.send({ bindingTest: message })
  return {
    handle(message) {
      const request = envelope<RelayRequest>(message)
      if (!request) return false
      const test = running.get(request.id)
      if (request.kind === 'message') test?.postMessage(request.message)
      else if (request.kind === 'kill') test?.kill()
      else if (!test) {
        if (running.size >= MAX_RUNNING) {
          reply({ id: request.id, kind: 'exit', code: -1 })
          return true
        }
        let started: TestProcess
        try {
          started = options.start()
        } catch {
          // node-llama-cpp reads an exit before the test's ready as "could not run a test process".
          reply({ id: request.id, kind: 'exit', code: -1 })
          return true
        }
        running.set(request.id, started)
        started.onMessage((m) => reply({ id: request.id, kind: 'message', message: m }))
        started.onExit((code) => {
          if (running.get(request.id) !== started) return
          running.delete(request.id)
          reply({ id: request.id, kind: 'exit', code })
        })
      }
      return true
    },
    dispose() {
      for (const test of running.values()) test.kill()
      running.clear()
    },
  }
}

/** node-llama-cpp's binding test script, resolved the way the engine resolves node-llama-cpp. */
export function bindingTestScript(from: string | URL = import.meta.url): string {
  return join(dirname(createRequire(from).resolve('node-llama-cpp')), 'bindings', 'utils', 'testBindingBinary.js')
}
