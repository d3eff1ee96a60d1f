// Which language pack the text layer reads with: the user's choice (kept in the data folder;
// 'auto' by default, which follows the system's languages), the packs downloaded into
// MODELS/ocr/, and the built-in pack whenever the one wanted is missing or will not load,
// with the reason in the view. A change of pack starts the text layer's process again.
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { AppError } from '../ipc/errors.js'
import type { Hub } from '../models/hub.js'
import { PACK_DICTIONARY, PACK_MODEL, packFolder } from '../models/ocr-packs.js'
import type { OcrLanguagesView, OcrPackView } from './contract.js'
import { BUILT_IN_PACK, OCR_PACKS, findPack, notLoadedProblem, packForLocales, tesseractLanguages, type OcrPack } from './languages.js'
import type { OcrRecogniser } from './protocol.js'
import { readSettingsFile, writeSettingsFile, type SettingsRead } from '../storage/settings-file.js'

export interface OcrLanguagesOptions {
  /** Where the choice is kept (JSON). */
  path: string
  /** The models folder: a pack's files are in ocr/ID there. */
  modelsRoot: string
  /** The system's languages, most preferred first (Electron's app.getPreferredSystemLanguages()). */
  systemLanguages(): string[]
  hub: Pick<Hub, 'files'>
  packs?: readonly OcrPack[]
  /** The pack to read with changed: the text layer loads it for its next read. */
  onRecogniserChanged?(): void
  /** The view changed (tell the windows). */
  onChange?(view: OcrLanguagesView): void
  /** How long listing the packs waits for the hub's sizes before showing estimates. */
  sizeTimeoutMs?: number
}

export interface OcrLanguages {
  /** The packs and the choice, with the hub's sizes when it answers in time. */
  list(): Promise<OcrLanguagesView>
  set(choice: string): Promise<OcrLanguagesView>
  /** Deletes a downloaded pack; the built-in one reads instead if it was in use. */
  delete(id: string): Promise<OcrLanguagesView>
  /** For the text layer's process, at each start: the pack to load, null for the built-in one. */
  recogniser(): OcrRecogniser | null
  /** The text layer's process loaded a pack (or fell back from a damaged one). */
  reported(status: { pack: string; problem: string | null }): void
  /** The text layer's process ended while loading the pack last handed to it (`why`, a phrase). */
  loadFailed(why: string): void
  /** Files changed on disk (a download finished): look again. */
  refresh(): Promise<void>
}

/** What the text layer's process is handed for a tesseract pack on a system of these languages. */
export function tesseractRecogniser(pack: OcrPack, locales: readonly string[]): OcrRecogniser {
  return { pack: pack.id, name: pack.name, language: pack.language, engine: 'tesseract', languages: tesseractLanguages(pack, locales) }
}

const Stored = z.strictObject({ choice: z.string() })

/**
 * The choice in the file: 'auto' for one that is not JSON, not this shape, or names a pack this
 * version does not have. Whole only as this version writes it, so anything else (a newer
 * version's field too) is kept aside before the next change rewrites the file.
 */
function takeChoice(json: unknown, packs: readonly OcrPack[]): SettingsRead<string> {
  const choice = Stored.loose().safeParse(json).data?.choice
  const known = choice !== undefined && (choice === 'auto' || findPack(choice, packs) !== undefined)
  return { value: known ? choice : 'auto', whole: known && Stored.safeParse(json).success }
}

const SIZE_RETRY_MS = 60_000

export async function openOcrLanguages(options: OcrLanguagesOptions): Promise<OcrLanguages> {
  const packs = options.packs ?? OCR_PACKS
  // main awaits this before the app is ready: a damaged file must not stop it from starting.
  const choice = { value: (await readSettingsFile(options.path, (json) => takeChoice(json, packs)))?.value ?? 'auto' }
  let installed = new Set<string>()
  /** Packs the process could not load, with why: not handed to it again until their files change. */
  const failed = new Map<string, string>()
  let sizes: Map<string, number> | null = null
  let sizesTriedAt = 0
  let handed: string | null = null

  const dir = (id: string): string => join(options.modelsRoot, packFolder(id))
  const systemLanguages = (): string[] => {
    try {
      return options.systemLanguages()
    } catch {
      return []
    }
  }
  const automatic = (): string => packForLocales(systemLanguages(), packs)
  const wanted = (): string => (choice.value === 'auto' ? automatic() : choice.value)

  async function scan(): Promise<void> {
    const found = new Set<string>()
    for (const pack of packs) {
      if (!pack.source) continue
      const files = await Promise.all([PACK_MODEL, PACK_DICTIONARY].map((f) => stat(join(dir(pack.id), f)).catch(() => null)))
      if (files.every((f) => f?.isFile())) found.add(pack.id)
    }
    // A downloaded pack whose files came back (downloaded again) gets another chance. One of the
    // app's own has no files here to change: its failure stands until the app starts again (it was
    // forgotten at every refresh, and the pack that would not load was handed over again).
    for (const id of failed.keys()) {
      if (!findPack(id, packs)?.source) continue
      if (!found.has(id) || !installed.has(id)) failed.delete(id)
    }
    installed = found
  }

  function recogniser(): OcrRecogniser | null {
    const pack = findPack(wanted(), packs)
    if (!pack || failed.has(pack.id)) return null
    if (pack.tesseract) return tesseractRecogniser(pack, systemLanguages())
    if (!pack.source || !installed.has(pack.id)) return null
    return {
      pack: pack.id,
      name: pack.name,
      language: pack.language,
      engine: 'paddle',
      model: join(dir(pack.id), PACK_MODEL),
      dictionary: join(dir(pack.id), PACK_DICTIONARY),
      ...(pack.rtl ? { rtl: true } : {}),
    }
  }

  function problem(): string | null {
    const pack = findPack(wanted(), packs)
    if (pack && failed.has(pack.id)) return failed.get(pack.id)!
    if (!pack?.source) return null
    if (!installed.has(pack.id)) return `${pack.name} is not downloaded: screens are read in English and Chinese until it is.`
    return null
  }

  function view(): OcrLanguagesView {
    const packViews: OcrPackView[] = packs.map((pack) => ({
      id: pack.id,
      name: pack.name,
      languages: pack.languages,
      builtIn: pack.source === null,
      installed: pack.source === null || installed.has(pack.id),
      bytes: pack.source ? (sizes?.get(pack.id) ?? pack.source.approxBytes) : 0,
      exact: pack.source === null || sizes?.has(pack.id) === true,
    }))
    return {
      choice: choice.value,
      systemLanguages: systemLanguages(),
      automatic: automatic(),
      wanted: wanted(),
      inUse: recogniser()?.pack ?? BUILT_IN_PACK,
      problem: problem(),
      packs: packViews,
    }
  }

  /** Tells the windows, and the text layer when the pack to read with is another one. */
  function changed(): OcrLanguagesView {
    const next = recogniser()?.pack ?? BUILT_IN_PACK
    if (next !== handed) {
      handed = next
      options.onRecogniserChanged?.()
    }
    const current = view()
    options.onChange?.(current)
    return current
  }

  /** The hub's sizes, once: one listing per repository, bounded in time, retried a minute after a failure. */
  async function fetchSizes(): Promise<void> {
    if (sizes || Date.now() - sizesTriedAt < SIZE_RETRY_MS) return
    sizesTriedAt = Date.now()
    const found = new Map<string, number>()
    const work = (async () => {
      const repos = new Map<string, OcrPack[]>()
      for (const pack of packs)
        if (pack.source)
          repos.set(`${pack.source.repo}@${pack.source.revision}`, [
            ...(repos.get(`${pack.source.repo}@${pack.source.revision}`) ?? []),
            pack,
          ])
      for (const group of repos.values()) {
        const { repo, revision } = group[0]!.source!
        const files = await options.hub.files(repo, revision)
        for (const pack of group) {
          const model = files.find((f) => f.path === pack.source!.model)
          const dictionary = files.find((f) => f.path === pack.source!.dictionary)
          if (model && dictionary) found.set(pack.id, model.bytes + dictionary.bytes)
        }
      }
    })()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.sizeTimeoutMs ?? 5000)))
    // Offline, the page shows the estimates; the sizes are not worth an error.
    const outcome = await Promise.race([work.then(() => 'done' as const), late]).catch(() => 'failed' as const)
    clearTimeout(timer)
    if (outcome === 'done') sizes = found
    else work.catch(() => undefined)
  }

  await scan()
  // A text layer process started before this service opened (a local-API read during startup)
  // was handed nothing and reads with the built-in pack: told the pack wanted, it loads it for
  // the next read, rather than reading in the wrong language all session while this view says
  // the chosen pack is in use. With no process yet, that costs nothing.
  handed = recogniser()?.pack ?? BUILT_IN_PACK
  if (handed !== BUILT_IN_PACK) options.onRecogniserChanged?.()

  return {
    async list() {
      await fetchSizes()
      return view()
    },
    async set(next) {
      if (next !== 'auto' && !findPack(next, packs)) throw new AppError('not-found', `There is no text-layer language pack “${next}”.`)
      await writeSettingsFile(options.path, { choice: next }, 'The text-layer language')
      choice.value = next
      return changed()
    },
    async delete(id) {
      const pack = findPack(id, packs)
      if (!pack) throw new AppError('not-found', `There is no text-layer language pack “${id}”.`)
      if (!pack.source) throw new AppError('busy', `${pack.name} comes with the app and cannot be deleted.`)
      await rm(dir(id), { recursive: true, force: true })
      await scan()
      return changed()
    },
    recogniser,
    reported(status) {
      // The process was started with the pack last handed over; if it could not load it, it already
      // reads with the built-in one, so that is what is handed now: no second start for nothing.
      if (status.problem && handed && status.pack !== handed) {
        failed.set(handed, status.problem)
        handed = status.pack
      }
      changed()
    },
    loadFailed(why) {
      // The process that loads the built-in pack has nothing to fall back to: the next read starts another.
      const pack = handed === null ? undefined : findPack(handed, packs)
      if (!pack || pack.id === BUILT_IN_PACK) return
      // No process reads with it now: the next one is started with the built-in pack, as after a fallback.
      failed.set(pack.id, notLoadedProblem(pack.name, pack.source !== null, why))
      handed = BUILT_IN_PACK
      changed()
    },
    async refresh() {
      await scan()
      changed()
    },
  }
}
