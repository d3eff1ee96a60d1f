// The model library's logic: which GGUF files in the models folder are language models,
// which are vision projectors, which projector belongs to which model (same folder, same
// embedding width, closest name), and what is incomplete or unusable, with the reason.
// Reading a file's metadata is passed in (the engine process does it, with llama.cpp's
// type sizes at hand), so this stays plain code.
import type { Dirent } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { ModelFileInfo } from '../ipc/contract.js'
import { isLaterPart } from './split.js'

export interface LibraryModel {
  model: ModelFileInfo
  mmproj: ModelFileInfo | null
  rejected: { path: string; reason: string }[]
}

export interface Library {
  models: LibraryModel[]
  orphanProjectors: ModelFileInfo[]
  problems: { path: string; reason: string }[]
}

export type Inspect = (path: string) => Promise<ModelFileInfo>

/**
 * GGUF files in the folder and one level of subfolders (a folder per model is common), a
 * subfolder linked from another disk included; the folders that could not be read, with why.
 */
export async function findModelFiles(
  root: string,
): Promise<{ gguf: string[]; partials: string[]; unreadable: { path: string; reason: string }[] }> {
  const gguf: string[] = []
  const partials: string[] = []
  const unreadable: { path: string; reason: string }[] = []
  // Each folder once, however many links lead to it (a link back to the models folder would list its models twice).
  const seen = new Set<string>()
  const visit = async (dir: string, depth: number): Promise<void> => {
    const real = await realpath(dir).catch(() => dir)
    if (seen.has(real)) return
    seen.add(real)
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (error) {
      // No models folder yet is no problem; one that cannot be read hides its models, so it is said.
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'ENOENT')
        unreadable.push({
          path: dir,
          reason: `The folder ${dir} cannot be read (${code ?? (error as Error).message}); its models are not listed.`,
        })
      return
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      // Dot folders hold work in progress (downloads being staged), never models.
      if (entry.name.startsWith('.')) continue
      // A link to a folder (models kept on another disk) is a folder; the depth bounds a link that loops.
      const folder =
        entry.isDirectory() ||
        (entry.isSymbolicLink() &&
          (await stat(path).then(
            (s) => s.isDirectory(),
            () => false,
          )))
      if (folder && depth < 1) await visit(path, depth + 1)
      // A split model is its first part; the others come with it.
      else if (/\.gguf$/i.test(entry.name)) {
        if (!isLaterPart(path)) gguf.push(path)
      } else if (/\.gguf\.part$/i.test(entry.name)) partials.push(path)
    }
  }
  await visit(root, 0)
  return { gguf: gguf.sort(), partials: partials.sort(), unreadable }
}

/** How long reading one file's header may take before the scan reports it and goes on. */
export const INSPECT_TIME_LIMIT_MS = 10_000

/**
 * linked: files imported by reference, which live outside the folder; root null: only those.
 * timeLimitMs bounds each file's inspection, so one damaged file (or a stalled disk) never
 * freezes the Models page: it becomes a problem and the scan goes on.
 */
export async function scanLibrary(
  root: string | null,
  inspect: Inspect,
  linked: string[] = [],
  timeLimitMs = INSPECT_TIME_LIMIT_MS,
): Promise<Library> {
  const { gguf, partials, unreadable } = root === null ? { gguf: [], partials: [], unreadable: [] } : await findModelFiles(root)
  const files: ModelFileInfo[] = []
  const problems: Library['problems'] = [...unreadable]
  for (const path of [...gguf, ...linked.filter((p) => !gguf.includes(p))]) {
    try {
      files.push(
        await withinTime(
          inspect(path),
          timeLimitMs,
          `${basename(path)} took too long to read (over ${timeLimitMs / 1000} s); it may be damaged.`,
        ),
      )
    } catch (error) {
      problems.push({ path, reason: error instanceof Error ? error.message : String(error) })
    }
  }
  for (const path of partials) problems.push({ path, reason: `${basename(path)} is an unfinished download; it is not offered as a model.` })
  return { ...pairModels(files), problems }
}

/** The work's result, or a rejection with `message` once `ms` have passed; the work itself cannot be stopped and is left to finish. */
async function withinTime<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Pairs each language model with the projector made for it. */
export function pairModels(files: ModelFileInfo[]): Pick<Library, 'models' | 'orphanProjectors'> {
  const models = files.filter((f) => f.kind === 'llm')
  const projectors = files.filter((f) => f.kind === 'mmproj')
  const used = new Set<string>()
  // Projectors that fit a model but lost to another (by name, then order): not orphans, which would
  // tell the user to move a file that is already where it belongs.
  const alternatives = new Set<string>()
  const paired: LibraryModel[] = models.map((model) => {
    const rejected: LibraryModel['rejected'] = []
    const candidates = projectors.filter((p) => dirname(p.path) === dirname(model.path))
    const fitting = candidates.filter((p) => {
      if (!model.embeddingSize || !p.embeddingSize || p.embeddingSize === model.embeddingSize) return true
      rejected.push({
        path: p.path,
        reason: `${basename(p.path)} produces ${p.embeddingSize}-wide embeddings; ${basename(model.path)} expects ${model.embeddingSize}.`,
      })
      return false
    })
    const best = fitting.sort((a, b) => nameAffinity(model.path, b.path) - nameAffinity(model.path, a.path))[0] ?? null
    if (best) used.add(best.path)
    for (const other of fitting.slice(1)) {
      alternatives.add(other.path)
      rejected.push({
        path: other.path,
        reason: `${basename(other.path)} fits too; ${basename(best!.path)} is used. Move that one away to use this one instead.`,
      })
    }
    return { model, mmproj: best, rejected }
  })
  return { models: paired, orphanProjectors: projectors.filter((p) => !used.has(p.path) && !alternatives.has(p.path)) }
}

/** How much two file names share, ignoring an mmproj- prefix and the extension. */
function nameAffinity(modelPath: string, projectorPath: string): number {
  const norm = (p: string): string =>
    basename(p)
      .toLowerCase()
      .replace(/\.gguf$/, '')
      .replace(/^mmproj[-_.]?/, '')
      .replace(/[-_.]?mmproj$/, '')
  const a = norm(modelPath)
  const b = norm(projectorPath)
  let common = 0
  while (common < a.length && common < b.length && a[common] === b[common]) common++
  return common
}
