import { describe, expect, it } from 'vitest'
import { cpus } from 'node:os'
import {
  countPhysicalCores,
  defaultThreads,
  loadWithFallback,
  physicalCores,
  type CpuSources,
  type GpuLayers,
} from '../../electron/engine/gpu.js'
import { AppError } from '../../electron/ipc/errors.js'

/** A loader that runs out of VRAM above a number of layers, as a real GPU does. */
const gpuWithRoomFor = (maxLayers: number) => {
  const tried: GpuLayers[] = []
  const load = async (layers: GpuLayers): Promise<string> => {
    tried.push(layers)
    if (layers === 'auto' || layers > maxLayers)
      throw new Error(
        `ggml_backend_cuda_buffer_type_alloc_buffer: allocating ${layers} layers: cudaMalloc failed: out of memory\n(more log)`,
      )
    return `model with ${layers} layers`
  }
  return { tried, load }
}

describe('loading with GPU fallback', () => {
  it('loads with everything offloaded when it fits, and reports no fallback', async () => {
    const gpu = gpuWithRoomFor(40)
    expect(await loadWithFallback([33, 16, 0], gpu.load)).toEqual({ value: 'model with 33 layers', layers: 33, fallback: null })
    expect(gpu.tried).toEqual([33])
  })

  it('falls back to fewer layers on out-of-memory and says so', async () => {
    const gpu = gpuWithRoomFor(20)
    const result = await loadWithFallback([33, 16, 0], gpu.load)
    expect(result.layers).toBe(16)
    expect(result.fallback).toBe(
      'Loading with 33 GPU layers failed (ggml_backend_cuda_buffer_type_alloc_buffer: allocating 33 layers: cudaMalloc failed: out of memory). Loaded with 16 GPU layers instead.',
    )
  })

  it('falls back to the CPU last', async () => {
    const gpu = gpuWithRoomFor(0)
    const result = await loadWithFallback(['auto', 0], gpu.load)
    expect(result.layers).toBe(0)
    expect(result.fallback).toMatch(
      /^Loading with auto GPU layers failed \(.*out of memory\)\. Loaded with no GPU layers, on the CPU instead\.$/,
    )
  })

  it('fails with the last reason when even the CPU cannot load it', async () => {
    const error = await loadWithFallback([8, 0], async () => {
      throw new Error('failed to allocate 40 GiB: not enough memory')
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('model-load-failed')
    expect((error as AppError).message).toBe('The model could not be loaded: failed to allocate 40 GiB: not enough memory')
  })

  it('does not try the same layer count twice', async () => {
    const gpu = gpuWithRoomFor(-1)
    await loadWithFallback([0, 0, 0], gpu.load).catch(() => undefined)
    expect(gpu.tried).toEqual([0])
  })
})

describe('default thread count', () => {
  it('is one thread per physical core, leaving one to the app on machines of 4 cores or fewer', () => {
    // [available logical CPUs, physical cores] -> threads
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [2, 2, 1],
      [4, 2, 1],
      [8, 4, 3],
      [12, 6, 6],
      [16, 8, 8],
      [32, 16, 16],
      [64, 64, 64],
    ]
    expect(cases.map(([available, physical]) => defaultThreads(available, physical))).toEqual(cases.map(([, , threads]) => threads))
  })

  it('uses no more cores than the process may run on', () => {
    // A container pinned to 3 of a 16-core machine's CPUs.
    expect(defaultThreads(3, 16)).toBe(2)
    expect(defaultThreads(6, 16)).toBe(6)
  })
})

/** A machine described by its files and commands, as the core count reads them. */
function machine(
  platform: NodeJS.Platform,
  logicalCores: number,
  files: Record<string, string> = {},
  commands: Record<string, string> = {},
): CpuSources & { ran: string[] } {
  const ran: string[] = []
  return {
    platform,
    logicalCores,
    ran,
    readText: (path) => files[path] ?? null,
    listDir: (dir) => [
      ...new Set(
        Object.keys(files)
          .filter((p) => p.startsWith(`${dir}/`))
          .map((p) => p.slice(dir.length + 1).split('/')[0]!),
      ),
    ],
    run: (command, args) => {
      const line = [command, ...args].join(' ')
      ran.push(line)
      return commands[line] ?? null
    },
  }
}

/** sysfs topology for CPUs numbered 0..n-1, Linux style: thread i and i+cores are siblings when smt. */
function linuxTopology(cores: number, smt: boolean, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = { ...extra }
  for (let cpu = 0; cpu < cores * (smt ? 2 : 1); cpu++) {
    const core = cpu % cores
    files[`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`] = smt ? `${core},${core + cores}\n` : `${core}\n`
  }
  files['/sys/devices/system/cpu/online'] = `0-${cores * (smt ? 2 : 1) - 1}\n`
  return files
}

describe('physical core count', () => {
  it('counts hyperthread sibling sets on Linux', () => {
    expect(countPhysicalCores(machine('linux', 16, linuxTopology(8, true)))).toBe(8)
    expect(countPhysicalCores(machine('linux', 2, linuxTopology(2, false)))).toBe(2)
  })

  it('counts only the performance cores of an Intel hybrid CPU on Linux', () => {
    // 6 P-cores with hyperthreads (cpus 0-11 as sibling pairs) and 8 E-cores (12-19).
    const files: Record<string, string> = { '/sys/devices/cpu_core/cpus': '0-11\n', '/sys/devices/cpu_atom/cpus': '12-19\n' }
    for (let cpu = 0; cpu < 20; cpu++) {
      files[`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`] =
        cpu < 12 ? `${cpu - (cpu % 2)}-${cpu - (cpu % 2) + 1}` : `${cpu}`
    }
    expect(countPhysicalCores(machine('linux', 20, files))).toBe(6)
  })

  it('skips offline CPUs, which have no topology', () => {
    const files = linuxTopology(4, false)
    files['/sys/devices/system/cpu/cpu7/online'] = '0'
    expect(countPhysicalCores(machine('linux', 4, files))).toBe(4)
  })

  it('falls back to half the logical CPUs above 4 when Linux hides its topology', () => {
    expect(countPhysicalCores(machine('linux', 16))).toBe(8)
    expect(countPhysicalCores(machine('linux', 3))).toBe(3)
  })

  it('asks macOS for the performance cluster first, then all physical cores', () => {
    const appleSilicon = machine('darwin', 10, {}, { 'sysctl -n hw.perflevel0.physicalcpu': '8\n', 'sysctl -n hw.physicalcpu': '10\n' })
    expect(countPhysicalCores(appleSilicon)).toBe(8)
    const intelMac = machine('darwin', 12, {}, { 'sysctl -n hw.physicalcpu': '6\n' })
    expect(countPhysicalCores(intelMac)).toBe(6)
    expect(intelMac.ran).toEqual(['sysctl -n hw.perflevel0.physicalcpu', 'sysctl -n hw.physicalcpu'])
  })

  it('assumes two threads per core above 4 on Windows, as llama.cpp does without its native call', () => {
    expect([1, 4, 8, 16, 24].map((n) => countPhysicalCores(machine('win32', n)))).toEqual([1, 4, 4, 8, 12])
  })

  it('reads this machine without any native binding', () => {
    const count = physicalCores()
    expect(count).toBeGreaterThanOrEqual(1)
    expect(count).toBeLessThanOrEqual(cpus().length)
  })
})
