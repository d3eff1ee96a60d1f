// The engine in an Electron utility process: a native crash there leaves the app running.
import { utilityProcess } from 'electron'
import type { EngineProcess, SpawnEngine } from '../engine/client.js'
import type { FromEngine } from '../engine/protocol.js'
import { bindingTestScript, isRelayMessage, serveBindingTests, type TestProcess } from '../engine/binding-test-relay.js'

export function utilityEngineSpawner(entry: string, onOutput: (text: string) => void, env: Record<string, string> = {}): SpawnEngine {
  return (): EngineProcess => {
    const child = utilityProcess.fork(entry, [], { serviceName: 'Model engine', stdio: 'pipe', env: { ...process.env, ...env } })
    const forward = (data: Buffer): void => onOutput(data.toString('utf8'))
    child.stdout?.on('data', forward)
    child.stderr?.on('data', forward)
    // node-llama-cpp's test of a llama.cpp binary cannot start a process from the engine's
    // utility process in the packaged app; it is started here (electron/engine/binding-test-relay.ts).
    const bindingTests = serveBindingTests({ send: (reply) => child.postMessage(reply), start: () => startBindingTest(forward) })
    child.on('message', (m: unknown) => bindingTests.handle(m))
    child.on('exit', () => bindingTests.dispose())
    return {
      get pid() {
        return child.pid
      },
      send: (message) => child.postMessage(message),
      onMessage: (listener) =>
        void child.on('message', (m: unknown) => {
          if (!isRelayMessage(m)) listener(m as FromEngine)
        }),
      onExit: (listener) => void child.on('exit', (code) => listener(code, null)),
      kill: () => void child.kill(),
    }
  }
}

/** node-llama-cpp's own test script as a utility process, as node-llama-cpp starts it from a main process. */
function startBindingTest(forward: (data: Buffer) => void): TestProcess {
  const test = utilityProcess.fork(bindingTestScript(), [], {
    serviceName: 'llama.cpp binary test',
    stdio: 'pipe',
    env: { ...process.env, TEST_BINDING_CP: 'true' },
  })
  // Why a binary failed (a missing CUDA library) goes to the engine log.
  test.stdout?.on('data', forward)
  test.stderr?.on('data', forward)
  return {
    postMessage: (message) => test.postMessage(message),
    onMessage: (listener) => void test.on('message', listener),
    onExit: (listener) => void test.on('exit', listener),
    kill: () => void test.kill(),
  }
}
