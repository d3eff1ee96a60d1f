// The model library as the window sees it: what is in the models folder (and what was
// linked from elsewhere), import by copy or by link, delete, reveal. Paths from the
// renderer are only acted on when they are in the library, so a compromised window
// cannot delete or reveal anything else.
import { constants } from 'node:fs'
import { copyFile, mkdir, readFile, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import { formatBytes, type EngineState, type LibraryScan, type LibraryView } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { exists, freeSpace } from './disk.js'
import { findModelFiles } from './library.js'
import { splitParts } from './split.js'
import { UnverifiedFiles } from './unverified.js'

export interface ModelServiceDeps {
  /** The models folder. */
  root: string
  engine: {
    library(root: string | null, linked: string[], options?: { cpuOnly: boolean }): Promise<LibraryScan>
    state(): EngineState
    unload(): Promise<unknown>
  }
  /** Asks the user for GGUF files (a native file dialog); null when cancelled. */
  pickModelFiles(): Promise<string[] | null>
  revealFile(path: string): void
  /** The library changed on disk. */
  onChanged?(): void
  /** Settings' CPU only: the fit estimates are for loads that put nothing on a GPU. Absent: false. */
  cpuOnly?(): boolean
  /** Free bytes on the models folder's disk (a seam for tests). */
  freeSpace?(dir: string): Promise<number>
}

export interface ModelService {
  library(): Promise<LibraryView>
  import(mode: 'copy' | 'link'): Promise<LibraryView | null>
  delete(path: string): Promise<LibraryView>
  reveal(path: string): Promise<null>
}

const Linked = z.array(z.string())

export function createModelService(deps: ModelServiceDeps): ModelService {
  const { root } = deps
  const linkedFile = join(root, 'linked.json')
  const readLinked = (): Promise<string[]> =>
    readFile(linkedFile, 'utf8').then(
      (t) => Linked.parse(JSON.parse(t)),
      () => [],
    )
  const writeLinked = async (paths: string[]): Promise<void> => {
    await mkdir(root, { recursive: true })
    await writeFileAtomic(linkedFile, JSON.stringify([...new Set(paths)], null, 1), { fsync: true })
  }
  const unverified = new UnverifiedFiles(root)
  const library = async (): Promise<LibraryView> => {
    await mkdir(root, { recursive: true })
    const cpuOnly = deps.cpuOnly?.() ?? false
    const [scan, recorded] = await Promise.all([
      readLinked().then((linked) => deps.engine.library(root, linked, { cpuOnly })),
      unverified.list(),
    ])
    // Only what is listed: a record whose file was deleted by hand names nothing.
    const listed = new Set([...scan.models.flatMap((e) => [e.model.path, e.mmproj?.path]), ...scan.orphanProjectors.map((p) => p.path)])
    return { ...scan, unverified: recorded.filter((p) => listed.has(p)) }
  }
  const changed = (): void => deps.onChanged?.()

  /** Every path the library shows, with what deleting it means. */
  function members(view: LibraryScan, linked: string[]): Map<string, { files: string[]; linked: boolean }> {
    const map = new Map<string, { files: string[]; linked: boolean }>()
    for (const entry of view.models) {
      const files = [...splitParts(entry.model.path), ...(entry.mmproj ? [entry.mmproj.path] : [])]
      map.set(entry.model.path, { files, linked: entry.linked })
      if (entry.mmproj) map.set(entry.mmproj.path, { files: [entry.mmproj.path], linked: entry.linked })
    }
    // A linked file that is gone (its disk unplugged) is listed as a problem: still the user's, forgotten on delete.
    for (const p of view.orphanProjectors) map.set(p.path, { files: [p.path], linked: linked.includes(p.path) })
    for (const p of view.problems) map.set(p.path, { files: [p.path], linked: linked.includes(p.path) })
    return map
  }

  const inRoot = (path: string): boolean => resolve(path).startsWith(resolve(root) + sep)

  return {
    library,

    async import(mode) {
      const chosen = await deps.pickModelFiles()
      if (!chosen || chosen.length === 0) return null
      // Any part of a split model stands for the model: its first part is read, all are copied.
      const picked = [...new Set(chosen.map((p) => splitParts(p)[0]!))]
      // Read the files where they are first: nothing is copied or linked unless all are models.
      const check = await deps.engine.library(null, picked)
      if (check.problems.length) throw new AppError('bad-model-file', check.problems.map((p) => p.reason).join(' '))
      if (check.models.length === 0)
        throw new AppError(
          'bad-model-file',
          'Those files are vision projectors (mmproj) only; import them together with their language model.',
        )

      if (mode === 'link') {
        const linked = await readLinked()
        await writeLinked([...linked, ...picked.filter((p) => !inRoot(p))])
        changed()
        return library()
      }

      // Copy: all files go into one folder named after the (first) model, like a download.
      const folder = join(root, basename(check.models[0]!.model.path).replace(/(-\d{5}-of-\d{5})?\.gguf$/i, ''))
      const files = picked.flatMap((p) => splitParts(p))
      const sizes = await Promise.all(files.map((p) => stat(p).then((s) => s.size)))
      const needed = sizes.reduce((a, b) => a + b, 0)
      const free = await (deps.freeSpace ?? freeSpace)(root)
      if (free < needed)
        throw new AppError(
          'storage',
          `Not enough disk space to copy the model: it needs ${formatBytes(needed)}, ${formatBytes(free)} is free. Import it as a link instead.`,
        )
      await mkdir(folder, { recursive: true })
      const targets = files.map((source) => join(folder, basename(source)))
      for (const target of targets) if (await exists(target)) throw new AppError('busy', `${basename(target)} is already in your library.`)
      // The user's own copy: a record left by a file of that name deleted by hand is not about it.
      await unverified.update([], targets)
      for (const source of files) {
        const target = join(folder, basename(source))
        // Copied under a .part name first, so a half-copied file is never offered as a model.
        const part = `${target}.part`
        try {
          await copyFile(source, part, constants.COPYFILE_FICLONE)
          await rename(part, target)
        } catch (error) {
          await rm(part, { force: true })
          const code = (error as NodeJS.ErrnoException).code
          throw new AppError(
            'storage',
            code === 'ENOSPC'
              ? `The disk filled up while copying ${basename(source)}; nothing was kept.`
              : `Could not copy ${basename(source)}: ${(error as Error).message}`,
          )
        }
      }
      changed()
      return library()
    },

    async delete(path) {
      const view = await library()
      const member = members(view, await readLinked()).get(path)
      if (!member) throw new AppError('not-found', `${basename(path)} is not in your model library.`)
      // A file reached through a folder linked from elsewhere is the user's own, as a linked import is: not deleted from here.
      if (!member.linked) {
        const realRoot = await realpath(root).catch(() => resolve(root))
        for (const file of member.files.filter(inRoot)) {
          // Inside the folder as named or as resolved (the models folder itself may sit behind a link).
          const real = await realpath(file).catch(() => file)
          if (!inRoot(real) && !real.startsWith(realRoot + sep))
            throw new AppError(
              'busy',
              `${basename(file)} is in a folder linked into the models folder from ${dirname(real)}; delete it there, or remove the link.`,
            )
        }
      }
      const loaded = deps.engine.state()
      if (loaded.state === 'ready' && member.files.some((f) => f === loaded.info.modelPath || f === loaded.info.mmprojPath))
        await deps.engine.unload()
      if (member.linked) {
        // Linked files are the user's own: forget them, never delete them.
        await writeLinked((await readLinked()).filter((p) => !member.files.includes(p)))
      } else {
        await unverified.update([], member.files)
        for (const file of member.files) {
          if (!inRoot(file)) continue
          await rm(file, { force: true })
          // An emptied model folder goes too; the models folder itself stays.
          const dir = dirname(file)
          if (resolve(dir) !== resolve(root) && (await readdir(dir).catch(() => ['?'])).length === 0)
            await rmdir(dir).catch(() => undefined)
        }
      }
      changed()
      return library()
    },

    async reveal(path) {
      // Membership only: the files on disk and the links, without reading every header.
      const { gguf, partials } = await findModelFiles(root)
      const known = resolve(path) === resolve(root) || gguf.includes(path) || partials.includes(path) || (await readLinked()).includes(path)
      if (!known) throw new AppError('not-found', `${basename(path)} is not in your model library.`)
      deps.revealFile(path)
      return null
    },
  }
}
