// Disk facts the model manager checks before writing gigabytes.
import { mkdir, stat, statfs } from 'node:fs/promises'

/** Free bytes for this user on the disk that holds dir (created if missing). */
export async function freeSpace(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true })
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )
