// Which binding serves a model, decided before it loads: llama-server's CPU or Vulkan build,
// or an in-process binding (llama.node for vision, node-llama-cpp for text), with the reason a
// model is not on llama-server for the engine info.
import type { Llama } from 'node-llama-cpp'
import type { LoadRequest } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { chooseVisionVariant, probeGpu, type GpuProbeResults } from './gpu-probe.js'
import { serverBinary } from './server-binary.js'
import { listServerDevices, type ServerDevice } from './server-devices.js'
import type { TextBinding, VisionBinding } from './types.js'

export interface BindingChoice {
  /** The CPU build of llama-server; null: the in-process binding. */
  binary: string | null
  /** Why the model is not on llama-server, for the engine info. */
  reason: string | null
  /** Why llama-server's CPU build serves it where a GPU might have (the engine info's fallback); absent: nothing was passed over. */
  onCpu?: string
  /** The Vulkan build and the GPU it lists, tried before the CPU build. */
  gpu?: { binary: string; device: ServerDevice }
}

export function createBindingChooser(bindings: {
  vision: VisionBinding
  text: TextBinding
  /** The GPU probe (tests pass what another machine would find); absent: this machine's. */
  probe?: () => Promise<GpuProbeResults>
}): (request: LoadRequest, vision: boolean, llama: Llama | null) => Promise<BindingChoice> {
  const visionBinding = bindings.vision
  const textBinding = bindings.text
  const probe = bindings.probe ?? (() => probeGpu(process.platform, process.arch))
  // Probed once per engine process: nvidia-smi and the library search take tens of ms.
  let probes: Promise<GpuProbeResults> | null = null
  // Listed once per engine process, as the probes are: a Vulkan build's first start reads every driver.
  let vulkanDevices: Promise<ServerDevice[]> | null = null

  /** The Vulkan build of llama-server and the first GPU it lists; why not, where there is no build or no GPU. */
  async function vulkanServer(): Promise<{ binary: string; device: ServerDevice } | { missing: string } | { none: true }> {
    const vulkan = await serverBinary('vulkan')
    if (!vulkan.found) return { missing: vulkan.reason }
    vulkanDevices ??= listServerDevices(vulkan.path)
    const device = (await vulkanDevices)[0]
    return device ? { binary: vulkan.path, device } : { none: true }
  }

  /**
   * Which binding serves a model: llama-server where its binary is here and the model runs on
   * the CPU, or on a Vulkan GPU its Vulkan build lists (follow-ups reuse earlier images; text
   * decodes at llama.cpp's own speed); otherwise the in-process binding,
   * llama.node for a model with an mmproj and node-llama-cpp for text, with the reason for
   * the engine info. gpu: the Vulkan build and its device, tried first; binary, the CPU build.
   */
  return async function chooseBinding(request: LoadRequest, vision: boolean, llama: Llama | null): Promise<BindingChoice> {
    const wanted = vision ? visionBinding : textBinding
    if (wanted === 'llama.node' || wanted === 'node-llama-cpp') return { binary: null, reason: null }
    const found = await serverBinary()
    if (!found.found) {
      if (wanted === 'llama-server')
        throw new AppError('model-load-failed', `No llama-server to run the ${vision ? 'vision ' : ''}model: ${found.reason}.`)
      return {
        binary: null,
        reason: vision
          ? `Follow-up questions re-read earlier images: ${found.reason}.`
          : `Answers come from node-llama-cpp, slower than llama.cpp's own server: ${found.reason}.`,
      }
    }
    if (wanted === 'llama-server' || request.gpu === false || request.gpuLayers === 0) return { binary: found.path, reason: null }
    // A text model goes where node-llama-cpp found no GPU (or could not start at all, or its GPU
    // build lists no device: a Vulkan loader with no GPU behind it). Where it would decode on a
    // Vulkan GPU, llama-server's Vulkan build decodes on the same GPU in its C++ loop, without
    // node-llama-cpp's JavaScript step per token; on CUDA and Metal node-llama-cpp keeps it.
    if (!vision) {
      const cpu = (onCpu: string): BindingChoice => ({ binary: found.path, reason: null, onCpu })
      if (!llama) return cpu('Running on CPU: node-llama-cpp could not start here, and it is what looks for a GPU for text models.')
      if (llama.gpu === false) return cpu('Running on CPU: no GPU build of llama.cpp (CUDA, Vulkan or Metal) runs on this machine.')
      if ((await llama.getGpuDeviceNames()).length === 0) return cpu(`Running on CPU: llama.cpp's ${llama.gpu} build lists no GPU here.`)
      if (llama.gpu !== 'vulkan')
        return { binary: null, reason: `Answers come from node-llama-cpp on the GPU: llama-server is built for the CPU and Vulkan only.` }
      const vulkan = await vulkanServer()
      if ('device' in vulkan) return { binary: found.path, reason: null, gpu: vulkan }
      return {
        binary: null,
        reason: `Answers come from node-llama-cpp on the GPU, slower than llama.cpp's own server: ${'missing' in vulkan ? vulkan.missing : "llama-server's Vulkan build lists no GPU"}.`,
      }
    }
    probes ??= probe()
    const gpu = chooseVisionVariant(await probes, process.platform, process.arch, { cpuOnly: false })
    if (gpu.backend === 'cpu') return { binary: found.path, reason: null, ...(gpu.reason ? { onCpu: gpu.reason } : {}) }
    // Where llama.node would run its Vulkan build, llama-server's does the same work on the
    // same GPU and keeps earlier images between questions. CUDA and Metal stay on llama.node:
    // there is no llama-server build for them yet.
    if (gpu.backend === 'vulkan') {
      const vulkan = await vulkanServer()
      if ('missing' in vulkan)
        return { binary: null, reason: `On the GPU through llama.node (${vulkan.missing}): follow-up questions re-read earlier images.` }
      // A Vulkan loader without a GPU (Mesa's software driver is not listed): the CPU build,
      // where llama.node would have found no GPU either.
      if ('none' in vulkan)
        return { binary: found.path, reason: null, onCpu: "Running on CPU: llama-server's Vulkan build lists no GPU here." }
      return { binary: found.path, reason: null, gpu: vulkan }
    }
    return {
      binary: null,
      reason: `On the GPU through llama.node (llama-server is built for the CPU and Vulkan only): follow-up questions re-read earlier images.`,
    }
  }
}
