// Reading a settings file the app rewrites on its next change. A file that is not JSON, or that
// its reader could take only in part (one mistyped value, an entry a newer version wrote), is
// copied aside first: the next save would otherwise overwrite what the user had, with no way back.
import { copyFile, readFile } from 'node:fs/promises'

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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
