// The engine's start of node-llama-cpp, run as the packaged app's engine runs it: an Electron
// utility process (process.versions.electron, process.type 'utility', a parent port to the main
// process) whose child_process.fork cannot start Node. There, fork runs the app's own
// executable with ELECTRON_RUN_AS_NODE=1, which the RunAsNode fuse makes it ignore; here a fork
// of node-llama-cpp's binding test script is recorded and refused instead. The main process's
// side (serveBindingTests) runs in this process, starting the test script as a Node child where
// the app starts a utility process. Reports to the parent what happened.
import type { ChildProcess, ForkOptions } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { bindingTestScript, isBindingTestFork, serveBindingTests, type RelayPort } from '../../electron/engine/binding-test-relay.js'

export interface PackagedEngineReport {
  /** Forks of the binding test script that would have started the app binary as Node. */
  refusedForks: string[]
  /** Tests the main process's side started. */
  relayedTests: number
  /** The test processes' exit codes, in order. */
  exitCodes: number[]
  logs: string[]
  /** The backend node-llama-cpp runs on ('cpu', 'vulkan', …); null when it did not start. */
  backend: string | null
}

type Fork = (modulePath: string | URL, argsOrOptions?: readonly string[] | ForkOptions, options?: ForkOptions) => ChildProcess
const childProcess = createRequire(import.meta.url)('node:child_process') as { fork: Fork }
const nodeFork = childProcess.fork
const report: PackagedEngineReport = { refusedForks: [], relayedTests: 0, exitCodes: [], logs: [], backend: null }

childProcess.fork = (modulePath, argsOrOptions, options) => {
  const forkOptions = Array.isArray(argsOrOptions) ? options : (argsOrOptions as ForkOptions | undefined)
  if (isBindingTestFork(modulePath, forkOptions)) {
    report.refusedForks.push(String(modulePath))
    throw new Error('child_process.fork in a packaged utility process starts the app, not Node (the RunAsNode fuse is off)')
  }
  return nodeFork(modulePath, argsOrOptions, options)
}
syncBuiltinESMExports()

// The main process's side, reached through the parent port.
const parentPort = new EventEmitter() as EventEmitter & RelayPort
const served = serveBindingTests({
  send: (reply) => setImmediate(() => parentPort.emit('message', { data: reply })),
  start: () => {
    report.relayedTests++
    const test = nodeFork(bindingTestScript(), [], {
      env: { ...process.env, TEST_BINDING_CP: 'true' },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    return {
      postMessage: (message) => void test.send(message as object),
      onMessage: (listener) => void test.on('message', listener),
      onExit: (listener) =>
        void test.on('exit', (code) => {
          report.exitCodes.push(code ?? -1)
          listener(code ?? -1)
        }),
      kill: () => void test.kill('SIGKILL'),
    }
  },
})
parentPort.postMessage = (message) => void setImmediate(() => served.handle(message))

Object.defineProperty(process.versions, 'electron', { value: '45.5.0', enumerable: true })
Object.defineProperty(process, 'type', { value: 'utility' })
Object.defineProperty(process, 'parentPort', { value: parentPort })

// node-llama-cpp reads process.versions.electron when it loads: imported only now.
const { createEngine } = await import('../../electron/engine/engine.js')
const engine = createEngine({ threads: 1, log: (line) => report.logs.push(line) })
// The engine's own path to getLlama: a library scan starts node-llama-cpp for its fit estimates.
const scan = await engine.library(null, [])
report.backend = scan.hardware?.backend ?? null
process.send?.(report)
