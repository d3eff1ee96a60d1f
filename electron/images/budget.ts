// How many pixels to hand llama.cpp for one image, per vision-projector family.
//
// llama.cpp's multimodal library (mtmd) resizes every image again before encoding it, in a
// way that depends on the projector: fixed-size encoders squash it into one square tile,
// tiling ones cut it into sub-images, dynamic-resolution ones resize it to a token budget.
// Downscaling here, before mtmd, saves decode and resize time and memory, but it must
// never change what mtmd does with the image (unless the detail level asks for that),
// so each family (budget-families.ts) mirrors mtmd's own sizing (budget-plan.ts). The
// source of truth is the llama.cpp that @fugood/llama.node 1.7.15 runs (build b10257,
// commit 22dc605c4): tools/mtmd/mtmd-image.cpp (the mtmd_image_preprocessor_* classes),
// mtmd.cpp (mtmd_context::init_vision picks the preprocessor per projector type), clip.cpp
// (clip_model_loader::load_hparams reads the header and sets per-type defaults;
// clip_n_output_tokens counts the tokens) and clip-model.h (clip_hparams::set_limit_image_tokens).
// The arithmetic mirrors llama.cpp's float32 maths (Math.fround) so the sizes match.

import { FAMILIES } from './budget-families.js'

export { planImage } from './budget-plan.js'

/**
 * Decoding more than this is refused: it guards against decompression bombs. Here, in a module
 * that imports no decoders (only the sizing maths beside it), so the conversation store and the
 * API check sizes without loading them (the store is also bundled as CommonJS for a test's child
 * processes).
 */
export const MAX_INPUT_PIXELS = 100_000_000

/** Detail trades speed for legibility; balanced is what llama.cpp itself would use. */
export type ImageDetail = 'low' | 'balanced' | 'high'
export const IMAGE_DETAILS: readonly ImageDetail[] = ['low', 'balanced', 'high']
export const DEFAULT_DETAIL: ImageDetail = 'balanced'

export interface Size {
  width: number
  height: number
}

/** What a projector's GGUF header says about image geometry (clip.* keys; null when absent). */
export interface ProjectorInfo {
  /** clip.projector_type, or clip.vision.projector_type in audio+vision files. */
  type: string | null
  /** clip.vision.image_size: the encoder's tile side (a placeholder for dynamic-resolution encoders). */
  imageSize: number | null
  /** clip.vision.patch_size */
  patchSize: number | null
  /** clip.vision.spatial_merge_size: patches merged per side (Qwen-VL, Pixtral, GLM-4V). */
  spatialMergeSize: number | null
  /** clip.vision.projector.scale_factor: the same for Gemma 3, Idefics3 and Kimi-VL. */
  scaleFactor: number | null
  /** clip.vision.preproc_image_size: Idefics3's longest edge before tiling. */
  preprocImageSize: number | null
  /** clip.vision.image_grid_pinpoints: LLaVA-NeXT's tile layouts as width, height pairs. */
  gridPinpoints: number[]
  /** clip.minicpmv_version and clip.minicpmv_query_num: MiniCPM-V's tokens per slice. */
  minicpmvVersion: number | null
  minicpmvQueryNum: number | null
  /** clip.vision.image_min_pixels / image_max_pixels. */
  imageMinPixels: number | null
  imageMaxPixels: number | null
}

/**
 * How mtmd sizes an image, as data (it travels over IPC in ModelFileInfo):
 * - fixed: one tile side x side, the image fitted inside and padded
 *   (mtmd_image_preprocessor_fixed_size).
 * - pinpoints: LLaVA-NeXT "anyres": an overview tile plus side x side tiles over the best
 *   of the candidate layouts (mtmd_image_preprocessor_llava_uhd with image_res_candidates).
 *   inputBox, when set, is fitted first, so mtmd sees an image that needs no tiles.
 * - slices: MiniCPM-V's LLaVA-UHD slicing: an overview plus up to 9 slices of about
 *   side x side pixels each, laid out to the image's aspect (llava_uhd without candidates).
 * - longest-edge: Idefics3/SmolVLM: the image scaled so its longest edge is longestEdge,
 *   cut into side x side tiles, plus an overview tile (mtmd_image_preprocessor_idefics3).
 * - dynamic: one image resized to a multiple of align with minPixels..maxPixels pixels
 *   (mtmd_image_preprocessor_dyn_size, "smart resize"); one token per align x align cell.
 */
export type ImageSizing =
  | { kind: 'fixed'; side: number; patch: number; divisor: number }
  | { kind: 'pinpoints'; side: number; patch: number; divisor: number; candidates: Size[]; inputBox: Size | null }
  | { kind: 'slices'; side: number; align: number; tokensPerSlice: number; inputBox: Size | null }
  | { kind: 'longest-edge'; side: number; longestEdge: number; patch: number; divisor: number }
  | { kind: 'dynamic'; align: number; minPixels: number; maxPixels: number; rowBreaks: boolean }

/** A plain pixel cap, for projectors this table does not know (and for callers that just want a size). */
export interface PixelBudget {
  /** Longest side in pixels. */
  maxSide: number
  /** Total pixels. */
  maxPixels: number
}

/** A budget worked out from a projector family's sizing rules. */
export interface ProjectorBudget {
  family: FamilyId
  detail: ImageDetail
  /** The header it came from, so another detail level can be derived without reading the file again. */
  projector: ProjectorInfo
  sizing: ImageSizing
  /** The prepared image never exceeds these; null where only the image itself bounds it. */
  maxSide: number | null
  maxPixels: number | null
  /**
   * Pass as image_max_tokens to llama.node's initMultimodal: mtmd caps dynamic-resolution
   * images at llama.cpp's default token limit unless told otherwise, so without it the
   * 'high' level is cut back to 'balanced'. Lower levels work either way. Null where mtmd
   * has no such limit.
   */
  mtmdImageMaxTokens: number | null
}

export type ImageBudget = PixelBudget | ProjectorBudget

/** What mtmd will do with one image, and the size to hand it. */
export interface ImagePlan {
  /** The size to hand llama.cpp: the smallest that keeps mtmd's plan (never larger than the image). */
  width: number
  height: number
  /** Images the vision encoder runs: 1, or an overview plus each tile. */
  tiles: number
  /** The tile layout when mtmd cuts the image up, else null. */
  grid: { columns: number; rows: number } | null
  /** What the encoder sees: the tile or slice size, or the whole resized image (dynamic resolution). */
  encoded: Size
  /** Image embeddings the model reads; llama.cpp adds a few marker tokens around them. */
  tokens: number
}

export type FamilyId = 'llava' | 'llava-next' | 'gemma3' | 'idefics3' | 'minicpmv' | 'qwen-vl' | 'pixtral' | 'kimi-vl' | 'glm4v'

/** Before any projector is loaded (images are refused then anyway): a plain cap that bounds the work. */
export const DEFAULT_BUDGET: PixelBudget = { maxSide: 1024, maxPixels: 1024 * 1024 }

/**
 * The budget for a projector at a detail level. Projectors this table does not know get a
 * pixel cap from the header instead: image_size squared (tiling ones, preproc_image_size),
 * or image_max_pixels where the header declares it.
 */
export function imageBudgetFor(projector: ProjectorInfo, detail: ImageDetail = DEFAULT_DETAIL): ImageBudget {
  const family = FAMILIES.find((f) => projector.type !== null && f.types.includes(projector.type) && (f.accepts?.(projector) ?? true))
  if (family) return { family: family.id, detail, projector, ...family.budget(projector, detail) }
  const imageSize = projector.imageSize ?? 448
  const maxPixels = projector.imageMaxPixels
  if (maxPixels) return { maxSide: Math.max(imageSize, Math.ceil(Math.sqrt(maxPixels) * 2)), maxPixels }
  const side = Math.max(imageSize, projector.preprocImageSize ?? 0)
  return { maxSide: side, maxPixels: side * side }
}

/** The same projector's budget at another detail level (a plain pixel cap has no levels). */
export function withDetail(budget: ImageBudget, detail: ImageDetail): ImageBudget {
  return isProjectorBudget(budget) ? imageBudgetFor(budget.projector, detail) : budget
}

export function isProjectorBudget(budget: ImageBudget): budget is ProjectorBudget {
  return 'family' in budget
}
