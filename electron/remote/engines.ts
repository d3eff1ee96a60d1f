// The remote engines the user added: kept in the user's data folder with their API keys
// encrypted by the system keychain (Electron's safeStorage). Where the system offers no
// keychain, a key lives in memory for this session only, and the UI says so: never in plain JSON.
import { randomUUID } from 'node:crypto'
import writeFileAtomic from 'write-file-atomic'
import { isRecord, readSettingsFile, type SettingsRead } from '../storage/settings-file.js'
import { z } from 'zod'
import { AppError } from '../ipc/errors.js'
import type {
  ConnectionReport,
  EngineChoice,
  ImageSupport,
  KeyStorage,
  KnownImages,
  RemoteEngineInput,
  RemoteEngineUpdate,
  RemoteEngineView,
  RemoteEnginesView,
} from './contract.js'
import { checkBaseUrl } from './url.js'
import { testConnection } from './connection.js'
import { RemoteHttpError } from './http.js'
import { RemoteEngine, type RemoteEndpoint } from './remote-engine.js'
import { forgetFacts } from './server-facts.js'
import { remoteImageBudget } from './image-budget.js'
import { DEFAULT_DETAIL, type ImageDetail } from '../images/budget.js'

/** The system keychain as Electron's safeStorage offers it; null where there is none worth the name. */
export interface SecretBox {
  encrypt(plain: string): Buffer
  decrypt(sealed: Buffer): string
}

export interface RemoteEngines {
  view(): RemoteEnginesView
  add(input: RemoteEngineInput): Promise<RemoteEngineView>
  update(input: RemoteEngineUpdate): Promise<RemoteEngineView>
  remove(id: string): Promise<void>
  test(id: string, signal?: AbortSignal): Promise<ConnectionReport>
  setDefault(engine: EngineChoice | null): Promise<RemoteEnginesView>
  /** The engine that answers with this model, or a clear error when it was removed. */
  generator(choice: EngineChoice): { engine: RemoteEngine; name: string; canSee: boolean }
  /** This model refused images in a conversation: from now on it gets none (the text read on them instead). */
  imagesRefused(choice: EngineChoice): Promise<void>
}

const Stored = z.object({
  version: z.literal(1),
  defaultEngine: z.object({ id: z.string(), model: z.string() }).nullable().catch(null),
  engines: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      baseUrl: z.string(),
      model: z.string().nullable(),
      allowUnencrypted: z.boolean(),
      /** base64 of the keychain-sealed key; null: no key, or kept for the session only. */
      sealedKey: z.string().nullable(),
      /** What the connection test found for the engine's model (the one it probes). */
      images: z.enum(['accepted', 'refused', 'unknown']).catch('unknown'),
      /** Other models of the server that refused images in a conversation. */
      refusedImages: z.array(z.string()).catch([]),
      models: z.array(z.string()).catch([]),
    }),
  ),
})
type Stored = z.infer<typeof Stored>
type StoredEngine = Stored['engines'][number]
const StoredEngine = Stored.shape.engines.element

function takeStored(json: unknown): SettingsRead<Stored> {
  const whole = Stored.safeParse(json).success
  if (!isRecord(json) || json.version !== 1) return { value: { version: 1, defaultEngine: null, engines: [] }, whole }
  const engines = Array.isArray(json.engines) ? json.engines.flatMap((e) => StoredEngine.safeParse(e).data ?? []) : []
  return { value: { version: 1, defaultEngine: Stored.shape.defaultEngine.parse(json.defaultEngine), engines }, whole }
}

export interface RemoteEnginesOptions {
  path: string
  /** Asked on first use, not at start: Electron's safeStorage can answer only once the app is ready. */
  secrets: () => SecretBox | null
  /** Timeouts for the connection test and answers; tests use shorter waits than a real network needs. */
  engineOptions?: ConstructorParameters<typeof RemoteEngine>[2]
  /**
   * The user's image detail (Settings, Engine), read for each answer: a change applies to the
   * next question, as no model load stands between. Absent: balanced.
   */
  imageDetail?: () => ImageDetail
}

export async function openRemoteEngines(options: RemoteEnginesOptions): Promise<RemoteEngines> {
  // First run: no remote engines. One entry that cannot be read is left out alone (one mistyped
  // value had dropped them all), and the file is kept aside before the next change rewrites it.
  const stored: Stored = (await readSettingsFile(options.path, takeStored))?.value ?? { version: 1, defaultEngine: null, engines: [] }
  /** Keys in memory: every key while the app runs (sealed ones opened once), and the only copy where there is no keychain. */
  const keys = new Map<string, string>()
  let box: SecretBox | null | undefined
  const secrets = (): SecretBox | null => {
    if (box !== undefined) return box
    box = options.secrets()
    for (const e of stored.engines) {
      if (!e.sealedKey || !box) continue
      try {
        keys.set(e.id, box.decrypt(Buffer.from(e.sealedKey, 'base64')))
      } catch {
        // Sealed by another user or machine: the engine stays, asking for its key again.
        e.sealedKey = null
      }
    }
    return box
  }
  const keyStorage = (): KeyStorage => (secrets() ? 'encrypted' : 'session')

  /**
   * What is known of one model's images: the test's finding for the model it probed (the
   * engine's), and a refusal in a conversation for any. Untested models are unknown: they get
   * images, and the server says if it cannot take them. The window reads the same answers
   * (imagesByModel), so what it says about images is what happens to them.
   */
  const imagesOf = (e: StoredEngine, model: string): ImageSupport => {
    if (e.refusedImages.includes(model)) return 'refused'
    return model === e.model ? e.images : 'unknown'
  }

  const toView = (e: StoredEngine): RemoteEngineView => {
    // hasKey needs the sealed keys opened.
    secrets()
    return {
      id: e.id,
      name: e.name,
      baseUrl: e.baseUrl,
      model: e.model,
      allowUnencrypted: e.allowUnencrypted,
      hasKey: keys.has(e.id),
      images: e.model === null ? 'unknown' : imagesOf(e, e.model),
      imagesByModel: imagesByModel(e),
      models: e.models,
    }
  }
  const imagesByModel = (e: StoredEngine): Partial<Record<string, KnownImages>> => {
    const known: Partial<Record<string, KnownImages>> = {}
    for (const model of new Set([...e.models, ...e.refusedImages, ...(e.model === null ? [] : [e.model])])) {
      const images = imagesOf(e, model)
      if (images !== 'unknown') known[model] = images
    }
    return known
  }
  const view = (): RemoteEnginesView => ({
    engines: stored.engines.map(toView),
    keyStorage: keyStorage(),
    defaultEngine: stored.defaultEngine,
  })
  const save = (): Promise<void> => writeFileAtomic(options.path, JSON.stringify(stored, null, 1), { fsync: true, mode: 0o600 })
  const find = (id: string): StoredEngine => {
    const found = stored.engines.find((e) => e.id === id)
    if (!found) throw new AppError('not-found', 'That engine is no longer in Settings.')
    return found
  }
  const endpoint = (e: StoredEngine): RemoteEndpoint => {
    secrets()
    return { baseUrl: e.baseUrl, apiKey: keys.get(e.id) ?? null, allowUnencrypted: e.allowUnencrypted }
  }
  const setKey = (e: StoredEngine, key: string | undefined): void => {
    if (key === undefined) return
    if (key === '') {
      keys.delete(e.id)
      e.sealedKey = null
      return
    }
    keys.set(e.id, key)
    const sealer = secrets()
    e.sealedKey = sealer ? sealer.encrypt(key).toString('base64') : null
  }

  return {
    view,
    async add(input) {
      const url = checkBaseUrl(input.baseUrl, input.allowUnencrypted)
      const engine: StoredEngine = {
        id: randomUUID(),
        name: input.name,
        baseUrl: url.href.replace(/\/$/, ''),
        model: input.model ?? null,
        allowUnencrypted: input.allowUnencrypted,
        sealedKey: null,
        images: 'unknown',
        refusedImages: [],
        models: [],
      }
      setKey(engine, input.apiKey)
      stored.engines.push(engine)
      await save()
      return toView(engine)
    },
    async update(input) {
      const engine = find(input.id)
      const url = checkBaseUrl(input.baseUrl, input.allowUnencrypted)
      const moved = engine.baseUrl !== url.href.replace(/\/$/, '')
      const elsewhere = new URL(engine.baseUrl).origin !== url.origin
      const model = input.model ?? null
      // `images` is the tested model's finding: another model starts unknown. A refusal is kept
      // with the model it belongs to, in case the user goes back to it.
      if (model !== engine.model) {
        if (engine.model !== null && engine.images === 'refused' && !engine.refusedImages.includes(engine.model)) {
          engine.refusedImages.push(engine.model)
        }
        engine.images = 'unknown'
      }
      Object.assign(engine, {
        name: input.name,
        baseUrl: url.href.replace(/\/$/, ''),
        model,
        allowUnencrypted: input.allowUnencrypted,
      })
      // Another server: what the old one accepted says nothing about it.
      if (moved) Object.assign(engine, { images: 'unknown', refusedImages: [], models: [] })
      // The key was given for the old server: another host (or port, or scheme) does not get it
      // unless the user types it again, as a redirect to another host does not (http.ts).
      setKey(engine, input.apiKey ?? (elsewhere ? '' : undefined))
      await save()
      return toView(engine)
    },
    async remove(id) {
      find(id)
      stored.engines = stored.engines.filter((e) => e.id !== id)
      keys.delete(id)
      if (stored.defaultEngine?.id === id) stored.defaultEngine = null
      await save()
    },
    async test(id, signal) {
      const engine = find(id)
      // Tested again: the server may have restarted with another model or context.
      forgetFacts(engine.baseUrl)
      // The model probed: the saved one, else the first listed (testConnection's choice too).
      const saved = engine.model
      /** The server's models as this test found them; null until listed (a failure before is the list's). */
      // Typed by a cast: set in the callback, which the compiler's narrowing does not follow.
      let listed = null as string[] | null
      let report: ConnectionReport
      try {
        // The list is kept before the probe, which may fail: the server's models as they are now
        // are what the user picks from, above all when the saved one is gone (removed from Ollama).
        report = await testConnection(endpoint(engine), saved ?? undefined, signal, options.engineOptions, async (models) => {
          listed = models
          engine.models = models
          await save()
        })
      } catch (error) {
        // The server refused a model it no longer lists: say that, not that it lists it (http.ts
        // cannot know), and what to do. A server that still takes a name it does not list works on.
        if (error instanceof RemoteHttpError && saved !== null && listed !== null && listed.length > 0 && !listed.includes(saved)) {
          throw new AppError(
            'remote',
            `The server no longer lists the model “${saved}”: choose one of the models it lists now, and test again.`,
            {
              cause: error,
            },
          )
        }
        throw error
      }
      const { model: chosen, images } = report
      if (chosen === null || images === 'unknown') return report
      if (engine.model === null) engine.model = chosen
      // The finding is the probed model's: if another was saved meanwhile, it is not that one's.
      if (engine.model === chosen) engine.images = images
      else if (images === 'refused' && !engine.refusedImages.includes(chosen)) engine.refusedImages.push(chosen)
      // Tested again and seeing now (a projector added on the server): no longer refused.
      if (images === 'accepted') engine.refusedImages = engine.refusedImages.filter((m) => m !== chosen)
      await save()
      return report
    },
    async setDefault(choice) {
      if (choice) find(choice.id)
      stored.defaultEngine = choice
      await save()
      return view()
    },
    generator(choice) {
      const engine = find(choice.id)
      // The test probes one model; another of the server's (Ollama serves llava and llama3.1
      // alike) is unknown until a conversation finds out. Unknown: send the images, and let
      // the server say if it cannot take them.
      return {
        engine: new RemoteEngine(endpoint(engine), choice.model, {
          imageBudget: remoteImageBudget(options.imageDetail?.() ?? DEFAULT_DETAIL),
          ...options.engineOptions,
        }),
        name: engine.name,
        canSee: imagesOf(engine, choice.model) !== 'refused',
      }
    },
    async imagesRefused(choice) {
      const engine = find(choice.id)
      if (engine.refusedImages.includes(choice.model)) return
      engine.refusedImages.push(choice.model)
      await save()
    },
  }
}
