// Downloads a model file with resume: bytes land in NAME.part (continued with an HTTP
// Range request after a pause, a dropped connection or an app restart), and only a complete
// file whose SHA-256 matches is renamed to NAME. The library
// lists *.gguf alone, so nothing half-written is ever offered as a model.
//
// Hand-written on purpose: node-llama-cpp's downloader (ipull) crashed when a download was
// cancelled in our probe, and verifies no checksum; a single-file resumable GET is small.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { freeSpace as diskFreeSpace } from './disk.js'

export interface RemoteFile {
  url: string
  fileName: string
  /** Expected SHA-256, hex; when absent the file's hash is reported, not checked. */
  sha256?: string
  /** Expected size in bytes, when known ahead (checked against the server's). */
  size?: number
}

export interface Progress {
  fileName: string
  downloadedBytes: number
  totalBytes: number | null
  bytesPerSecond: number
  etaSeconds: number | null
}

export interface DownloadOptions {
  signal?: AbortSignal
  onProgress?: (progress: Progress) => void
  /** Attempts after a dropped connection or a server error, with doubling waits. */
  retries?: number
  backoffMs?: number
  /** Free bytes on the target's disk; statfs by default (a seam for tests). */
  freeSpace?: (dir: string) => Promise<number>
  /** Writes a chunk at the end of the partial file (a seam for disk-full tests). */
  append?: (path: string, chunk: Uint8Array) => Promise<void>
  progressIntervalMs?: number
}

export interface Downloaded {
  path: string
  sha256: string
  bytes: number
}

interface PartMeta {
  url: string
  etag: string | null
  totalBytes: number | null
}

const partPath = (dir: string, name: string): string => join(dir, `${name}.part`)
const metaPath = (dir: string, name: string): string => join(dir, `${name}.part.json`)

export async function partialBytes(dir: string, fileName: string): Promise<number> {
  return stat(partPath(dir, fileName)).then(
    (s) => s.size,
    () => 0,
  )
}

/** Deletes what a paused or failed download left behind. */
export async function discardPartial(dir: string, fileName: string): Promise<void> {
  await rm(partPath(dir, fileName), { force: true })
  await rm(metaPath(dir, fileName), { force: true })
}

async function defaultAppend(path: string, chunk: Uint8Array): Promise<void> {
  const handle = await open(path, 'a')
  try {
    await handle.write(chunk)
  } finally {
    await handle.close()
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
}

class Retryable extends Error {}

export async function downloadFile(file: RemoteFile, dir: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const { signal, retries = 4, backoffMs = 500 } = options
  const append = options.append ?? defaultAppend
  const freeSpace = options.freeSpace ?? diskFreeSpace
  const target = join(dir, file.fileName)
  const part = partPath(dir, file.fileName)
  const metaFile = metaPath(dir, file.fileName)

  let meta: PartMeta | null = await readFile(metaFile, 'utf8').then(
    (t) => JSON.parse(t) as PartMeta,
    () => null,
  )
  // A partial file from another URL is not this download's.
  if (meta && meta.url !== file.url) {
    await discardPartial(dir, file.fileName)
    meta = null
  }

  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptDownload()
    } catch (error) {
      if (!(error instanceof Retryable) || attempt >= retries || signal?.aborted) {
        if (error instanceof Retryable) throw new AppError('model-load-failed', `The download of ${file.fileName} failed after ${attempt + 1} attempts: ${error.message}. It can be resumed later.`)
        throw error
      }
      await sleep(backoffMs * 2 ** attempt, signal)
    }
  }

  async function attemptDownload(): Promise<Downloaded> {
    const offset = await partialBytes(dir, file.fileName)
    const headers: Record<string, string> = {}
    if (offset > 0) {
      headers.range = `bytes=${offset}-`
      if (meta?.etag) headers['if-range'] = meta.etag
    }
    let response: Response
    try {
      response = await fetch(file.url, { headers, signal })
    } catch (error) {
      if (signal?.aborted) throw new AppError('busy', 'paused')
      throw new Retryable((error as Error).message)
    }
    if (response.status >= 500 || response.status === 429) throw new Retryable(`the server answered ${response.status}`)
    if (response.status === 416 && offset > 0 && meta?.totalBytes === offset) {
      // Everything was already here; only the check and rename were missing.
      return finish(offset)
    }
    if (!response.ok) throw new AppError('not-found', `The download of ${file.fileName} failed: the server answered ${response.status} ${response.statusText}.`)

    const resumed = response.status === 206
    const start = resumed ? offset : 0
    if (resumed) {
      const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '')
      if (!range || Number(range[1]) !== offset) throw new Retryable('the server resumed at the wrong byte')
    } else if (offset > 0) {
      await discardPartial(dir, file.fileName) // the server ignored the range: start over
    }
    const length = Number(response.headers.get('content-length') ?? NaN)
    const totalBytes = Number.isFinite(length) ? start + length : (file.size ?? null)
    if (file.size && totalBytes !== null && totalBytes !== file.size) {
      throw new AppError('bad-model-file', `The server offers ${file.fileName} with ${totalBytes} bytes, not the expected ${file.size}.`)
    }
    if (totalBytes !== null) {
      const free = await freeSpace(dir)
      if (free < totalBytes - start) throw new AppError('storage', `Not enough disk space for ${file.fileName}: it needs ${formatBytes(totalBytes - start)} more, ${formatBytes(free)} is free.`)
    }
    meta = { url: file.url, etag: response.headers.get('etag'), totalBytes }
    await writeFile(metaFile, JSON.stringify(meta))

    let received = start
    const startedAt = performance.now()
    let lastReport = 0
    const report = (force = false): void => {
      const now = performance.now()
      if (!force && now - lastReport < (options.progressIntervalMs ?? 250)) return
      lastReport = now
      const bytesPerSecond = (received - start) / Math.max(0.001, (now - startedAt) / 1000)
      options.onProgress?.({ fileName: file.fileName, downloadedBytes: received, totalBytes, bytesPerSecond, etaSeconds: totalBytes !== null && bytesPerSecond > 0 ? (totalBytes - received) / bytesPerSecond : null })
    }
    report(true)
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        try {
          await append(part, chunk)
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code
          throw new AppError('storage', code === 'ENOSPC' ? `The disk is full; ${formatBytes(received)} of ${file.fileName} were kept and the download can be resumed.` : `Cannot write ${file.fileName}: ${(error as Error).message}`)
        }
        received += chunk.byteLength
        report()
      }
    } catch (error) {
      if (error instanceof AppError) throw error
      if (signal?.aborted) throw new AppError('busy', 'paused')
      throw new Retryable(`the connection dropped at ${formatBytes(received)} (${(error as Error).message})`)
    }
    report(true)
    if (totalBytes !== null && received < totalBytes) throw new Retryable(`the connection closed at ${formatBytes(received)} of ${formatBytes(totalBytes)}`)
    return finish(received)
  }

  async function finish(bytes: number): Promise<Downloaded> {
    const hash = createHash('sha256')
    await hashFile(part, hash)
    const sha256 = hash.digest('hex')
    if (file.sha256 && sha256 !== file.sha256.toLowerCase()) {
      // Refused, and not kept: resuming would only rebuild the same wrong file.
      await discardPartial(dir, file.fileName)
      throw new AppError('bad-model-file', `${file.fileName} failed its checksum (expected ${file.sha256.slice(0, 12)}…, got ${sha256.slice(0, 12)}…) and was deleted. Try the download again.`)
    }
    await rename(part, target)
    await rm(metaFile, { force: true })
    return { path: target, sha256, bytes }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    }, { once: true })
  })
}
