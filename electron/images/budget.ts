// How many pixels to hand llama.cpp for one image, per vision-projector family.
//
// llama.cpp's multimodal library (mtmd) resizes every image again before encoding it, in a
// way that depends on the projector: fixed-size encoders squash it into one square tile,
// tiling ones cut it into sub-images, dynamic-resolution ones resize it to a token budget.
// Downscaling here, before mtmd, saves decode and resize time and memory, but it must
// never change what mtmd does with the image (unless the detail level asks for that),
// so each family below mirrors mtmd's own sizing. The source of truth is the llama.cpp
// that @fugood/llama.node 1.7.15 runs (build b10257, commit 22dc605c4): tools/mtmd/
// mtmd-image.cpp (the mtmd_image_preprocessor_* classes), mtmd.cpp (mtmd_context::
// init_vision picks the preprocessor per projector type), clip.cpp (clip_model_loader::
// load_hparams reads the header and sets per-type defaults; clip_n_output_tokens counts
// the tokens) and clip-model.h (clip_hparams::set_limit_image_tokens).
// The arithmetic mirrors llama.cpp's float32 maths (Math.fround) so the sizes match.

/**
 * Decoding more than this is refused: it guards against decompression bombs. Here, in a module
 * that imports nothing, so the conversation store and the API check sizes without loading the
 * decoders (the store is also bundled as CommonJS for a test's child processes).
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

const FAMILIES: readonly Family[] = [
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

/**
 * What mtmd will make of a width x height image under this budget, and the size to hand
 * it: the smallest downscale for which mtmd's plan is unchanged, so no pixel mtmd would
 * encode is lost and none it would throw away is decoded, resized and copied.
 */
export function planImage(budget: ProjectorBudget, width: number, height: number): ImagePlan {
  const { sizing } = budget
  const input = 'inputBox' in sizing && sizing.inputBox ? fitWithin({ width, height }, sizing.inputBox) : { width, height }
  const target = mtmdPlan(sizing, input)
  const ceiling = capped(input, budget.maxSide, budget.maxPixels)
  let prepared = firstGuess(sizing, target, ceiling)
  // The first guess keeps the plan in practice; rounding can move a tile boundary, so
  // grow towards the ceiling until it does. Past the ceiling the budget's bounds win.
  while (!samePlan(mtmdPlan(sizing, prepared), target)) {
    if (longSide(prepared) >= longSide(ceiling)) {
      prepared = ceiling
      break
    }
    prepared = withLongSide(ceiling, Math.max(longSide(prepared) + 1, Math.ceil(longSide(prepared) * 1.01)))
  }
  const { used: _used, ...plan } = mtmdPlan(sizing, prepared)
  return { ...plan, ...prepared }
}

interface MtmdPlan extends Omit<ImagePlan, 'width' | 'height'> {
  /** The largest resize target, without padding: mtmd samples no more of the image than this. */
  used: Size
}

/** What mtmd_context::add_media does with an image of this size, per preprocessor. */
function mtmdPlan(sizing: ImageSizing, image: Size): MtmdPlan {
  switch (sizing.kind) {
    case 'fixed': {
      const tile = { width: sizing.side, height: sizing.side }
      return { tiles: 1, grid: null, encoded: tile, tokens: tileTokens(tile, sizing.patch, sizing.divisor), used: padFit(image, tile) }
    }
    case 'pinpoints':
      return pinpointsPlan(sizing, image)
    case 'slices':
      return slicesPlan(sizing, image)
    case 'longest-edge':
      return longestEdgePlan(sizing, image)
    case 'dynamic': {
      const size = smartResize(image, sizing.align, sizing.minPixels, sizing.maxPixels)
      const columns = size.width / sizing.align
      const rows = size.height / sizing.align
      return { tiles: 1, grid: null, encoded: size, tokens: columns * rows + (sizing.rowBreaks ? rows - 1 : 0), used: size }
    }
  }
}

/** clip_n_output_tokens for patch-grid encoders: one token per patch, pooled by divisor. */
function tileTokens(tile: Size, patch: number, divisor: number): number {
  return Math.floor((Math.floor(tile.width / patch) * Math.floor(tile.height / patch)) / divisor)
}

/** mtmd_image_preprocessor_llava_uhd::get_slice_instructions, pinpoints branch. */
function pinpointsPlan(sizing: Extract<ImageSizing, { kind: 'pinpoints' }>, image: Size): MtmdPlan {
  const { side, patch, divisor } = sizing
  const tile = { width: side, height: side }
  const overview = tileTokens(tile, patch, divisor)
  // No tiles unless a side exceeds the tile; the overview is stretched to the tile (image_pad_ov is PAD_NONE).
  if ((image.width <= side && image.height <= side) || sizing.candidates.length === 0) {
    return { tiles: 1, grid: null, encoded: tile, tokens: overview, used: tile }
  }
  const refined = selectBestResolution(image, sizing.candidates)
  let tokens = overview
  let tiles = 1
  for (let y = 0; y < refined.height; y += side) {
    for (let x = 0; x < refined.width; x += side) {
      tokens += tileTokens({ width: Math.min(side, refined.width - x), height: Math.min(side, refined.height - y) }, patch, divisor)
      tiles++
    }
  }
  const grid = { columns: Math.floor(refined.width / side), rows: Math.floor(refined.height / side) }
  return { tiles, grid, encoded: tile, tokens, used: padFit(image, refined) }
}

/** llava_uhd::select_best_resolution: the most effective pixels, then the least waste. */
function selectBestResolution(image: Size, candidates: Size[]): Size {
  let best = candidates[0]!
  let maxEffective = 0
  let minWasted = Number.MAX_SAFE_INTEGER
  for (const candidate of candidates) {
    // resize_maintain_aspect_ratio: float scale, truncated sizes
    const scale = Math.min(f32(candidate.width / image.width), f32(candidate.height / image.height))
    const width = Math.trunc(f32(image.width * scale))
    const height = Math.trunc(f32(image.height * scale))
    const effective = Math.min(width * height, image.width * image.height)
    const wasted = candidate.width * candidate.height - effective
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective
      minWasted = wasted
      best = candidate
    }
  }
  return best
}

/** llava_uhd::get_slice_instructions without pinpoints (MiniCPM-V), and slice_image's resizes. */
function slicesPlan(sizing: Extract<ImageSizing, { kind: 'slices' }>, image: Size): MtmdPlan {
  const { side, align, tokensPerSlice } = sizing
  if (image.width <= side && image.height <= side) {
    const tile = { width: side, height: side }
    return { tiles: 1, grid: null, encoded: tile, tokens: tokensPerSlice, used: tile }
  }
  const maxSlices = 9
  const overview = bestResize(image, side, align, false)
  const logRatio = f32(Math.log(f32(image.width / image.height)))
  const ratio = f32(f32(f32(image.width) * image.height) / (side * side))
  const multiple = Math.min(Math.ceil(ratio), maxSlices)
  const grid = bestGrid(maxSlices, multiple, logRatio)
  const refined = refineSize(image, grid, side, align)
  const slice = { width: Math.trunc(refined.width / grid.width), height: Math.trunc(refined.height / grid.height) }
  const tiles = grid.width * grid.height + 1
  // The refined image is padded to keep the aspect (image_pad_rf is PAD_CEIL); the overview is stretched.
  const content = padFit(image, refined)
  const used = { width: Math.max(content.width, overview.width), height: Math.max(content.height, overview.height) }
  return { tiles, grid: { columns: grid.width, rows: grid.height }, encoded: slice, tokens: tiles * tokensPerSlice, used }
}

/** llava_uhd::get_best_resize: scale to about side^2 pixels (up only if allowed), then ensure_divide. */
function bestResize(image: Size, side: number, align: number, allowUpscale: boolean): Size {
  let { width, height } = image
  if (width * height > side * side || allowUpscale) {
    const r = f32(width / height)
    height = Math.trunc(f32(side / f32(Math.sqrt(r))))
    width = Math.trunc(f32(height * r))
  }
  return { width: ensureDivide(width, align), height: ensureDivide(height, align) }
}

/** llava_uhd::ensure_divide: the nearest multiple of align, at least align. */
function ensureDivide(length: number, align: number): number {
  return Math.max(Math.round(f32(length / align)) * align, align)
}

/** llava_uhd::get_refine_size with allow_upscale (each slice scaled to about side^2 pixels). */
function refineSize(image: Size, grid: Size, side: number, align: number): Size {
  const cell = {
    width: Math.trunc(ensureDivide(image.width, grid.width) / grid.width),
    height: Math.trunc(ensureDivide(image.height, grid.height) / grid.height),
  }
  const best = bestResize(cell, side, align, true)
  return { width: best.width * grid.width, height: best.height * grid.height }
}

/** llava_uhd::get_best_grid: of the layouts with multiple-1..multiple+1 slices, the one closest to the image's aspect. */
function bestGrid(maxSlices: number, multiple: number, logRatio: number): Size {
  const grids: Size[] = []
  for (const count of [multiple - 1, multiple, multiple + 1]) {
    if (count === 1 || count > maxSlices) continue
    for (let m = 1; m <= count; m++) if (count % m === 0) grids.push({ width: m, height: count / m })
  }
  let best = { width: 1, height: 1 }
  let minError = Infinity
  for (const grid of grids) {
    const error = f32(Math.abs(logRatio - Math.log(grid.width / grid.height)))
    if (error < minError) {
      best = grid
      minError = error
    }
  }
  return best
}

/** mtmd_image_preprocessor_idefics3::preprocess: longest edge to longestEdge, sides up to multiples of the tile. */
function longestEdgePlan(sizing: Extract<ImageSizing, { kind: 'longest-edge' }>, image: Size): MtmdPlan {
  const { side, longestEdge, patch, divisor } = sizing
  // img_tool::calc_size_preserved_ratio(size, align, longest_edge)
  const scale = Math.min(f32(longestEdge / image.width), f32(longestEdge / image.height))
  const ceilBy = (x: number): number => Math.ceil(f32(x / side)) * side
  const refined = { width: ceilBy(f32(image.width * scale)), height: ceilBy(f32(image.height * scale)) }
  const grid = { columns: Math.ceil(refined.width / side), rows: Math.ceil(refined.height / side) }
  const tile = { width: side, height: side }
  const tiles = grid.columns * grid.rows + 1
  return { tiles, grid, encoded: tile, tokens: tiles * tileTokens(tile, patch, divisor), used: padFit(image, refined) }
}

/** img_tool::calc_size_preserved_ratio(size, align, min_pixels, max_pixels): "smart resize". */
function smartResize(image: Size, align: number, minPixels: number, maxPixels: number): Size {
  const { width, height } = image
  const roundBy = (x: number): number => Math.round(f32(f32(x) / align)) * align
  const ceilBy = (x: number): number => Math.ceil(f32(f32(x) / align)) * align
  const floorBy = (x: number): number => Math.floor(f32(f32(x) / align)) * align
  let h = Math.max(align, roundBy(height))
  let w = Math.max(align, roundBy(width))
  if (h * w > maxPixels) {
    const beta = f32(Math.sqrt(f32(f32(height * width) / maxPixels)))
    h = Math.max(align, floorBy(f32(height / beta)))
    w = Math.max(align, floorBy(f32(width / beta)))
  } else if (h * w < minPixels) {
    const beta = f32(Math.sqrt(f32(f32(minPixels) / f32(height * width))))
    h = ceilBy(f32(height * beta))
    w = ceilBy(f32(width * beta))
  }
  return { width: w, height: h }
}

/** img_tool::resize with PAD_CEIL: the image's part of a padded resize into box. */
function padFit(image: Size, box: Size): Size {
  const scale = Math.min(f32(box.width / image.width), f32(box.height / image.height))
  return {
    width: Math.min(Math.ceil(f32(image.width * scale)), box.width),
    height: Math.min(Math.ceil(f32(image.height * scale)), box.height),
  }
}

function firstGuess(sizing: ImageSizing, target: MtmdPlan, ceiling: Size): Size {
  // Dynamic: exactly mtmd's target where the image has the pixels, so its own resize is a
  // copy. The few pixels of aspect rounding are stretched rather than padded, as Qwen's own
  // processor does (llama.cpp would pad them).
  if (sizing.kind === 'dynamic')
    return { width: Math.min(target.used.width, ceiling.width), height: Math.min(target.used.height, ceiling.height) }
  return fitWithin(ceiling, target.used)
}

function samePlan(a: MtmdPlan, b: MtmdPlan): boolean {
  return (
    a.tokens === b.tokens &&
    a.tiles === b.tiles &&
    a.grid?.columns === b.grid?.columns &&
    a.grid?.rows === b.grid?.rows &&
    a.encoded.width === b.encoded.width &&
    a.encoded.height === b.encoded.height
  )
}

/** The image scaled down (never up), aspect kept, to fit box. */
function fitWithin(image: Size, box: Size): Size {
  const scale = Math.min(1, box.width / image.width, box.height / image.height)
  return scaled(image, scale, box)
}

/** The image scaled down to at most maxSide on its long side and maxPixels in all. */
function capped(image: Size, maxSide: number | null, maxPixels: number | null): Size {
  const scale = Math.min(1, maxSide ? maxSide / longSide(image) : 1, maxPixels ? Math.sqrt(maxPixels / (image.width * image.height)) : 1)
  const bound = maxSide ?? Infinity
  return scaled(image, scale, { width: bound, height: bound }, maxPixels ?? Infinity)
}

function scaled(image: Size, scale: number, box: Size, maxPixels = Infinity): Size {
  let width = Math.min(box.width, Math.max(1, Math.round(image.width * scale)))
  let height = Math.min(box.height, Math.max(1, Math.round(image.height * scale)))
  // Rounding both sides up can overshoot a pixel cap by a row; trim the longer side.
  while (width * height > maxPixels && Math.max(width, height) > 1) {
    if (width >= height) width--
    else height--
  }
  return { width, height }
}

const longSide = (size: Size): number => Math.max(size.width, size.height)

/** The image (aspect kept) with the given long side, no larger than the image itself. */
function withLongSide(image: Size, side: number): Size {
  return fitWithin(image, { width: side, height: side })
}

/** llama.cpp computes these sizes in float32; rounding the same way keeps every size equal. */
const f32 = Math.fround
