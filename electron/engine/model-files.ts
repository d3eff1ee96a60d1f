// Reads a GGUF file's header before llama.cpp sees it, so a wrong, corrupt, truncated
// or mismatched file gets a sentence that says what is wrong instead of a native error.
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { GgufFileType, GgufInsights, readGgufFileInfo, type GgufFileInfo, type Llama } from 'node-llama-cpp'
import { AppError } from '../ipc/errors.js'
import { checkGgufHeader } from './gguf-check.js'
import { splitParts } from '../models/split.js'
import { vocabularySpellings } from './special-text.js'
import type { ModelFileInfo } from '../ipc/contract.js'
import { imageBudgetFor, type ProjectorInfo } from '../images/budget.js'
import { quantisationFromName } from '../models/quantisation.js'

export type { ModelFileInfo }

type Metadata = Record<string, unknown>

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null)
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null)

// The insights behind each file inspected in this process, so the fit estimate sizes a
// model from the header already read instead of reading it again.
const inspected = new WeakMap<ModelFileInfo, GgufInsights>()

// Each language model's header metadata, for the spellings of its special tokens: the load
// builds its text guard from the header the inspection read instead of reading it again.
const metadataOf = new WeakMap<ModelFileInfo, unknown>()

/** The special-token spellings of an inspected language model's vocabulary (special-text.ts). */
export function specialSpellingsOf(file: ModelFileInfo): string[] {
  if (!metadataOf.has(file)) throw new Error(`${file.path} was not inspected in this process`)
  return vocabularySpellings(metadataOf.get(file))
}

export function insightsOf(file: ModelFileInfo): GgufInsights {
  const insights = inspected.get(file)
  if (!insights) throw new Error(`${file.path} was not inspected in this process`)
  return insights
}

/**
 * role: what the caller needs the file to be; without it, either kind is accepted.
 * llama is null when node-llama-cpp cannot start here: the header is still read (that is
 * plain TypeScript), the sizes then come from the tensor table instead of its insights.
 */
export async function inspectModelFile(path: string, llama: Llama | null, role?: 'model' | 'mmproj'): Promise<ModelFileInfo> {
  const label = role === 'mmproj' ? 'Vision projector (mmproj) file' : 'Model file'
  const name = basename(path)
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new AppError(
      'bad-model-file',
      error.code === 'ENOENT' ? `${label} not found: ${path}` : `${label} ${name} cannot be read (${error.code ?? error.message}).`,
    )
  })
  if (!stats.isFile()) throw new AppError('bad-model-file', `${label} ${name} is not a file.`)
  if (stats.size === 0) throw new AppError('bad-model-file', `${label} ${name} is empty (0 bytes).`)

  // node-llama-cpp's reader and both native loaders trust the header's lengths and counts:
  // every file they will read is checked first (all parts of a split model).
  const parts = splitParts(path)
  for (const part of parts) await checkGgufHeader(part, label)
  // A split model's size is all of its parts' (the checks above found each one).
  const totalBytes = parts.length === 1 ? stats.size : (await Promise.all(parts.map((p) => stat(p)))).reduce((sum, s) => sum + s.size, 0)

  let info: GgufFileInfo
  try {
    info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false, spliceSplitFiles: true })
  } catch (error) {
    throw new AppError('bad-model-file', `${label} ${name} is corrupt or truncated: its header cannot be read (${firstLine(error)}).`, {
      cause: error,
    })
  }
  const insights = llama ? await GgufInsights.from(info, llama) : null
  // Without insights: the data section's size, and at least up to where the last tensor starts.
  const lastTensorOffset = Math.max(0, ...(info.fullTensorInfo ?? []).map((t) => Number(t.offset)))
  const weightBytes = insights ? insights.modelSize : Math.max(totalBytes - info.metadataSize, lastTensorOffset + 1)

  const meta = info.metadata as unknown as Metadata
  const general = (meta.general ?? {}) as Metadata
  const architecture = text(general.architecture) ?? 'unknown'
  const isMmproj = architecture === 'clip'
  if (role === 'model' && isMmproj)
    throw new AppError('bad-model-file', `${name} is a vision projector (mmproj), not a language model. Choose it as the mmproj instead.`)
  if (role === 'mmproj' && !isMmproj)
    throw new AppError('bad-model-file', `${name} is a language model (${architecture}), not a vision projector (mmproj).`)

  const common = {
    path,
    architecture,
    name: text(general.name),
    fileBytes: totalBytes,
    parameters: countParameters(info),
    quantisation: quantisationOf(general, name),
    weightBytes,
  }
  const remember = (file: ModelFileInfo): ModelFileInfo => {
    if (insights) inspected.set(file, insights)
    return file
  }
  if (isMmproj) {
    const clip = (meta.clip ?? {}) as Metadata
    const vision = (clip.vision ?? {}) as Metadata
    if (clip.has_vision_encoder !== true)
      throw new AppError('bad-model-file', `${name} has no vision encoder (it may be an audio projector).`)
    const projector = projectorInfo(clip)
    return remember({
      ...common,
      kind: 'mmproj',
      totalLayers: num(vision.block_count) ?? 0,
      trainContextSize: null,
      embeddingSize: num(vision.projection_dim),
      projectorType: projector.type,
      imageBudget: imageBudgetFor(projector),
    })
  }

  const arch = (meta[architecture] ?? {}) as Metadata
  const llm = remember({
    ...common,
    kind: 'llm',
    totalLayers: insights ? insights.totalLayers : (num(arch.block_count) ?? 0),
    // 0 is no training context (a damaged or hand-made file): unknown, so the default size applies.
    trainContextSize: (insights ? (insights.trainContextSize ?? null) : num(arch.context_length)) || null,
    embeddingSize: num(arch.embedding_length),
    projectorType: null,
    imageBudget: null,
  })
  metadataOf.set(llm, info.metadata)
  return llm
}

/**
 * The files node-llama-cpp reads for `path` (its resolveSplitGgufParts, not exported): every
 * part of a split model named name-00001-of-00003.gguf, else the file alone.
 */
/** Refuses a projector built for another model: its output must match the LLM's hidden size. */
export function checkPair(model: ModelFileInfo, mmproj: ModelFileInfo): void {
  if (model.embeddingSize && mmproj.embeddingSize && model.embeddingSize !== mmproj.embeddingSize) {
    throw new AppError(
      'mmproj-mismatch',
      `The vision projector ${basename(mmproj.path)} does not belong to ${basename(model.path)}: it produces ${mmproj.embeddingSize}-wide embeddings, the model expects ${model.embeddingSize}.`,
    )
  }
}

/** The header keys that decide how llama.cpp sizes an image (see electron/images/budget.ts). */
function projectorInfo(clip: Metadata): ProjectorInfo {
  const vision = (clip.vision ?? {}) as Metadata
  const projector = (vision.projector ?? {}) as Metadata
  const pinpoints = Array.isArray(vision.image_grid_pinpoints) ? vision.image_grid_pinpoints.map(num).filter((n) => n !== null) : []
  return {
    type: text(clip.projector_type) ?? text(vision.projector_type),
    imageSize: num(vision.image_size),
    patchSize: num(vision.patch_size),
    spatialMergeSize: num(vision.spatial_merge_size),
    scaleFactor: num(projector.scale_factor),
    preprocImageSize: num(vision.preproc_image_size),
    gridPinpoints: pinpoints,
    minicpmvVersion: num(clip.minicpmv_version),
    minicpmvQueryNum: num(clip.minicpmv_query_num),
    imageMinPixels: num(vision.image_min_pixels),
    imageMaxPixels: num(vision.image_max_pixels),
  }
}

function countParameters(info: GgufFileInfo): number {
  let total = 0
  for (const tensor of info.fullTensorInfo ?? []) total += tensor.dimensions.reduce<number>((n, d) => n * Number(d), 1)
  return total
}

function quantisationOf(general: Metadata, fileName: string): string | null {
  const fileType = num(general.file_type)
  const known = fileType === null ? undefined : (GgufFileType as unknown as Record<number, string | undefined>)[fileType]
  if (known) return known.replace(/^(MOSTLY|ALL)_/, '')
  return quantisationFromName(fileName)
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200)
}
