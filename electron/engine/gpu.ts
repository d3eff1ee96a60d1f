import type { Backend } from '../ipc/contract.js'

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
