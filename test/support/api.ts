// The local API as the app wires it, for tests: the real engine (its own process) behind a
// scheduler, the server on a free port, and the official openai client pointed at it.
import OpenAI from 'openai'
import { engineStateFeed, startApiServer, type ApiServer, type ApiServerOptions } from '../../electron/api/server.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import { startEngine } from './engine.js'

export interface LocalApi {
  engine: EngineClient
  server: ApiServer
  client: OpenAI
  close(): Promise<void>
}

export async function startLocalApi(token: string, options: Partial<ApiServerOptions> = {}): Promise<LocalApi> {
  const states = engineStateFeed()
  const engine = startEngine(states.publish)
  const server = await startApiServer({
    scheduler: new GenerationScheduler(engine, 32),
    engineState: () => engine.state(),
    watchEngineState: states.watch,
    token,
    port: 0,
    ...options,
  })
  const client = new OpenAI({ apiKey: token, baseURL: server.url, maxRetries: 0 })
  return {
    engine,
    server,
    client,
    close: async () => {
      await server.close()
      await engine.dispose()
    },
  }
}
