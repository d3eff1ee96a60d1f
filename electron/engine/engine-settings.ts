// The engine settings the user controls (CPU only, threads, image detail, the text layer), kept in the
// user's data folder as the API's settings are, and applied to each model load: changing
// them takes effect on the next load.
import { availableParallelism } from 'node:os'
import { z } from 'zod'
import { EngineSettings, type EngineSettingsView, type LoadModel, type LoadRequest } from './contract.js'
import { AppError } from '../ipc/errors.js'
import { defaultThreads, physicalCores } from './gpu.js'
import { isRecord, readSettingsFile, writeSettingsFile } from '../storage/settings-file.js'

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = { cpuOnly: false, threads: 'auto', imageDetail: 'balanced', screenText: 'auto' }

// Each field falls back to its default alone: a file from an older version, or with one
// bad value, keeps the rest of what the user chose.
const Stored = z.object({
  cpuOnly: EngineSettings.shape.cpuOnly.catch(DEFAULT_ENGINE_SETTINGS.cpuOnly),
  threads: EngineSettings.shape.threads.catch(DEFAULT_ENGINE_SETTINGS.threads),
  imageDetail: EngineSettings.shape.imageDetail.catch(DEFAULT_ENGINE_SETTINGS.imageDetail),
  screenText: EngineSettings.shape.screenText.catch(DEFAULT_ENGINE_SETTINGS.screenText),
})

export interface EngineSettingsStore {
  view(): EngineSettingsView
  set(settings: EngineSettings): Promise<EngineSettingsView>
  /** The load request as the engine gets it: the window's choice of files, with CPU only, threads and image detail from the settings. */
  apply(request: LoadModel): LoadRequest
}

export interface CpuCounts {
  /** CPUs this process may run on (os.availableParallelism()). */
  logicalCores: number
  physicalCores: number
}

export interface EngineSettingsOptions {
  path: string
  cpu?: CpuCounts
  /** After a change is saved (CPU only changes what the Models page's fit estimates say). */
  onChanged?(previous: EngineSettings, next: EngineSettings): void
}

export async function openEngineSettings(options: EngineSettingsOptions): Promise<EngineSettingsStore> {
  const { logicalCores, physicalCores: physical } = options.cpu ?? { logicalCores: availableParallelism(), physicalCores: physicalCores() }
  // The engine computes the same default itself; the view shows what 'auto' comes to.
  const cpu = { logicalCores, physicalCores: physical, autoThreads: defaultThreads(logicalCores, physical) }
  // First run: the defaults, written on the first change. A value that cannot be read, or a
  // field a newer version added (the next save would drop it), is kept aside with its file; a
  // value missing, from an older version, is not.
  const read = await readSettingsFile(options.path, (json) => ({
    value: Stored.parse(isRecord(json) ? json : {}),
    whole: EngineSettings.partial().safeParse(json).success,
  }))
  const stored = read?.value ?? DEFAULT_ENGINE_SETTINGS
  // A settings file moved to a smaller computer asks for no more threads than it has.
  let settings: EngineSettings = { ...stored, threads: stored.threads === 'auto' ? 'auto' : Math.min(stored.threads, logicalCores) }
  const view = (): EngineSettingsView => ({ settings, cpu })

  return {
    view,
    async set(next) {
      if (next.threads !== 'auto' && next.threads > logicalCores)
        throw new AppError('invalid-payload', `Threads must be between 1 and ${logicalCores}, the number of logical CPUs on this computer.`)
      await writeSettingsFile(options.path, next, 'The engine settings')
      const previous = settings
      settings = next
      options.onChanged?.(previous, next)
      return view()
    },
    apply(request) {
      return {
        modelPath: request.modelPath,
        ...(request.mmprojPath !== undefined ? { mmprojPath: request.mmprojPath } : {}),
        ...(settings.cpuOnly ? { gpu: false as const } : {}),
        ...(settings.threads !== 'auto' ? { threads: settings.threads } : {}),
        imageDetail: settings.imageDetail,
      }
    },
  }
}
