// What a download in progress keeps beside its target: NAME.part, the bytes so far, and
// NAME.part.json, the record of which version of which URL they are (its entity tag and size),
// so a resume asks for the same bytes and a partial from elsewhere is not joined to them.
import { appendFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'

export interface PartMeta {
  url: string
  etag: string | null
  totalBytes: number | null
}

export const partPath = (dir: string, name: string): string => join(dir, `${name}.part`)
export const metaPath = (dir: string, name: string): string => join(dir, `${name}.part.json`)

export async function partialBytes(dir: string, fileName: string): Promise<number> {
  return stat(partPath(dir, fileName)).then(
    (s) => s.size,
    () => 0,
  )
}

export function readMeta(text: string): PartMeta | null {
  try {
    const value = JSON.parse(text) as Partial<PartMeta> | null
    if (typeof value?.url !== 'string') return null
    return {
      url: value.url,
      etag: typeof value.etag === 'string' ? value.etag : null,
      totalBytes: typeof value.totalBytes === 'number' ? value.totalBytes : null,
    }
  } catch {
    return null
  }
}

/** Deletes what a paused or failed download left behind. */
export async function discardPartial(dir: string, fileName: string): Promise<void> {
  await rm(partPath(dir, fileName), { force: true })
  await rm(metaPath(dir, fileName), { force: true })
}

// appendFile writes until every byte is stored: one write() call may store fewer bytes than it
// was given without an error (a disk that fills up mid-chunk), and a file short by those bytes
// was installed as a finished model whose checksum, taken from the bytes received, passed.
const defaultAppend = (path: string, chunk: Uint8Array): Promise<void> => appendFile(path, chunk)

/** Adds a chunk to the partial file; a failed write says what was kept (a full disk keeps its bytes, to resume). */
export async function appendPart(
  dir: string,
  fileName: string,
  chunk: Uint8Array,
  append: (path: string, chunk: Uint8Array) => Promise<void> = defaultAppend,
): Promise<void> {
  try {
    await append(partPath(dir, fileName), chunk)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // Part of the chunk may have been stored before the error: what the file holds is what was kept.
    const kept = await partialBytes(dir, fileName)
    throw new AppError(
      'storage',
      code === 'ENOSPC'
        ? `The disk is full; ${formatBytes(kept)} of ${fileName} were kept and the download can be resumed.`
        : `Cannot write ${fileName}: ${(error as Error).message}`,
    )
  }
}
