// Where a model goes on a Vulkan GPU through llama-server's Vulkan build (engine.ts chooses it):
// how many layers, and what happens when the GPU cannot take them.
import type { Llama } from 'node-llama-cpp'
import type { Hardware, LoadRequest } from '../ipc/contract.js'
import { estimateFit } from './fit.js'
import { fallbackNote } from './gpu.js'
import type { ModelFileInfo } from './model-files.js'
import type { ServerDevice } from './server-devices.js'
import type { Backend } from './types.js'

/**
 * The layers the fit estimate puts on the Vulkan build's GPU, sized by the memory that build
 * reports for it (node-llama-cpp may see another device, or none: its own Vulkan build does not
 * list a software driver); all of them where there is no estimate (no node-llama-cpp, a CPU-only
 * one, or no memory reported): a load that does not fit then costs half the layers.
 */
export async function serverFit(
  model: ModelFileInfo,
  mmproj: ModelFileInfo | null,
  request: LoadRequest,
  llama: Llama | null,
  device: ServerDevice,
  sequences: number,
): Promise<number> {
  const all = model.totalLayers + 1 // +1: the output layer
  if (!llama || llama.gpu === false || device.totalMiB === null || device.freeMiB === null) return all
  try {
    // Only the RAM is node-llama-cpp's to say: the GPU is the one the Vulkan build listed.
    const ram = await llama.getRamState()
    const hardware: Hardware = {
      backend: 'vulkan',
      gpuName: device.name,
      vram: { totalBytes: device.totalMiB * 2 ** 20, freeBytes: device.freeMiB * 2 ** 20 },
      ram: { totalBytes: ram.total, freeBytes: ram.free },
      unifiedMemory: false,
    }
    return (await estimateFit(llama, model, mmproj, { contextSize: request.contextSize, sequences, hardware })).gpuLayers
  } catch {
    return all
  }
}

/** Where a llama-server runs: its build, its share of a GPU, and why it runs there (the engine info's fallback). */
export interface ServerPlace {
  binary: string
  /** On a GPU: its name, the layers on it, the CPU build it gives way to, and how often a server here has died. */
  gpu?: { name: string; layers: number; cpuBinary: string; deaths: number }
  fallback: string | null
}

/** Why a llama-server did not start, on one line: the underlying error where the load wrapped one. */
export const startFailure = (error: unknown): string =>
  (((error as Error).cause ?? error) as Error).message.replace(/\s+/g, ' ').slice(0, 240)

/**
 * A model on the Vulkan build with the layers wanted, then half of them, then on the CPU build:
 * a GPU out of memory, or a driver that fails, costs speed, not the model, and the engine info
 * says what happened. The CPU build's failure is the caller's (it falls back to the in-process binding).
 */
export async function onVulkan(
  wanted: number,
  gpu: { binary: string; name: string },
  cpuBinary: string,
  start: (place: ServerPlace) => Promise<Backend>,
): Promise<Backend> {
  // The estimate left no room for a layer: say so, or the engine info shows a CPU load without a reason.
  if (wanted <= 0)
    return start({
      binary: cpuBinary,
      fallback: `Running on CPU: the fit estimate leaves no room on ${gpu.name} for any of the model's layers.`,
    })
  // Not loadWithFallback: the note goes into the place before the server starts, and the CPU
  // build's own failure is the caller's to handle, not wrapped.
  const failures: string[] = []
  for (const layers of [...new Set([wanted, Math.floor(wanted / 2)])].filter((n) => n > 0)) {
    try {
      return await start({
        binary: gpu.binary,
        gpu: { name: gpu.name, layers, cpuBinary, deaths: 0 },
        fallback: fallbackNote(failures, layers),
      })
    } catch (error) {
      failures.push(`Loading with ${layers} GPU layers on ${gpu.name} failed (${startFailure(error)}).`)
    }
  }
  return start({ binary: cpuBinary, fallback: fallbackNote(failures, 0) })
}
