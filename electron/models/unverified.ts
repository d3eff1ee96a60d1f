// Which files in the models folder a download brought in with no checksum to check them
// against: the library keeps saying so after the download is dismissed and after a restart.
// Kept in MODELS/unverified.json, beside linked.json, as paths relative to the folder (so a
// models folder moved whole keeps its record). The download manager records a file as it
// installs it; deleting the file from the library drops it.
import { mkdir, readFile } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import { AppError } from '../ipc/errors.js'

const Stored = z.array(z.string())

// The download manager and the library service each open the record; their changes go in turn,
// or one read-change-write would undo the other's.
const queues = new Map<string, Promise<unknown>>()

export class UnverifiedFiles {
  readonly #root: string
  readonly #file: string

  constructor(root: string) {
    this.#root = root
    this.#file = join(root, 'unverified.json')
  }

  /** The recorded files, as absolute paths; none when there is no record or it cannot be read. */
  async list(): Promise<string[]> {
    return (await this.#read()).map((p) => join(this.#root, p))
  }

  /** Records `add` as unverified and `remove` as not (a file replaced, or deleted); writes only what changes. */
  update(add: readonly string[], remove: readonly string[]): Promise<void> {
    const run = (queues.get(this.#file) ?? Promise.resolve()).then(async () => {
      const before = await this.#read()
      const gone = new Set([...add, ...remove].map((p) => this.#inside(p)).filter((p) => p !== null))
      const after = [...before.filter((p) => !gone.has(p)), ...add.map((p) => this.#inside(p)).filter((p) => p !== null)]
      if (after.length === before.length && after.every((p, i) => p === before[i])) return
      try {
        await mkdir(this.#root, { recursive: true })
        await writeFileAtomic(this.#file, JSON.stringify(after, null, 1), { fsync: true })
      } catch (error) {
        throw new AppError('storage', `The models folder cannot be written (${this.#root}): ${(error as Error).message}`)
      }
    })
    queues.set(
      this.#file,
      run.catch(() => undefined),
    )
    return run
  }

  async #read(): Promise<string[]> {
    return readFile(this.#file, 'utf8').then(
      (text) => Stored.parse(JSON.parse(text)),
      () => [],
    )
  }

  /** A path relative to the models folder, with '/' between parts; null for a file outside it. */
  #inside(path: string): string | null {
    const rel = relative(this.#root, path)
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) return null
    return rel.split(sep).join('/')
  }
}
