// The per-family rules of budget.ts: which projector types each family serves, and the budget
// each detail level gets from the header, with the llama.cpp sources the numbers come from.
import type { FamilyId, ImageDetail, ProjectorBudget, ProjectorInfo, Size } from './budget.js'

interface Family {
  id: FamilyId
  /** clip.projector_type values (clip-impl.h, PROJECTOR_TYPE_NAMES). */
  types: readonly string[]
  /** Whether this family serves the header (LLaVA and LLaVA-NeXT share projector types). */
  accepts?: (p: ProjectorInfo) => boolean
  budget: (p: ProjectorInfo, detail: ImageDetail) => Omit<ProjectorBudget, 'family' | 'detail' | 'projector'>
}

const LLAVA_TYPES = ['mlp', 'mlp_norm', 'ldp', 'ldpv2']
/** LDP projectors (MobileVLM) pool 2x2 patches into one token (clip_n_output_tokens). */
const llavaDivisor = (p: ProjectorInfo): number => (p.type === 'ldp' || p.type === 'ldpv2' ? 4 : 1)

/**
 * Dynamic-resolution families: mtmd's token limits come from clip_hparams::
 * set_limit_image_tokens(min, max) in load_hparams, scaled by (patch x merge)^2 pixels per
 * token; image_max_tokens at init replaces the max. Low keeps a quarter of llama.cpp's
 * tokens (half the side). High is the model's own processor limit where it is known, else
 * llama.cpp's: passing it as image_max_tokens lets every level run without a reload.
 */
function dynamicBudget(
  align: number,
  tokens: { min: number; low: number; balanced: number; high: number },
  detail: ImageDetail,
  rowBreaks = false,
): Omit<ProjectorBudget, 'family' | 'detail' | 'projector'> {
  const cell = align * align
  const maxPixels = tokens[detail] * cell
  return {
    sizing: { kind: 'dynamic', align, minPixels: tokens.min * cell, maxPixels, rowBreaks },
    maxSide: null,
    maxPixels,
    mtmdImageMaxTokens: tokens.high,
  }
}

/** A fixed-size encoder: every level sees the same tile, so detail changes nothing. */
function fixedBudget(side: number, patch: number, divisor: number): Omit<ProjectorBudget, 'family' | 'detail' | 'projector'> {
  return { sizing: { kind: 'fixed', side, patch, divisor }, maxSide: side, maxPixels: side * side, mtmdImageMaxTokens: null }
}

export const FAMILIES: readonly Family[] = [
  {
    // LLaVA-NeXT / 1.6: image_grid_pinpoints makes mtmd tile (init_vision picks llava_uhd).
    // Balanced and high are llama.cpp's own choice (select_best_resolution already takes
    // the layout that keeps the most pixels); low hands mtmd an image that fits one tile,
    // so it encodes the overview alone.
    id: 'llava-next',
    types: LLAVA_TYPES,
    accepts: (p) => p.gridPinpoints.length >= 2,
    budget: (p, detail) => {
      const side = p.imageSize ?? 336
      const candidates: Size[] = []
      for (let i = 0; i + 1 < p.gridPinpoints.length; i += 2)
        candidates.push({ width: p.gridPinpoints[i]!, height: p.gridPinpoints[i + 1]! })
      const low = detail === 'low'
      return {
        sizing: {
          kind: 'pinpoints',
          side,
          patch: p.patchSize ?? 14,
          divisor: llavaDivisor(p),
          candidates,
          inputBox: low ? { width: side, height: side } : null,
        },
        maxSide: low ? side : Math.max(side, ...candidates.map((c) => Math.max(c.width, c.height))),
        maxPixels: low ? side * side : Math.max(side * side, ...candidates.map((c) => c.width * c.height)),
        mtmdImageMaxTokens: null,
      }
    },
  },
  {
    // LLaVA 1.5, BakLLaVA, MobileVLM: one image_size square (fixed_size preprocessor).
    id: 'llava',
    types: LLAVA_TYPES,
    budget: (p) => fixedBudget(p.imageSize ?? 336, p.patchSize ?? 14, llavaDivisor(p)),
  },
  {
    // Gemma 3: one 896 square, patches pooled n_merge x n_merge (load_hparams: n_merge = 4
    // unless projector.scale_factor says otherwise) into 256 tokens.
    id: 'gemma3',
    types: ['gemma3'],
    budget: (p) => {
      const merge = p.scaleFactor ?? 4
      return fixedBudget(p.imageSize ?? 896, p.patchSize ?? 14, merge * merge)
    },
  },
  {
    // SmolVLM / Idefics3: mtmd always scales the image to preproc_image_size on its longest
    // edge (upscaling small ones too) and tiles that, so the token count depends on the
    // aspect ratio alone: detail has no lever here. The prepared image keeps that longest
    // edge so every tile gets real pixels. (For a few odd sizes, e.g. 5000x200, llama.cpp's
    // float rounding lands a hair above the edge and adds a column of tiles; at exactly the
    // edge it makes the ceil(edge / tile) the model was trained with.) Without
    // preproc_image_size mtmd encodes only the overview tile.
    id: 'idefics3',
    types: ['idefics3'],
    budget: (p) => {
      const side = p.imageSize ?? 384
      const patch = p.patchSize ?? 14
      const merge = p.scaleFactor ?? 1
      const longestEdge = p.preprocImageSize ?? 0
      if (longestEdge <= 0) return fixedBudget(side, patch, merge * merge)
      return {
        sizing: { kind: 'longest-edge', side, longestEdge, patch, divisor: merge * merge },
        maxSide: longestEdge,
        maxPixels: longestEdge * longestEdge,
        mtmdImageMaxTokens: null,
      }
    },
  },
  {
    // MiniCPM-V 2.5-4.5 ("resampler"): LLaVA-UHD slices, at most 9 (max_slice_nums in
    // get_slice_instructions), each resampled to minicpmv_query_num tokens. The slice count
    // follows the image's pixel count, so balanced and high hand mtmd enough pixels for its
    // own choice; low fits the image in one slice so mtmd encodes the overview alone.
    id: 'minicpmv',
    types: ['resampler'],
    budget: (p, detail) => {
      const side = p.imageSize ?? 448
      const low = detail === 'low'
      return {
        sizing: {
          kind: 'slices',
          side,
          align: p.patchSize ?? 14,
          tokensPerSlice: minicpmvQueryNum(p),
          inputBox: low ? { width: side, height: side } : null,
        },
        maxSide: low ? side : null,
        maxPixels: low ? side * side : null,
        mtmdImageMaxTokens: null,
      }
    },
  },
  {
    // Qwen2-VL, Qwen2.5-VL (and Qwen2.5-Omni's vision half), Qwen3-VL: image_size is a
    // placeholder; mtmd smart-resizes to 8..4096 tokens of (patch x merge)^2 pixels.
    // High: the models' own processors allow 16384 tokens (Qwen2/2.5-VL max_pixels
    // 12845056 = 16384 x 28^2; Qwen3-VL longest_edge 16777216 = 16384 x 32^2).
    id: 'qwen-vl',
    types: ['qwen2vl_merger', 'qwen2.5vl_merger', 'qwen2.5o', 'qwen3vl_merger'],
    budget: (p, detail) =>
      dynamicBudget((p.patchSize ?? 14) * (p.spatialMergeSize ?? 2), { min: 8, low: 1024, balanced: 4096, high: 16384 }, detail),
  },
  {
    // Pixtral-12B and Mistral Small 3.x: 8..1024 tokens, plus an [IMG_BREAK] after every
    // row but the last (every Pixtral projector has v.token_embd.img_break). High: 4096,
    // Pixtral-12B's own limit (1024 px longest edge at 16 px patches).
    id: 'pixtral',
    types: ['pixtral'],
    budget: (p, detail) =>
      dynamicBudget((p.patchSize ?? 16) * (p.spatialMergeSize ?? 1), { min: 8, low: 256, balanced: 1024, high: 4096 }, detail, true),
  },
  {
    // Kimi-VL: 8..1024 tokens (llama.cpp's own TODO says the exact values are unchecked);
    // no verified larger native limit, so high stays at llama.cpp's.
    id: 'kimi-vl',
    types: ['kimivl'],
    budget: (p, detail) =>
      dynamicBudget((p.patchSize ?? 14) * (p.scaleFactor ?? 1), { min: 8, low: 256, balanced: 1024, high: 1024 }, detail),
  },
  {
    // GLM-4.1V / 4.5V: 8..4096 tokens like Qwen; high stays at llama.cpp's.
    id: 'glm4v',
    types: ['glm4v'],
    budget: (p, detail) =>
      dynamicBudget((p.patchSize ?? 14) * (p.spatialMergeSize ?? 2), { min: 8, low: 1024, balanced: 4096, high: 4096 }, detail),
  },
]

/** clip_model_loader::load_hparams: the header's query count, else 64 from version 3 (2.6) on, else 96. */
function minicpmvQueryNum(p: ProjectorInfo): number {
  if (p.minicpmvQueryNum && p.minicpmvQueryNum > 0) return p.minicpmvQueryNum
  return [3, 4, 5, 6, 100045].includes(p.minicpmvVersion ?? 0) ? 64 : 96
}
