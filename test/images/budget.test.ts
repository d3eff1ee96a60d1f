// Image budgets per projector family: a projector header written with each family's
// geometry, read back by inspectModelFile, and a 1920x1080 and a 3840x2160 screenshot
// planned and prepared at each detail level. Expected numbers come from the families'
// published sizing rules (tile grids, smart resize), written out here independently.
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import {
  IMAGE_DETAILS,
  imageBudgetFor,
  isProjectorBudget,
  planImage,
  withDetail,
  type FamilyId,
  type ImageDetail,
  type ImagePlan,
  type ProjectorBudget,
  type ProjectorInfo,
  type Size,
} from '../../electron/images/budget.js'
import { prepareImage } from '../../electron/images/prepare.js'
import { REFERENCE_PROJECTORS, writeProjector, type ReferenceProjector } from '../fixtures/projectors.js'
import { scratchDir } from '../support/engine.js'
import { screenshotPng } from '../support/images.js'

const SCREENS: Size[] = [
  { width: 1920, height: 1080 },
  { width: 3840, height: 2160 },
]

/** Balanced budgets as inspectModelFile reads them from each reference header. */
const read = new Map<ReferenceProjector, ProjectorBudget>()

beforeAll(async () => {
  const dir = await scratchDir()
  for (const [i, ref] of REFERENCE_PROJECTORS.entries()) {
    const path = join(dir, `mmproj-${i}-${ref.family}.gguf`)
    await writeProjector(path, ref.kv)
    const file = await inspectModelFile(path, null, 'mmproj')
    if (!file.imageBudget || !isProjectorBudget(file.imageBudget)) throw new Error(`${ref.model}: no family budget`)
    read.set(ref, file.imageBudget)
  }
})

const budgetAt = (ref: ReferenceProjector, detail: ImageDetail): ProjectorBudget => {
  const budget = imageBudgetFor(read.get(ref)!.projector, detail)
  if (!isProjectorBudget(budget)) throw new Error('family lost')
  return budget
}
const refsOf = (family: FamilyId): ReferenceProjector[] => REFERENCE_PROJECTORS.filter((r) => r.family === family)
const header = (ref: ReferenceProjector, key: string): number => {
  const value = ref.kv[key]
  if (!value || typeof value.value !== 'number') throw new Error(`${ref.model} has no ${key}`)
  return value.value
}
const cases = (family: FamilyId) =>
  refsOf(family).flatMap((ref) =>
    IMAGE_DETAILS.flatMap((detail) =>
      SCREENS.map((screen) => ({ ref, detail, screen, name: `${ref.model}, ${detail}, ${screen.width}x${screen.height}` })),
    ),
  )

/** The image scaled, aspect kept, to the given long side. */
const toLong = (image: Size, side: number): Size => {
  const scale = side / Math.max(image.width, image.height)
  return { width: Math.round(image.width * scale), height: Math.round(image.height * scale) }
}
/** The same, but never scaled up. */
const fitLong = (image: Size, side: number): Size => (Math.max(image.width, image.height) <= side ? image : toLong(image, side))
const fitIn = (image: Size, box: Size): Size => {
  const scale = Math.min(1, box.width / image.width, box.height / image.height)
  return { width: Math.round(image.width * scale), height: Math.round(image.height * scale) }
}
/** One token per patch, pooled by divisor (clip_n_output_tokens). */
const tileTokens = (side: number, patch: number, divisor = 1): number => Math.floor(Math.floor(side / patch) ** 2 / divisor)
const size = (plan: ImagePlan): Size => ({ width: plan.width, height: plan.height })

describe('projector headers', () => {
  it('gives every reference projector its family, read from the header it was written with', () => {
    for (const ref of REFERENCE_PROJECTORS) {
      const budget = read.get(ref)!
      expect(budget, ref.model).toMatchObject({
        family: ref.family,
        detail: 'balanced',
        projector: { type: ref.kv['clip.projector_type']!.value },
      })
    }
    const next = read.get(refsOf('llava-next')[0]!)!
    expect(next.projector.gridPinpoints).toEqual(refsOf('llava-next')[0]!.kv['clip.vision.image_grid_pinpoints']!.value)
    expect(read.get(refsOf('idefics3')[0]!)!.projector).toMatchObject({ scaleFactor: 3, preprocImageSize: 1536 })
  })

  it('keeps a plain pixel cap from the header for projectors it has no family for', () => {
    const unknown: ProjectorInfo = {
      type: 'internvl',
      imageSize: 448,
      patchSize: 14,
      spatialMergeSize: null,
      scaleFactor: null,
      preprocImageSize: null,
      gridPinpoints: [],
      minicpmvVersion: null,
      minicpmvQueryNum: null,
      imageMinPixels: null,
      imageMaxPixels: null,
    }
    expect(imageBudgetFor(unknown)).toEqual({ maxSide: 448, maxPixels: 448 * 448 })
    expect(imageBudgetFor({ ...unknown, imageMaxPixels: 1_000_000 })).toEqual({ maxSide: 2000, maxPixels: 1_000_000 })
    // A pixel cap has no detail levels.
    expect(withDetail(imageBudgetFor(unknown), 'high')).toEqual(imageBudgetFor(unknown))
  })

  it('derives another detail level from the budget the header gave', () => {
    const qwen = read.get(refsOf('qwen-vl')[0]!)!
    expect(withDetail(qwen, 'high')).toEqual(imageBudgetFor(qwen.projector, 'high'))
    expect(withDetail(qwen, 'high')).toMatchObject({ family: 'qwen-vl', detail: 'high' })
  })
})

describe('fixed-size encoders: one tile whatever the detail', () => {
  it.each([...cases('llava'), ...cases('gemma3')])('$name', ({ ref, detail, screen }) => {
    const side = header(ref, 'clip.vision.image_size')
    const patch = header(ref, 'clip.vision.patch_size')
    // Gemma 3 pools 4x4 patches into a token (load_hparams' default n_merge).
    const divisor = ref.family === 'gemma3' ? 16 : 1
    const plan = planImage(budgetAt(ref, detail), screen.width, screen.height)
    expect(plan).toMatchObject({ tiles: 1, grid: null, encoded: { width: side, height: side }, tokens: tileTokens(side, patch, divisor) })
    expect(size(plan)).toEqual(fitLong(screen, side))
  })
})

describe('LLaVA-NeXT: anyres tiles over the best pinpoint layout', () => {
  /** select_best_resolution: the layout that keeps the most pixels, then wastes the least. */
  const bestLayout = (image: Size, pinpoints: number[]): Size => {
    let best = { width: 0, height: 0, effective: -1, wasted: Infinity }
    for (let i = 0; i < pinpoints.length; i += 2) {
      const [width, height] = [pinpoints[i]!, pinpoints[i + 1]!]
      const scale = Math.min(width / image.width, height / image.height)
      const effective = Math.min(Math.trunc(image.width * scale) * Math.trunc(image.height * scale), image.width * image.height)
      const wasted = width * height - effective
      if (effective > best.effective || (effective === best.effective && wasted < best.wasted)) best = { width, height, effective, wasted }
    }
    return { width: best.width, height: best.height }
  }

  it.each(cases('llava-next'))('$name', ({ ref, detail, screen }) => {
    const side = header(ref, 'clip.vision.image_size')
    const perTile = tileTokens(side, header(ref, 'clip.vision.patch_size'))
    const plan = planImage(budgetAt(ref, detail), screen.width, screen.height)
    if (detail === 'low') {
      // Fitted into one tile, the image needs no layout: the overview alone.
      expect(plan).toMatchObject({ tiles: 1, grid: null, tokens: perTile })
      expect(size(plan)).toEqual(fitLong(screen, side))
      return
    }
    const layout = bestLayout(screen, ref.kv['clip.vision.image_grid_pinpoints']!.value as number[])
    const grid = { columns: layout.width / side, rows: layout.height / side }
    expect(plan).toMatchObject({ grid, tiles: 1 + grid.columns * grid.rows, tokens: (1 + grid.columns * grid.rows) * perTile })
    // Exactly the pixels the layout samples: the screenshot fitted into it.
    expect(size(plan)).toEqual(fitIn(screen, layout))
  })
})

describe('Idefics3 / SmolVLM: tiles of the image scaled to its longest edge', () => {
  it.each(cases('idefics3'))('$name', ({ ref, detail, screen }) => {
    const side = header(ref, 'clip.vision.image_size')
    const edge = header(ref, 'clip.vision.preproc_image_size')
    const merge = header(ref, 'clip.vision.projector.scale_factor')
    const plan = planImage(budgetAt(ref, detail), screen.width, screen.height)
    const scaled = toLong(screen, edge)
    const grid = { columns: Math.ceil(scaled.width / side), rows: Math.ceil(scaled.height / side) }
    const tiles = grid.columns * grid.rows + 1
    expect(plan).toMatchObject({ grid, tiles, tokens: tiles * tileTokens(side, header(ref, 'clip.vision.patch_size'), merge * merge) })
    expect(grid.columns * grid.rows).toBeGreaterThan(1)
    // Every tile gets real pixels: the long side stays at the edge mtmd scales to, whatever the detail.
    expect(size(plan)).toEqual(fitLong(screen, edge))
  })
})

describe('MiniCPM-V: up to 9 slices laid out to the image aspect', () => {
  /** LLaVA-UHD: slices for the pixel count (at most 9), the layout whose aspect is closest to the image's. */
  const sliceLayout = (image: Size, side: number): { columns: number; rows: number } => {
    const multiple = Math.min(Math.ceil((image.width * image.height) / (side * side)), 9)
    const layouts = [multiple - 1, multiple, multiple + 1]
      .filter((n) => n > 1 && n <= 9)
      .flatMap((n) =>
        Array.from({ length: n }, (_, i) => i + 1)
          .filter((c) => n % c === 0)
          .map((columns) => ({ columns, rows: n / columns })),
      )
    const distance = (l: { columns: number; rows: number }): number =>
      Math.abs(Math.log(image.width / image.height) - Math.log(l.columns / l.rows))
    return layouts.reduce((best, l) => (distance(l) < distance(best) ? l : best))
  }

  it.each(cases('minicpmv'))('$name', ({ ref, detail, screen }) => {
    const side = header(ref, 'clip.vision.image_size')
    // clip.minicpmv_version 3 (MiniCPM-V 2.6) resamples every slice to 64 tokens.
    const perSlice = 64
    const plan = planImage(budgetAt(ref, detail), screen.width, screen.height)
    if (detail === 'low') {
      expect(plan).toMatchObject({ tiles: 1, grid: null, tokens: perSlice })
      expect(size(plan)).toEqual(fitLong(screen, side))
      return
    }
    const grid = sliceLayout(screen, side)
    const tiles = grid.columns * grid.rows + 1
    expect(plan).toMatchObject({ grid, tiles, tokens: tiles * perSlice })
    // Each slice about side^2 pixels; the prepared image spans the slices on one side
    // (the other is padded to the slice grid) and has no more pixels than they hold.
    expect(plan.encoded.width * plan.encoded.height).toBeGreaterThan(0.9 * side * side)
    expect(plan.encoded.width * plan.encoded.height).toBeLessThan(1.1 * side * side)
    expect([plan.width === grid.columns * plan.encoded.width, plan.height === grid.rows * plan.encoded.height]).toContain(true)
    expect(plan.width * plan.height).toBeLessThanOrEqual(grid.columns * grid.rows * plan.encoded.width * plan.encoded.height)
  })
})

describe('dynamic resolution: smart resize to a token budget', () => {
  /** llama.cpp's default token limits (set_limit_image_tokens) and each level's cap. */
  const LIMITS: Partial<Record<FamilyId, { min: number; balanced: number; high: number }>> = {
    'qwen-vl': { min: 8, balanced: 4096, high: 16384 },
    pixtral: { min: 8, balanced: 1024, high: 4096 },
    'kimi-vl': { min: 8, balanced: 1024, high: 1024 },
    glm4v: { min: 8, balanced: 4096, high: 4096 },
  }
  const capOf = (family: FamilyId, detail: ImageDetail): number => {
    const limits = LIMITS[family]!
    return detail === 'low' ? limits.balanced / 4 : limits[detail]
  }
  /** Qwen2-VL's smart_resize: sides rounded to the cell, scaled down into the pixel budget. */
  const smartResize = (image: Size, cell: number, minPixels: number, maxPixels: number): Size => {
    let width = Math.max(cell, Math.round(image.width / cell) * cell)
    let height = Math.max(cell, Math.round(image.height / cell) * cell)
    if (width * height > maxPixels) {
      const beta = Math.sqrt((image.width * image.height) / maxPixels)
      width = Math.max(cell, Math.floor(image.width / beta / cell) * cell)
      height = Math.max(cell, Math.floor(image.height / beta / cell) * cell)
    } else if (width * height < minPixels) {
      const beta = Math.sqrt(minPixels / (image.width * image.height))
      width = Math.ceil((image.width * beta) / cell) * cell
      height = Math.ceil((image.height * beta) / cell) * cell
    }
    return { width, height }
  }
  const dynamic = (['qwen-vl', 'pixtral', 'kimi-vl', 'glm4v'] as const).flatMap((family) => cases(family))

  it.each(dynamic)('$name', ({ ref, detail, screen }) => {
    const merge = ref.kv['clip.vision.spatial_merge_size']?.value ?? ref.kv['clip.vision.projector.scale_factor']?.value
    const cell = header(ref, 'clip.vision.patch_size') * (typeof merge === 'number' ? merge : 2)
    const cap = capOf(ref.family, detail)
    const budget = budgetAt(ref, detail)
    const plan = planImage(budget, screen.width, screen.height)
    const encoded = smartResize(screen, cell, LIMITS[ref.family]!.min * cell * cell, cap * cell * cell)
    const [columns, rows] = [encoded.width / cell, encoded.height / cell]
    // Pixtral ends every row of cells but the last with an [IMG_BREAK] token.
    const breaks = ref.family === 'pixtral' ? rows - 1 : 0
    expect(plan).toMatchObject({ tiles: 1, grid: null, encoded, tokens: columns * rows + breaks })
    expect(columns * rows).toBeLessThanOrEqual(cap)
    // mtmd's target itself where the screenshot has the pixels (its resize is then a copy), else the screenshot.
    expect(size(plan)).toEqual({ width: Math.min(encoded.width, screen.width), height: Math.min(encoded.height, screen.height) })
    // Tells llama.node to allow the high level's tokens, so no level needs a reload.
    expect(budget.mtmdImageMaxTokens).toBe(LIMITS[ref.family]!.high)
  })
})

describe('every family', () => {
  it.each(REFERENCE_PROJECTORS.map((ref) => ({ ref, name: `${ref.model} (${ref.family})` })))(
    '$name: more detail never means fewer tokens, and a prepared image plans to itself',
    ({ ref }) => {
      for (const screen of SCREENS) {
        const [low, balanced, high] = IMAGE_DETAILS.map((detail) => planImage(budgetAt(ref, detail), screen.width, screen.height))
        expect(low!.tokens).toBeLessThanOrEqual(balanced!.tokens)
        expect(balanced!.tokens).toBeLessThanOrEqual(high!.tokens)
        for (const [i, plan] of [low!, balanced!, high!].entries()) {
          expect(plan.width).toBeLessThanOrEqual(screen.width)
          expect(plan.height).toBeLessThanOrEqual(screen.height)
          // Planning the prepared image again changes nothing: mtmd's plan survives the downscale.
          expect(planImage(budgetAt(ref, IMAGE_DETAILS[i]!), plan.width, plan.height)).toEqual(plan)
        }
      }
    },
  )
})

describe('prepared images', () => {
  const pngs = new Map<Size, Uint8Array>()
  beforeAll(async () => {
    for (const screen of SCREENS) pngs.set(screen, await screenshotPng(screen.width, screen.height))
  })

  it('come out at the planned size for every family, level and screenshot', async () => {
    const done = new Set<string>()
    for (const ref of REFERENCE_PROJECTORS) {
      for (const detail of IMAGE_DETAILS) {
        for (const screen of SCREENS) {
          const plan = planImage(budgetAt(ref, detail), screen.width, screen.height)
          const key = `${screen.width}x${screen.height}->${plan.width}x${plan.height}`
          if (done.has(key)) continue // same resize, already checked
          done.add(key)
          const out = await prepareImage(pngs.get(screen)!, budgetAt(ref, detail))
          expect({ width: out.width, height: out.height }, `${ref.model} ${detail} ${key}`).toEqual(size(plan))
        }
      }
    }
  })
})
