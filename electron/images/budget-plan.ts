// What mtmd makes of an image under a projector budget (tiles, tokens, the size it encodes),
// per preprocessor, in llama.cpp's float32 maths; see budget.ts for the sources it mirrors.
import type { ImagePlan, ImageSizing, ProjectorBudget, Size } from './budget.js'

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
