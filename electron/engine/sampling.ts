// One meaning for every sampler, whichever binding runs the model. A request names a few
// values (temperature, top-p, top-k, seed, the longest answer); every other sampler is
// passed explicitly, because the bindings' own defaults differ from llama.cpp's and from
// each other: llama.node 1.7.15 turns on XTC (probability 0.10) and DRY (multiplier 1.75)
// unless told otherwise, and XTC runs before temperature, so even temperature 0 dropped
// the most likely token one time in ten.
import type { Sampling } from '../ipc/contract.js'

/** What a request gets for each value it leaves out: llama-server's defaults. */
export const SAMPLING_DEFAULTS = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  maxTokens: 512,
} as const

export interface ResolvedSampling {
  /** 0 means greedy: always the most likely token, whatever the seed. */
  temperature: number
  topK: number
  topP: number
  minP: number
  maxTokens: number
  seed: number
  stop: string[] | undefined
}

/**
 * Fills in every value. Temperature 0 (OpenAI's "deterministic") is greedy decoding, and
 * then top-k/top-p/min-p cannot change the answer; a missing seed is drawn once here so the
 * stats and logs can name it, and the same request with the same seed gives the same answer.
 */
export function resolveSampling(sampling: Sampling = {}, random: () => number = Math.random): ResolvedSampling {
  return {
    temperature: sampling.temperature ?? SAMPLING_DEFAULTS.temperature,
    topK: sampling.topK ?? SAMPLING_DEFAULTS.topK,
    topP: sampling.topP ?? SAMPLING_DEFAULTS.topP,
    minP: SAMPLING_DEFAULTS.minP,
    maxTokens: sampling.maxTokens ?? SAMPLING_DEFAULTS.maxTokens,
    seed: sampling.seed ?? Math.floor(random() * 2 ** 31),
    stop: sampling.stop,
  }
}

/** llama.node's completion options: every sampler named, the ones we do not use switched off. */
export function llamaNodeSamplers(s: ResolvedSampling): {
  temperature: number
  top_k: number
  top_p: number
  min_p: number
  seed: number
  typical_p: number
  xtc_probability: number
  xtc_threshold: number
  dry_multiplier: number
  mirostat: number
  top_n_sigma: number
  penalty_last_n: number
  penalty_repeat: number
  penalty_freq: number
  penalty_present: number
} {
  return {
    temperature: s.temperature,
    top_k: s.topK,
    top_p: s.topP,
    min_p: s.minP,
    seed: s.seed,
    typical_p: 1,
    xtc_probability: 0,
    xtc_threshold: 0.1,
    dry_multiplier: 0,
    mirostat: 0,
    top_n_sigma: -1,
    penalty_last_n: 0,
    penalty_repeat: 1,
    penalty_freq: 0,
    penalty_present: 0,
  }
}

/** node-llama-cpp's generateResponse options; XTC and DRY are off unless set, the repeat penalty is switched off here. */
export function nodeLlamaCppSamplers(s: ResolvedSampling): {
  temperature: number
  topK: number
  topP: number
  minP: number
  seed: number
  repeatPenalty: false
} {
  return { temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP, seed: s.seed, repeatPenalty: false }
}
