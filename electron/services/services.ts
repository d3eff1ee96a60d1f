// The main-side services behind the IPC contract. Electron registers them on ipcMain;
// browser tests reach the same functions through the test bridge.
import type { AppInfo } from '../ipc/contract.js'
import type { InvokeHandlers, StreamHandlers } from '../ipc/router.js'
import type { EngineClient } from '../engine/client.js'

export interface ServiceDeps {
  engine: EngineClient
  appInfo: AppInfo
}

export function createServices({ engine, appInfo }: ServiceDeps): { invoke: InvokeHandlers; stream: StreamHandlers } {
  return {
    invoke: {
      'app:info': async () => appInfo,
      'engine:status': async () => engine.state(),
      'engine:load': (request) => engine.load(request),
      'engine:unload': () => engine.unload(),
    },
    stream: {
      'chat:generate': (request, { signal }) => engine.generate(request, signal),
    },
  }
}
