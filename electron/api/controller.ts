// The API server's settings (off by default, port, file URLs, the web pages allowed to call
// it) and its key, kept in the user's data folder, and the server started or stopped to match them.
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { ApiStatus, EngineState } from '../ipc/contract.js'
import { AllowedOrigins, type ApiConfiguration } from './contract.js'
import { DEFAULT_API_PORT } from '../ipc/defaults.js'
import type { GenerationScheduler } from '../engine/scheduler.js'
import { startApiServer, type ApiServer } from './server.js'
import { isRecord, readSettingsFile, writeSettingsFile, type SettingsRead } from '../storage/settings-file.js'
import type { TextLayerUse } from '../ocr/text-layer.js'

const Settings = z.object({
  enabled: z.boolean(),
  port: z.int().min(1024).max(65535),
  allowFileUrls: z.boolean(),
  // Files saved before CORS existed have none: no origins, and the key they hold is kept.
  allowedOrigins: AllowedOrigins.default([]),
  token: z.string().min(32),
})
type Settings = z.infer<typeof Settings>

const newToken = (): string => `lva-${randomBytes(24).toString('base64url')}`

// Each field falls back alone: one bad value (a port out of range, edited by hand) had reset the
// whole file, the key with it, and scripts using the key stopped working.
const Lenient = z.object({
  enabled: Settings.shape.enabled.catch(false),
  port: Settings.shape.port.catch(DEFAULT_API_PORT),
  allowFileUrls: Settings.shape.allowFileUrls.catch(false),
  allowedOrigins: Settings.shape.allowedOrigins.catch([]),
  token: Settings.shape.token.catch(() => newToken()),
})

function takeSettings(json: unknown): SettingsRead<Settings> {
  return { value: Lenient.parse(isRecord(json) ? json : {}), whole: Settings.safeParse(json).success }
}

export interface ApiController {
  status(): ApiStatus
  configure(change: ApiConfiguration): Promise<ApiStatus>
  /** Replaces the key: saved first, then the running server refuses the old one. */
  regenerateKey(): Promise<ApiStatus>
  close(): Promise<void>
}

export interface ApiControllerOptions {
  settingsPath: string
  scheduler: GenerationScheduler
  engineState: () => EngineState
  /** Every later engine state, until the returned function is called: requests wait on it for a model that is (re)loading. */
  watchEngineState: (listener: (state: EngineState) => void) => () => void
  /** The text layer for images sent to the API, as the chat window uses it. */
  textLayer?: TextLayerUse
}

export async function createApiController(options: ApiControllerOptions): Promise<ApiController> {
  const read = await readSettingsFile(options.settingsPath, takeSettings)
  // First run: off, with a fresh key for this install.
  let settings: Settings = read?.value ?? takeSettings(undefined).value
  let server: ApiServer | null = null
  let error: string | null = null
  // The key is written before anyone can be given it. A data folder that cannot be written
  // (read-only, full) is no reason not to start: the API stays off, and a change says why.
  if (!read?.whole) await save(settings).catch(() => undefined)

  function save(value: Settings): Promise<void> {
    // Owner-only: the file holds the API key.
    return writeSettingsFile(options.settingsPath, value, 'The API settings', 0o600)
  }

  // Settings changes run one after another: two that overlapped could each start a server, and
  // the one not kept went on answering, with no way left to stop it.
  let queue: Promise<unknown> = Promise.resolve()
  function inTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task)
    queue = run.catch(() => undefined)
    return run
  }

  /**
   * Brings the server in line with the settings. What a running server can take (the key,
   * allowed origins, file URLs) it takes in place: a restart cut every answer in progress. Only
   * turning it off or moving it to another port restarts it.
   */
  async function apply(): Promise<void> {
    if (server && settings.enabled && server.port === settings.port) {
      server.update({ token: settings.token, allowFileUrls: settings.allowFileUrls, allowedOrigins: settings.allowedOrigins })
      return
    }
    await server?.close()
    server = null
    error = null
    if (!settings.enabled) return
    try {
      server = await startApiServer({
        scheduler: options.scheduler,
        engineState: options.engineState,
        watchEngineState: options.watchEngineState,
        token: settings.token,
        port: settings.port,
        allowFileUrls: settings.allowFileUrls,
        allowedOrigins: settings.allowedOrigins,
        ...(options.textLayer ? { textLayer: options.textLayer } : {}),
      })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      error =
        code === 'EADDRINUSE'
          ? `Port ${settings.port} is already in use by another program; choose another.`
          : `The API server could not start: ${(e as Error).message}`
    }
  }

  function status(): ApiStatus {
    return {
      enabled: settings.enabled,
      running: server !== null,
      port: settings.port,
      url: server ? server.url : null,
      token: settings.token,
      allowFileUrls: settings.allowFileUrls,
      allowedOrigins: settings.allowedOrigins,
      error,
    }
  }

  /** Saves a change first (a change that cannot be saved changes nothing), then applies it. */
  const update = (change: Partial<Settings>): Promise<ApiStatus> =>
    inTurn(async () => {
      const next = { ...settings, ...change }
      await save(next)
      settings = next
      await apply()
      return status()
    })

  await apply()
  return {
    status,
    configure: (change) => update(change),
    // The rest of the settings stay as they are: a new key is no reason to stop or move the server.
    regenerateKey: () => update({ token: newToken() }),
    close: () =>
      inTurn(async () => {
        await server?.close()
        server = null
      }),
  }
}
