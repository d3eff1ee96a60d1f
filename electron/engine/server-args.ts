// How the engine starts llama-server and names its samplers: the command line of the child
// (server-process.ts runs it) and the sampling fields of every request.
import type { Lane } from './types.js'
import { llamaNodeSamplers, type ResolvedSampling } from './sampling.js'

/** Cached prompts for other conversations (the API's, the chat window's) kept in RAM: a few contexts' worth. */
const PROMPT_CACHE_MIB = 2048

/** llama-server's names for the engine's samplers: every one explicit, as for llama.node, whose defaults also differ. */
export function serverSamplers(s: ResolvedSampling): Record<string, number> {
  const { penalty_last_n, penalty_repeat, penalty_freq, penalty_present, ...rest } = llamaNodeSamplers(s)
  return {
    ...rest,
    repeat_last_n: penalty_last_n,
    repeat_penalty: penalty_repeat,
    frequency_penalty: penalty_freq,
    presence_penalty: penalty_present,
    // Dynamic temperature would move temperature 0 off greedy: off, whatever a build's default.
    dynatemp_range: 0,
  }
}

/**
 * Text models get a slot per lane (the windows', the API's), each with the whole context, so
 * an API client never evicts the conversation's cached prompt (node-llama-cpp's two sequences
 * did the same). A vision model keeps one slot: its KV cache holds images, and the RAM prompt
 * cache parks and restores the other lane's prompt instead of doubling it.
 */
export const slotsFor = (vision: boolean): number => (vision ? 1 : 2)
export const SLOT: Record<Lane, number> = { ui: 0, api: 1 }

export function serverArgs(o: {
  model: string
  mmproj: string | null
  contextSize: number
  threads: number
  imageMaxTokens: number | null
  /** The private folder the images of requests are read from (server-media.ts); vision models only. */
  mediaPath?: string | null
  /** Layers offloaded to the GPU (the Vulkan build); 0, the default, runs all of it on the CPU. */
  gpuLayers?: number
}): string[] {
  const gpuLayers = o.gpuLayers ?? 0
  const slots = slotsFor(o.mmproj !== null)
  return [
    '-m',
    o.model,
    ...(o.mmproj ? ['--mmproj', o.mmproj] : []),
    // llama-server splits -c between its slots: each gets the model's context size.
    '-c',
    String(o.contextSize * slots),
    '-t',
    String(o.threads),
    '-tb',
    String(o.threads),
    // A conversation's follow-up must land where its history is: each lane names its slot.
    // Other conversations are parked in the RAM prompt cache and restored when they come back.
    '-np',
    String(slots),
    // A cancel takes effect between the batches a prompt is evaluated in: with the default 2,048
    // a stopped question over a long prompt held the model for the rest of it (3.6 s measured on a
    // 576-wide model), and the next question waited. The work still goes in 512-token ubatches.
    '-b',
    '512',
    '--no-kv-unified',
    '--cache-ram',
    String(PROMPT_CACHE_MIB),
    // The CPU build has no GPU to offload to; the Vulkan build offloads what the fit estimate
    // allows, and with no layers there the projector stays on the CPU too.
    '-ngl',
    String(gpuLayers),
    ...(o.mmproj && gpuLayers === 0 ? ['--no-mmproj-offload'] : []),
    // Templates with tools need jinja; thoughts stay in the text, as llama.node streams them.
    '--jinja',
    '--reasoning-format',
    'none',
    // A full context ends the answer ("context-full"), as on llama.node; shifting would drop the images' chunks.
    '--no-context-shift',
    '--no-webui',
    '--offline',
    ...(o.imageMaxTokens ? ['--image-max-tokens', String(o.imageMaxTokens)] : []),
    ...(o.mediaPath ? ['--media-path', o.mediaPath] : []),
  ]
}
