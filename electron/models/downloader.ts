// Downloads a model file with resume: bytes land in NAME.part (continued with an HTTP
// Range request after a pause, a dropped connection, a stall or an app restart), and only a
// complete file whose checksum matches is renamed to NAME. The library lists *.gguf alone,
// so nothing half-written is ever offered as a model.
//
// The server is not trusted: nothing past the expected size is written, a connection that
// goes quiet or slows to a trickle is dropped and retried, and the checksum (SHA-256, or the
// git blob SHA-1 of a file the hub keeps in git) is computed as the bytes arrive. Each
// attempt is file-transfer.ts's; this file decides which failures are tried again, and when.
//
// Hand-written on purpose: node-llama-cpp's downloader (ipull) crashed when a download was
// cancelled in our probe, and verifies no checksum; a single-file resumable GET is small.
import { formatBytes } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { FileTransfer, Retryable, type Downloaded, type RemoteFile, type TransferOptions } from './file-transfer.js'
import { partialBytes } from './partial-file.js'

export { ChecksumRefused } from './file-transfer.js'
export type { Downloaded, RemoteFile } from './file-transfer.js'
export type { Progress } from './transfer-progress.js'
export { discardPartial, partialBytes } from './partial-file.js'

export interface DownloadOptions extends TransferOptions {
  /** Attempts after a dropped connection, a stall or a server error, with doubling waits. */
  retries?: number
  backoffMs?: number
}

export async function downloadFile(file: RemoteFile, dir: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const { signal, retries = 4, backoffMs = 500 } = options
  if (file.gitBlobSha1 && file.size === undefined)
    throw new TypeError(`${file.fileName}: a git blob SHA-1 can only be checked with the file's size`)
  const transfer = await FileTransfer.open(file, dir, options)

  // Failures in a row: an attempt that stored bytes starts the count again, so a file of many
  // gigabytes over a connection that drops now and then does not run out of tries while it
  // is still getting somewhere (a stall or a trickle still ends each attempt within its bound).
  let failures = 0
  let keptBefore = await partialBytes(dir, file.fileName)
  for (;;) {
    try {
      return await transfer.attempt()
    } catch (error) {
      if (!(error instanceof Retryable) || signal?.aborted) throw error
      const kept = await partialBytes(dir, file.fileName)
      if (kept > keptBefore) failures = 0
      keptBefore = kept
      if (failures >= retries) throw new AppError('network', gaveUp(file.fileName, error, failures + 1, kept))
      transfer.retry = { attempt: failures + 1, of: retries, stalled: error.stalled, reason: error.message }
      transfer.progress({
        downloadedBytes: kept,
        totalBytes: transfer.meta?.totalBytes ?? file.size ?? null,
        bytesPerSecond: 0,
        etaSeconds: null,
      })
      await sleep(backoffMs * 2 ** failures, signal)
      failures++
    }
  }
}

function gaveUp(fileName: string, error: Retryable, attempts: number, kept: number): string {
  const keptText = kept > 0 ? `The ${formatBytes(kept)} downloaded were kept` : 'Nothing was downloaded'
  if (error.stalled)
    return `The download of ${fileName} stalled ${attempts} times in a row (${error.message}). ${keptText}; resume it when the connection is better.`
  return `The download of ${fileName} failed ${attempts} times in a row: ${error.message}. ${keptText}; it can be resumed later.`
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })
}
