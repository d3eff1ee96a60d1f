// What every part of the chat store needs from the disk: a folder's fsync (a rename or a new
// file is durable only once the folder that names it is synced), and a failed write said in
// words the user can act on.
import { open } from 'node:fs/promises'
import { AppError } from '../ipc/errors.js'

const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission was denied',
  EPERM: 'permission was denied',
  EROFS: 'the data folder is on a read-only disk',
  EIO: 'the disk reported a read or write error',
}

export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error))
}

export function storageError(error: unknown, what = 'The conversation could not be saved'): AppError {
  return new AppError('storage', `${what}: ${reasonOf(error)}. Nothing already saved was lost.`, {
    cause: error,
  })
}

export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
