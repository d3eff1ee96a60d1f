// Will this model, its projector and a context fit in this machine's memory, and how many
// layers can go to the GPU? node-llama-cpp's GGUF insights size the model and the context
// from the file's tensors and the llama.cpp build at hand; the projector's weights and the
// image encoder's working memory are added on top, on the GPU when layers are offloaded.
import type { Llama } from 'node-llama-cpp'
import { formatBytes, type FitEstimate, type Hardware } from '../ipc/contract.js'
import { contextSizeFor } from '../ipc/defaults.js'
import { backendName } from './gpu.js'
import { insightsOf, type ModelFileInfo } from './model-files.js'
import { LANES } from './text-backend.js'

/** The image encoder's activations, on top of its weights: a margin, not a measurement. */
const ENCODER_WORKSPACE = 0.25
/** Below this share of free memory left over, a fit is called tight. */
const HEADROOM = 0.1

export async function readHardware(llama: Llama): Promise<Hardware> {
  // A GPU build with no device to use (a Vulkan loader with no GPU behind it, as on a VM with
  // Mesa's software driver) is a CPU: there is nothing to offload to.
  const names = llama.gpu === false ? [] : await llama.getGpuDeviceNames()
  const gpu = llama.gpu === false || names.length === 0 ? null : llama.gpu
  const [vram, ram] = await Promise.all([
    gpu ? llama.getVramState() : Promise.resolve({ total: 0, free: 0, unifiedSize: 0 }),
    llama.getRamState(),
  ])
  return {
    backend: backendName(gpu ?? false),
    gpuName: names[0] ?? null,
    vram: { totalBytes: vram.total, freeBytes: vram.free },
    ram: { totalBytes: ram.total, freeBytes: ram.free },
    unifiedMemory: vram.unifiedSize > 0,
  }
}

/** The machine as a CPU-only load sees it: no GPU to offload to, everything in RAM. */
export const onCpu = (hardware: Hardware): Hardware => ({
  ...hardware,
  backend: 'cpu',
  gpuName: null,
  vram: { totalBytes: 0, freeBytes: 0 },
  unifiedMemory: false,
})

export interface FitOptions {
  contextSize?: number
  /**
   * Sequences sharing the context, each with the whole context size: text models keep one
   * per lane (text-backend's LANES); the vision binding one.
   */
  sequences?: number
  /** For tests and "what if" questions: the machine to estimate for instead of this one. */
  hardware?: Hardware
}

export async function estimateFit(
  llama: Llama,
  model: ModelFileInfo,
  mmproj: ModelFileInfo | null,
  options: FitOptions = {},
): Promise<FitEstimate> {
  const hardware = options.hardware ?? (await readHardware(llama))
  // Layer offloading is only sized by a llama.cpp build that can offload: a CPU build
  // cannot say what a GPU would take, so it estimates for the CPU alone.
  const gpu = hardware.backend !== 'cpu' && llama.gpu !== false
  const insights = insightsOf(model)
  const contextSize = contextSizeFor(model.trainContextSize, options.contextSize)
  const resolved = await insights.configurationResolver.resolveAndScoreConfig(
    { targetContextSize: contextSize, ...(gpu ? {} : { targetGpuLayers: 0 }) },
    {
      getVramState: async () => ({
        total: hardware.vram.totalBytes,
        free: hardware.vram.freeBytes,
        unifiedSize: hardware.unifiedMemory ? hardware.vram.totalBytes : 0,
      }),
      getRamState: async () => ({ total: hardware.ram.totalBytes, free: hardware.ram.freeBytes }),
      llamaGpu: gpu ? (hardware.backend as 'cuda' | 'vulkan' | 'metal') : false,
      llamaSupportsGpuOffloading: gpu,
    },
  )
  const values = resolved.resolvedValues
  // The resolver sizes one sequence; each further one adds its KV cache.
  const sequences = options.sequences ?? (mmproj ? 1 : LANES.length)
  const extra = { cpuRam: 0, gpuVram: 0 }
  if (sequences > 1) {
    const one = await insights.estimateContextResourceRequirementsV2({
      contextSize: values.contextSize,
      modelGpuLayers: values.gpuLayers,
      sequences: 1,
    })
    const all = await insights.estimateContextResourceRequirementsV2({
      contextSize: values.contextSize,
      modelGpuLayers: values.gpuLayers,
      sequences,
    })
    extra.cpuRam = Math.max(0, all.cpuRam - one.cpuRam)
    extra.gpuVram = Math.max(0, all.gpuVram - one.gpuVram)
  }
  const projectorBytes = mmproj ? Math.round(mmproj.weightBytes * (1 + ENCODER_WORKSPACE)) : 0
  const projectorOnGpu = gpu && values.gpuLayers > 0
  const vramBytes = values.totalVramUsage + extra.gpuVram + (projectorOnGpu ? projectorBytes : 0)
  const ramBytes = values.totalRamUsage + extra.cpuRam + (projectorOnGpu ? 0 : projectorBytes)

  const ramFree = hardware.unifiedMemory ? hardware.ram.freeBytes - vramBytes : hardware.ram.freeBytes
  let verdict: FitEstimate['verdict']
  if (ramBytes > hardware.ram.totalBytes || (gpu && vramBytes > hardware.vram.totalBytes)) verdict = 'too-big'
  else if (ramBytes > ramFree * (1 - HEADROOM) || (gpu && vramBytes > hardware.vram.freeBytes * (1 - HEADROOM))) verdict = 'tight'
  else verdict = 'fits'

  return {
    verdict,
    gpuLayers: values.gpuLayers,
    totalLayers: insights.totalLayers,
    contextSize: values.contextSize,
    vramBytes,
    ramBytes,
    hardware,
    summary: describe(verdict, values.gpuLayers, insights.totalLayers, values.contextSize, vramBytes, ramBytes, hardware),
  }
}

function describe(
  verdict: FitEstimate['verdict'],
  layers: number,
  total: number,
  context: number,
  vram: number,
  ram: number,
  hw: Hardware,
): string {
  const where =
    hw.backend === 'cpu' || layers === 0
      ? `on the CPU, about ${formatBytes(ram)} of memory (${formatBytes(hw.ram.freeBytes)} free)`
      : `${layers === total ? 'all' : `${layers} of`} ${total} layers on the GPU (${formatBytes(vram)} of ${formatBytes(hw.vram.freeBytes)} free VRAM) and ${formatBytes(ram)} of memory`
  const ctx = `${context.toLocaleString('en')}-token context`
  if (verdict === 'too-big') return `Too big for this machine: it would need ${where}, with a ${ctx}.`
  if (verdict === 'tight') return `Tight: ${where}, with a ${ctx}. Close other apps or choose a smaller quantisation.`
  return `Fits: ${where}, with a ${ctx}.`
}
