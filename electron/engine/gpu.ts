import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { Backend } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'

export function backendName(gpu: false | 'cuda' | 'vulkan' | 'metal' | string): Backend {
  return gpu === 'cuda' || gpu === 'vulkan' || gpu === 'metal' ? gpu : 'cpu'
}

/** The first line of a native error, without llama.cpp's log noise. */
export function describeLoadError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]!.slice(0, 300) || 'unknown error'
}

/** Up to this many cores, one is left to the app's UI and main process. */
const SMALL_MACHINE_CORES = 4

/**
 * llama.cpp's own default: one thread per physical (performance) core. Its math threads
 * work in lockstep, so a thread on a hyperthread sibling or an efficiency core makes the
 * others wait for it. availableCores (os.availableParallelism(), which honours CPU
 * affinity) caps it where this process may use fewer CPUs than the machine has.
 */
export function defaultThreads(availableCores: number, physical: number = physicalCores()): number {
  const cores = Math.min(availableCores, physical)
  return Math.max(1, cores <= SMALL_MACHINE_CORES ? cores - 1 : cores)
}

/** Where the core count is read from; a parameter so that each platform's path is tested anywhere. */
export interface CpuSources {
  platform: NodeJS.Platform
  /** Logical processors the system reports. */
  logicalCores: number
  /** A small text file, or null when it cannot be read. */
  readText(path: string): string | null
  /** Entry names in a folder, or [] when it cannot be read. */
  listDir(path: string): string[]
  /** A command's standard output, or null when it fails. */
  run(command: string, args: string[]): string | null
}

export function systemCpuSources(): CpuSources {
  return {
    platform: process.platform,
    logicalCores: cpus().length,
    readText: (path) => {
      try {
        return readFileSync(path, 'utf8')
      } catch {
        return null
      }
    },
    listDir: (path) => {
      try {
        return readdirSync(path)
      } catch {
        return []
      }
    },
    run: (command, args) => {
      try {
        return execFileSync(command, args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] })
      } catch {
        return null
      }
    },
  }
}

/**
 * Physical performance cores, read the way llama.cpp reads them (common_cpu_get_num_physical_cores)
 * but without a native binding: node-llama-cpp's llama.cpuMathCores needs its binary loaded,
 * and the vision binding must work when that binary does not.
 */
export function countPhysicalCores(sources: CpuSources): number {
  const counted =
    sources.platform === 'linux' ? linuxPerformanceCores(sources) : sources.platform === 'darwin' ? macPerformanceCores(sources) : null
  // llama.cpp's fallback (and all there is on Windows without a native call): assume two threads per core above 4.
  return counted ?? (sources.logicalCores <= SMALL_MACHINE_CORES ? Math.max(1, sources.logicalCores) : Math.floor(sources.logicalCores / 2))
}

let physicalCoresCache: number | undefined
/** This machine's physical performance cores (read once: it does not change while the app runs). */
export function physicalCores(): number {
  physicalCoresCache ??= countPhysicalCores(systemCpuSources())
  return physicalCoresCache
}

const CPU_DIR = '/sys/devices/system/cpu'

/** Cores are the distinct sets of hyperthread siblings; on Intel hybrid CPUs, only those of performance cores. */
function linuxPerformanceCores(sources: CpuSources): number | null {
  // The kernel lists a hybrid CPU's performance cores in its cpu_core PMU; llama.cpp skips the efficiency cores too.
  const performance = parseCpuList(sources.readText('/sys/devices/cpu_core/cpus'))
  const cores = new Set<string>()
  for (const name of sources.listDir(CPU_DIR)) {
    const id = /^cpu(\d+)$/.exec(name)?.[1]
    if (id === undefined || (performance && !performance.has(Number(id)))) continue
    // Offline CPUs have no topology, so they are not counted.
    const siblings = sources.readText(`${CPU_DIR}/${name}/topology/thread_siblings_list`)?.trim()
    if (siblings) cores.add(siblings)
  }
  return cores.size > 0 ? cores.size : null
}

/** Apple silicon: the performance cluster (perflevel0); Intel Macs: all physical cores. */
function macPerformanceCores(sources: CpuSources): number | null {
  for (const key of ['hw.perflevel0.physicalcpu', 'hw.physicalcpu']) {
    const value = Number.parseInt(sources.run('sysctl', ['-n', key]) ?? '', 10)
    if (value > 0) return value
  }
  return null
}

/** The kernel's CPU list format, "0-7,16-23"; null when absent or unreadable. */
function parseCpuList(text: string | null): Set<number> | null {
  if (!text?.trim()) return null
  const ids = new Set<number>()
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (!match) return null
    const first = Number(match[1])
    const last = Number(match[2] ?? match[1])
    for (let id = first; id <= last; id++) ids.add(id)
  }
  return ids
}

export type GpuLayers = number | 'auto'

/** The engine info's line for a load that succeeded after the failures before it; null when none failed. */
export const fallbackNote = (failures: string[], layers: GpuLayers): string | null =>
  failures.length
    ? `${failures.join(' ')} Loaded with ${layers === 0 ? 'no GPU layers, on the CPU' : `${layers} GPU layers`} instead.`
    : null

/**
 * Tries each layer count in turn (most offloaded first) until a load succeeds: out of
 * VRAM falls back to fewer layers, then to the CPU, and the result says so.
 */
export async function loadWithFallback<T>(
  attempts: GpuLayers[],
  load: (layers: GpuLayers) => Promise<T>,
): Promise<{ value: T; layers: GpuLayers; fallback: string | null }> {
  const failures: string[] = []
  let lastError: unknown
  for (const layers of [...new Set(attempts)]) {
    try {
      const value = await load(layers)
      return { value, layers, fallback: fallbackNote(failures, layers) }
    } catch (error) {
      lastError = error
      failures.push(`Loading with ${layers} GPU layers failed (${describeLoadError(error)}).`)
    }
  }
  throw new AppError('model-load-failed', `The model could not be loaded: ${describeLoadError(lastError)}`, { cause: lastError })
}
