// file:// image URLs, when the user allows them: the bytes of one local image file, read
// with a bound. Reading whatever the URL named had three holes: file:///dev/zero (or any
// endless device or pipe) was read until the app's main process ran out of memory; on
// Windows file://host/share/x.png is a UNC path, which opens an SMB connection to that host
// and hands it the user's NTLM hash; and each way a read failed had its own message, so a
// caller could learn which files exist.
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export type FileImageRead =
  | { ok: true; bytes: Uint8Array }
  /** remote: the URL names a host (a network share); unreadable: anything else, on purpose one answer for all. */
  | { ok: false; reason: 'remote' | 'unreadable' }

// A FIFO opened for reading blocks until a writer comes, holding one of libuv's few threads;
// non-blocking, it opens at once and fstat turns it away. Windows has no such flag.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/**
 * The file a file:// URL names, when it is a regular file of 1 to maxBytes bytes on this
 * computer. At most the size fstat reported is read, so a file that grows meanwhile cannot
 * make the read unbounded.
 */
export async function readFileImage(url: string, maxBytes: number): Promise<FileImageRead> {
  let path: string
  try {
    // The URL parser turns file://localhost/ into an empty host; any other host is a network path.
    if (new URL(url).hostname !== '') return { ok: false, reason: 'remote' }
    path = fileURLToPath(url)
  } catch {
    // Not a URL, or a path fileURLToPath refuses (an encoded slash, a relative Windows path).
    return { ok: false, reason: 'unreadable' }
  }
  const unreadable: FileImageRead = { ok: false, reason: 'unreadable' }
  const file = await open(path, OPEN_FLAGS).catch(() => null)
  if (!file) return unreadable
  try {
    const stat = await file.stat()
    if (!stat.isFile() || stat.size === 0 || stat.size > maxBytes) return unreadable
    const bytes = new Uint8Array(stat.size)
    let filled = 0
    while (filled < bytes.length) {
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    // A file that shrank meanwhile gives what it still held.
    return filled === 0 ? unreadable : { ok: true, bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled) }
  } catch {
    return unreadable
  } finally {
    await file.close().catch(() => undefined)
  }
}
