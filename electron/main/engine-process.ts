// The engine in an Electron utility process: a native crash there leaves the app running.
import { utilityProcess } from 'electron'
import type { EngineProcess, SpawnEngine } from '../engine/client.js'
import type { FromEngine } from '../engine/protocol.js'

export function utilityEngineSpawner(entry: string, onOutput: (text: string) => void, env: Record<string, string> = {}): SpawnEngine {
  return (): EngineProcess => {
    const child = utilityProcess.fork(entry, [], { serviceName: 'Model engine', stdio: 'pipe', env: { ...process.env, ...env } })
    const forward = (data: Buffer): void => onOutput(data.toString('utf8'))
    child.stdout?.on('data', forward)
    child.stderr?.on('data', forward)
    return {
      get pid() {
        return child.pid
      },
      send: (message) => child.postMessage(message),
      onMessage: (listener) => void child.on('message', (m: unknown) => listener(m as FromEngine)),
      onExit: (listener) => void child.on('exit', (code) => listener(code, null)),
      kill: () => void child.kill(),
    }
  }
}
