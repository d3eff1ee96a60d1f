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

/** Leave a core for the UI and main process; token generation is memory-bound anyway. */
export function defaultThreads(cores: number): number {
  return Math.max(1, Math.min(cores - 1, 8))
}

export type GpuLayers = number | 'auto'

/**
 * Tries each layer count in turn (most offloaded first) until a load succeeds: out of
 * VRAM falls back to fewer layers, then to the CPU, and the result says so.
 */
export async function loadWithFallback<T>(attempts: GpuLayers[], load: (layers: GpuLayers) => Promise<T>): Promise<{ value: T; layers: GpuLayers; fallback: string | null }> {
  const failures: string[] = []
  let lastError: unknown
  for (const layers of [...new Set(attempts)]) {
    try {
      const value = await load(layers)
      const fallback = failures.length ? `${failures.join(' ')} Loaded with ${layers === 0 ? 'no GPU layers, on the CPU' : `${layers} GPU layers`} instead.` : null
      return { value, layers, fallback }
    } catch (error) {
      lastError = error
      failures.push(`Loading with ${layers} GPU layers failed (${describeLoadError(error)}).`)
    }
  }
  throw new AppError('model-load-failed', `The model could not be loaded: ${describeLoadError(lastError)}`, { cause: lastError })
}
