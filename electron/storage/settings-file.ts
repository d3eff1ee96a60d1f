// Reading a settings file the app rewrites on its next change. A file that is not JSON, or that
// its reader could take only in part (one mistyped value, an entry a newer version wrote), is
// copied aside first: the next save would otherwise overwrite what the user had, with no way back.
// And writing one, where a failure is said in words.
import { copyFile, readFile } from 'node:fs/promises'
import writeFileAtomic from 'write-file-atomic'
import { AppError } from '../ipc/errors.js'

export interface SettingsRead<T> {
  value: T
  /** False when something in the file was left out or replaced by a default. */
  whole: boolean
}

/**
 * The file's settings through `take` (given undefined for a file that is not JSON); null when
 * there is no file. Where not whole, the file is kept as NAME.unreadable beside it.
 */
export async function readSettingsFile<T>(path: string, take: (json: unknown) => SettingsRead<T>): Promise<SettingsRead<T> | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    // Unreadable (permissions, a folder of that name): the defaults, and nothing to copy.
    return take(undefined)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const read = take(json)
  if (!read.whole) await copyFile(path, `${path}.unreadable`).catch(() => undefined)
  return read
}

/**
 * Writes the settings whole or not at all; a failure (a folder of that name, a full or read-only
 * disk) is an AppError('storage') naming `what` ("The engine settings") and saying nothing changed,
 * which the caller makes true by taking the new settings only after this resolves.
 */
export async function writeSettingsFile(path: string, value: unknown, what: string, mode?: number): Promise<void> {
  try {
    await writeFileAtomic(path, JSON.stringify(value, null, 1), { fsync: true, ...(mode === undefined ? {} : { mode }) })
  } catch (e) {
    throw new AppError('storage', `${what} could not be saved (${(e as Error).message}); nothing was changed.`, { cause: e })
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
