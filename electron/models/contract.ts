// The model manager's part of the IPC contract: the library, the catalog, Hugging Face
// search and downloads (schemas for what the renderer may ask, types for the answers).
import { z } from 'zod'
import type { ImageBudget } from '../images/budget.js'
import { FilePath } from '../ipc/fields.js'
import type { Backend } from '../engine/contract.js'

export interface RecentModel {
  name: string
  modelPath: string
  mmprojPath: string | null
  vision: boolean
  lastUsed: string
}

/** What a GGUF file's header says about it. */
export interface ModelFileInfo {
  path: string
  kind: 'llm' | 'mmproj'
  architecture: string
  name: string | null
  fileBytes: number
  /** Weights in the file (elements of all tensors). */
  parameters: number
  /** e.g. Q4_K_M, Q8_0, F16: from the file type, else from the file name. */
  quantisation: string | null
  /** Sum of the tensors' sizes: how much the weights take in memory. */
  weightBytes: number
  totalLayers: number
  trainContextSize: number | null
  /** LLM: hidden size the projector must produce. mmproj: the size it produces. */
  embeddingSize: number | null
  projectorType: string | null
  /** How the projector's family sizes images, at the default detail; imageBudgetFor() gives other levels. */
  imageBudget: ImageBudget | null
}

export interface Hardware {
  backend: Backend
  gpuName: string | null
  vram: { totalBytes: number; freeBytes: number }
  ram: { totalBytes: number; freeBytes: number }
  /** Apple silicon and some iGPUs: VRAM is the same memory as RAM. */
  unifiedMemory: boolean
}

export interface FitEstimate {
  verdict: 'fits' | 'tight' | 'too-big'
  /** Layers the estimate puts on the GPU; loading uses it as its first try. */
  gpuLayers: number
  totalLayers: number
  contextSize: number
  vramBytes: number
  ramBytes: number
  hardware: Hardware
  summary: string
}

export interface LibraryEntry {
  model: ModelFileInfo
  mmproj: ModelFileInfo | null
  /** Projectors in the same folder that do not fit this model, and why. */
  rejected: { path: string; reason: string }[]
  /** Imported by reference: deleting it only forgets it. */
  linked: boolean
  fit: FitEstimate | null
}

export interface LibraryView {
  root: string
  models: LibraryEntry[]
  /** Projectors no model in their folder can use. */
  orphanProjectors: ModelFileInfo[]
  /** Files that are not usable models (corrupt, truncated, not GGUF, moved away), with the reason. */
  problems: { path: string; reason: string }[]
  hardware: Hardware | null
  /** Files listed here that a download brought in with no checksum published to check them against. */
  unverified: string[]
}

/** The models folder as the engine process reads it; main adds what it keeps about the files. */
export type LibraryScan = Omit<LibraryView, 'unverified'>

// A file inside a repository: no way out of it, and a file name that is a plain, visible name
// (it becomes a file and a folder name in the models folder).
export const HubPath = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[^\\]+\.gguf$/i, 'not a GGUF file path')
  .refine((p) => !p.startsWith('/') && p.split('/').every((part) => part !== '' && part !== '..'), 'not a path inside the repository')
  .refine((p) => /^[\w][\w.+-]*\.gguf$/i.test(p.split('/').pop() ?? ''), 'not a plain file name')
const HubRepo = z.string().regex(/^[A-Za-z0-9][\w.-]{0,95}\/[\w.-]{1,96}$/, 'not a Hugging Face repository name (owner/name)')

export const CatalogFile = z.strictObject({
  /** Path inside the repository. */
  file: HubPath,
  quantisation: z.string().max(32),
  /** Size as published, for showing before the download; the hub's exact size is checked. */
  approxBytes: z.int().positive(),
  /** Pinned SHA-256, when known; otherwise the hub's LFS SHA-256 (for a file kept in git, its git blob SHA-1) is verified. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
})
export const CatalogEntry = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/),
  name: z.string().min(1).max(100),
  description: z.string().max(500),
  repo: HubRepo,
  revision: z.string().min(1).max(64),
  licence: z.string().min(1).max(100),
  licenceUrl: z.url(),
  /** Quantisations of the language model, the recommended one first. */
  models: z.array(CatalogFile).min(1),
  mmproj: CatalogFile,
})
export type CatalogEntry = z.infer<typeof CatalogEntry>
export const Catalog = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  /** The entry a first run offers. */
  recommended: z.string(),
  entries: z.array(CatalogEntry).min(1),
})
export type Catalog = z.infer<typeof Catalog>

export interface HubModel {
  repo: string
  downloads: number
  likes: number
  updatedAt: string
  gated: boolean
}

export interface HubFile {
  path: string
  bytes: number
  /** The LFS object id, which is the file's SHA-256. */
  sha256: string | null
  /** For a file kept in git rather than LFS: its git blob SHA-1 (an LFS file's git id hashes its pointer, not the file). */
  gitBlobSha1: string | null
  quantisation: string | null
}

export interface HubRepoFiles {
  repo: string
  models: HubFile[]
  projectors: HubFile[]
}

export const DownloadStart = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('catalog'), id: z.string().max(64), quantisation: z.string().max(32).optional() }),
  z.strictObject({ source: z.literal('hub'), repo: HubRepo, model: HubPath, mmproj: HubPath.nullable() }),
  // A text-layer language pack (electron/ocr/languages.ts): its recognition model and dictionary.
  z.strictObject({ source: z.literal('ocr'), id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'not a language pack id') }),
])
export type DownloadStart = z.infer<typeof DownloadStart>

/** How a downloaded file's bytes are checked against the published file. */
export type DownloadChecksum = 'sha256' | 'git-blob-sha1'

/** What a downloaded file is: a GGUF model or its projector, or a language pack's recogniser or dictionary. */
export type DownloadRole = 'model' | 'mmproj' | 'ocr-model' | 'ocr-dictionary'

export interface DownloadFileState {
  fileName: string
  role: DownloadRole
  totalBytes: number
  downloadedBytes: number
  done: boolean
  /** null: nothing was published to check it against, so the file is unverified. */
  checksum: DownloadChecksum | null
}

/** A failed attempt being retried with backoff; the bytes downloaded so far are kept. */
export interface DownloadRetry {
  /** 1 for the first retry. */
  attempt: number
  /** Retries allowed before the download fails (it can still be resumed then). */
  of: number
  /** Too little data came for too long: the server went quiet or slowed to a trickle. */
  stalled: boolean
  /** What happened, in words: "no data for 30 s", "the server answered 503". */
  reason: string
}

export interface DownloadJob {
  id: string
  title: string
  /** The catalog entry it came from; null for a file chosen through search. */
  catalogId: string | null
  /** The text-layer language pack it downloads; null for a model. */
  ocrPack: string | null
  /** Folder under the models folder the files move into once all are verified. */
  folder: string
  files: DownloadFileState[]
  state: 'queued' | 'downloading' | 'verifying' | 'paused' | 'failed' | 'done'
  totalBytes: number
  downloadedBytes: number
  bytesPerSecond: number | null
  etaSeconds: number | null
  /** While downloading: the retry under way, if the last attempt failed. */
  retry: DownloadRetry | null
  error: string | null
  /** The model file, once the download is done. */
  modelPath: string | null
  mmprojPath: string | null
}

/** Request/response channels of the library and downloads. */
export const modelsInvoke = {
  'models:recent': { request: z.undefined() },
  'models:library': { request: z.undefined() },
  'models:catalog': { request: z.undefined() },
  'models:import': { request: z.strictObject({ mode: z.enum(['copy', 'link']) }) },
  'models:delete': { request: z.strictObject({ path: FilePath }) },
  'models:reveal': { request: z.strictObject({ path: FilePath }) },
  'models:search': { request: z.strictObject({ query: z.string().trim().min(2, 'type at least two characters').max(100) }) },
  'models:repo': { request: z.strictObject({ repo: HubRepo }) },
  'downloads:list': { request: z.undefined() },
  'downloads:start': { request: DownloadStart },
  'downloads:pause': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:resume': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:cancel': { request: z.strictObject({ id: z.uuid() }) },
  'downloads:dismiss': { request: z.strictObject({ id: z.uuid() }) },
} as const

export interface ModelsResponses {
  'models:recent': RecentModel[]
  'models:library': LibraryView
  'models:catalog': Catalog
  /** null when the user closed the file picker. */
  'models:import': LibraryView | null
  'models:delete': LibraryView
  'models:reveal': null
  'models:search': HubModel[]
  'models:repo': HubRepoFiles
  'downloads:list': DownloadJob[]
  'downloads:start': DownloadJob
  'downloads:pause': DownloadJob[]
  'downloads:resume': DownloadJob[]
  'downloads:cancel': DownloadJob[]
  'downloads:dismiss': DownloadJob[]
}
