import { describe, expect, it } from 'vitest'
import { defaultThreads, loadWithFallback, type GpuLayers } from '../../electron/engine/gpu.js'
import { AppError } from '../../electron/ipc/errors.js'

/** A loader that runs out of VRAM above a number of layers, as a real GPU does. */
const gpuWithRoomFor = (maxLayers: number) => {
  const tried: GpuLayers[] = []
  const load = async (layers: GpuLayers): Promise<string> => {
    tried.push(layers)
    if (layers === 'auto' || layers > maxLayers) throw new Error(`ggml_backend_cuda_buffer_type_alloc_buffer: allocating ${layers} layers: cudaMalloc failed: out of memory\n(more log)`)
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
    expect(result.fallback).toBe('Loading with 33 GPU layers failed (ggml_backend_cuda_buffer_type_alloc_buffer: allocating 33 layers: cudaMalloc failed: out of memory). Loaded with 16 GPU layers instead.')
  })

  it('falls back to the CPU last', async () => {
    const gpu = gpuWithRoomFor(0)
    const result = await loadWithFallback(['auto', 0], gpu.load)
    expect(result.layers).toBe(0)
    expect(result.fallback).toMatch(/^Loading with auto GPU layers failed \(.*out of memory\)\. Loaded with no GPU layers, on the CPU instead\.$/)
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
  it('leaves a core to the app and caps at 8', () => {
    expect([1, 2, 4, 16, 64].map(defaultThreads)).toEqual([1, 1, 3, 8, 8])
  })
})
