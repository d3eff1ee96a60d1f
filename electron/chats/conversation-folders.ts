// Conversation folders come and go atomically: a new conversation is built in a temporary
// folder and renamed into place, a deleted one is renamed to a trash name before it is removed,
// so a crash leaves either the whole conversation or none of it (plus a leftover that the next
// start removes).
import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError } from '../ipc/errors.js'
import { reasonOf, storageError, syncDirectory } from './disk.js'

/** A conversation being created: renamed to its id once complete. */
const BUILDING = '.tmp-'
/** A conversation being deleted: already gone from the list, its files not yet removed. */
const TRASH = '.trash-'

/** Makes conversation `id`'s folder, with its images/ folder and what `fill` writes into it: all of it, or none. */
export async function createFolder(root: string, id: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const building = join(root, `${BUILDING}${randomUUID()}`)
  try {
    await mkdir(join(building, 'images'), { recursive: true })
    await fill(building)
    await rename(building, join(root, id))
    await syncDirectory(root)
  } catch (error) {
    await rm(building, { recursive: true, force: true })
    throw storageError(error)
  }
}

/**
 * Renames conversation `id`'s folder out of the way, first: from then on the conversation is
 * gone, whether or not removing its files (removeFolder) finishes. Returns where it went.
 */
export async function trashFolder(root: string, id: string): Promise<string> {
  const trash = join(root, `${TRASH}${randomUUID()}`)
  try {
    await rename(join(root, id), trash)
    await syncDirectory(root)
  } catch (error) {
    throw new AppError('storage', `The conversation could not be deleted: ${reasonOf(error)}.`, { cause: error })
  }
  return trash
}

/** A create or delete cut short by a crash: the conversation was never there, or is already gone. Never listed. */
export function isLeftover(folderName: string): boolean {
  return folderName.startsWith(BUILDING) || folderName.startsWith(TRASH)
}

/** Removes a folder and all in it; one that cannot be removed now is a leftover the next start tries again. */
export async function removeFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined)
}
