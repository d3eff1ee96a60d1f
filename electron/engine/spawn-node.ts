// Runs the engine host as a plain Node child process (tests, benchmarks, CLI).
// The app uses Electron's utilityProcess instead (electron/main/engine-process.ts).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { EngineProcess, SpawnEngine } from './client.js'
import type { FromEngine } from './protocol.js'

const HOST_SOURCE = fileURLToPath(new URL('./host.ts', import.meta.url))
/** The bundle electron-vite builds, which the app runs: what benchmarks should time. */
export const HOST_BUILT = fileURLToPath(new URL('../../out/main/engine-host.js', import.meta.url))

export interface NodeEngineOptions {
  env?: Record<string, string>
  /** llama.cpp logs every step to stdout and stderr; pass onOutput to keep them. */
  onOutput?: (text: string) => void
  /** Run the built bundle instead of the TypeScript source (which runs through tsx's loader, a few percent slower). */
  built?: boolean
}

export function nodeEngineSpawner({ env = {}, onOutput, built = false }: NodeEngineOptions = {}): SpawnEngine {
  return (): EngineProcess => {
    const child = fork(built ? HOST_BUILT : HOST_SOURCE, [], {
      execArgv: built ? [] : ['--import', 'tsx'],
      // 'advanced' keeps Uint8Array image bytes intact, as Electron's structured clone does.
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const forward = (data: Buffer): void => onOutput?.(data.toString('utf8'))
    child.stdout?.on('data', forward)
    child.stderr?.on('data', forward)
    return {
      get pid() {
        return child.pid
      },
      send: (message) => void child.send(message),
      onMessage: (listener) => void child.on('message', (m) => listener(m as FromEngine)),
      onExit: (listener) => void child.on('exit', (code, signal) => listener(code, signal)),
      kill: () => void child.kill('SIGKILL'),
    }
  }
}
