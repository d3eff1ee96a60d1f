// Which binding and device serve a model (electron/engine/binding-choice.ts, server-gpu.ts), and
// that each way onto the CPU or off llama-server carries its reason for the engine info. The
// llama-server builds are stand-ins: the CPU build is never run here, and the Vulkan build only
// lists the devices $FAKE_VK_DEVICES names.
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Llama } from 'node-llama-cpp'
import { beforeAll, describe, expect, it } from 'vitest'
import { createBindingChooser } from '../../electron/engine/binding-choice.js'
import type { GpuProbeResults } from '../../electron/engine/gpu-probe.js'
import { onVulkan, type ServerPlace } from '../../electron/engine/server-gpu.js'
import type { Backend } from '../../electron/engine/types.js'
import { scratchDir } from '../support/engine.js'

const onLinux = process.platform === 'linux' && process.arch === 'x64'

beforeAll(async () => {
  const dir = await scratchDir()
  const cpu = join(dir, 'llama-server')
  const vulkan = join(dir, 'llama-server-vulkan')
  await writeFile(cpu, '#!/bin/sh\nexit 0\n')
  await writeFile(
    vulkan,
    ['#!/bin/sh', 'echo "Available devices:"', 'if [ -n "$FAKE_VK_DEVICES" ]; then echo "  $FAKE_VK_DEVICES"; fi'].join('\n'),
  )
  await chmod(cpu, 0o755)
  await chmod(vulkan, 0o755)
  // Read once per engine process, on the first choice: this file's only.
  process.env.LLAMA_SERVER_BIN = cpu
  process.env.LLAMA_SERVER_VULKAN_BIN = vulkan
})

/** A node-llama-cpp that found this build and these devices. */
const llamaWith = (gpu: Llama['gpu'], devices: string[]): Llama => ({ gpu, getGpuDeviceNames: async () => devices }) as unknown as Llama

/** The GPU probe on a Linux PC with no NVIDIA GPU, with or without a Vulkan loader. */
const probed = (vulkanLoader: boolean) => async (): Promise<GpuProbeResults> => ({
  libraries: { 'libvulkan.so.1': vulkanLoader },
  nvidia: { gpus: [] },
})

function chooser(devices: string, vulkanLoader = true) {
  process.env.FAKE_VK_DEVICES = devices
  return createBindingChooser({ vision: 'auto', text: 'auto', probe: probed(vulkanLoader) })
}

const GPU = 'Vulkan0: AMD Radeon RX 7600 (8176 MiB, 7900 MiB free)'
const model = { modelPath: '/m.gguf' }

describe('a text model', () => {
  it('on the CPU build says why: node-llama-cpp did not start, found no GPU build, or its build lists no GPU', async () => {
    expect(await chooser('')(model, false, null)).toMatchObject({
      reason: null,
      onCpu: 'Running on CPU: node-llama-cpp could not start here, and it is what looks for a GPU for text models.',
    })
    expect(await chooser('')(model, false, llamaWith(false, []))).toMatchObject({
      onCpu: 'Running on CPU: no GPU build of llama.cpp (CUDA, Vulkan or Metal) runs on this machine.',
    })
    expect(await chooser('')(model, false, llamaWith('vulkan', []))).toMatchObject({
      onCpu: "Running on CPU: llama.cpp's vulkan build lists no GPU here.",
    })
  })

  it('on node-llama-cpp says why not llama-server', async () => {
    expect(await chooser(GPU)(model, false, llamaWith('cuda', ['RTX 4090']))).toEqual({
      binary: null,
      reason: 'Answers come from node-llama-cpp on the GPU: llama-server is built for the CPU and Vulkan only.',
    })
    expect(await chooser('')(model, false, llamaWith('vulkan', ['Radeon']))).toEqual({
      binary: null,
      reason: "Answers come from node-llama-cpp on the GPU, slower than llama.cpp's own server: llama-server's Vulkan build lists no GPU.",
    })
  })

  it('asked for the CPU, or on a Vulkan GPU llama-server lists, has nothing to explain', async () => {
    expect(await chooser(GPU)({ ...model, gpu: false }, false, llamaWith('vulkan', ['Radeon']))).toEqual({
      binary: process.env.LLAMA_SERVER_BIN,
      reason: null,
    })
    const onGpu = await chooser(GPU)(model, false, llamaWith('vulkan', ['Radeon']))
    expect(onGpu).toMatchObject({ reason: null, gpu: { device: { name: 'AMD Radeon RX 7600' } } })
    expect(onGpu.onCpu).toBeUndefined()
  })
})

describe.skipIf(!onLinux)('a vision model (the probe as a Linux PC would answer it)', () => {
  it('on the CPU build says why the probe found no GPU to use', async () => {
    expect(await chooser(GPU, false)(model, true, null)).toMatchObject({
      reason: null,
      onCpu: 'Running on CPU: no NVIDIA GPU found; Vulkan loader not found (libvulkan.so.1).',
    })
  })

  it('on the CPU build says so where the Vulkan build lists no GPU, and nothing where it runs on the GPU it lists', async () => {
    expect(await chooser('')(model, true, null)).toMatchObject({ onCpu: "Running on CPU: llama-server's Vulkan build lists no GPU here." })
    const onGpu = await chooser(GPU)(model, true, null)
    expect(onGpu).toMatchObject({ reason: null, gpu: { device: { name: 'AMD Radeon RX 7600' } } })
    expect(onGpu.onCpu).toBeUndefined()
  })
})

describe('a fit that leaves no layer for the GPU', () => {
  it('starts the CPU build and says why', async () => {
    const places: ServerPlace[] = []
    await onVulkan(0, { binary: 'llama-server-vulkan', name: 'AMD Radeon RX 7600' }, 'llama-server', async (place) => {
      places.push(place)
      return {} as Backend
    })
    expect(places).toEqual([
      {
        binary: 'llama-server',
        fallback: "Running on CPU: the fit estimate leaves no room on AMD Radeon RX 7600 for any of the model's layers.",
      },
    ])
  })
})
