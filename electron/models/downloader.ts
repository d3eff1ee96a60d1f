// Downloads a model file with resume: bytes land in NAME.part (continued with an HTTP
// Range request after a pause, a dropped connection, a stall or an app restart), and only a
// complete file whose checksum matches is renamed to NAME. The library lists *.gguf alone,
// so nothing half-written is ever offered as a model.
//
// The server is not trusted: nothing past the expected size is written, a connection that
// goes quiet or slows to a trickle is dropped and retried, and the checksum (SHA-256, or the
// git blob SHA-1 of a file the hub keeps in git) is computed as the bytes arrive.
//
// Hand-written on purpose: node-llama-cpp's downloader (ipull) crashed when a download was
// cancelled in our probe, and verifies no checksum; a single-file resumable GET is small.
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { appendFile, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes, type DownloadRetry } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { freeSpace as diskFreeSpace } from './disk.js'

export interface RemoteFile {
  url: string
  fileName: string
  /** Expected SHA-256, hex. Without it or gitBlobSha1 the file's SHA-256 is reported, not checked. */
  sha256?: string
  /** Expected git blob SHA-1, hex, checked when there is no SHA-256; needs size (git hashes "blob SIZE\0" first). */
  gitBlobSha1?: string
  /** Expected size in bytes, when known ahead: checked against the server's, and nothing past it is written. */
  size?: number
}

export interface Progress {
  fileName: string
  downloadedBytes: number
  totalBytes: number | null
  bytesPerSecond: number
  etaSeconds: number | null
  /** Set from a failed attempt until the next one receives data. */
  retry: DownloadRetry | null
}

export interface DownloadOptions {
  signal?: AbortSignal
  onProgress?: (progress: Progress) => void
  /** Attempts after a dropped connection, a stall or a server error, with doubling waits. */
  retries?: number
  backoffMs?: number
  /** No byte (headers included) for this long is a stall: the attempt is dropped and retried. */
  stallTimeoutMs?: number
  /** Fewer bytes a second than this, averaged over rateWindowMs, is a stall too (a trickle). */
  minBytesPerSecond?: number
  rateWindowMs?: number
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

function readMeta(text: string): PartMeta | null {
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

/** The whole file's size from a 416's Content-Range ("bytes *\/SIZE"), or null. */
function wholeSize(contentRange: string | null): number | null {
  const m = /^bytes \*\/(\d+)$/.exec(contentRange?.trim() ?? '')
  return m ? Number(m[1]) : null
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

/** An entity tag without its weak marker: a CDN may weaken the origin's tag for the same bytes. */
const tagOf = (etag: string | null): string | null => etag?.replace(/^W\//, '') ?? null

class Retryable extends Error {
  constructor(
    message: string,
    readonly stalled = false,
  ) {
    super(message)
  }
}

/** The hashes of the partial file, fed as its bytes land, so a finished file needs no second read. */
class Digest {
  readonly sha256 = createHash('sha256')
  readonly gitBlob: Hash | null
  bytes = 0

  constructor(gitBlobSize: number | null) {
    // Git's blob id is the SHA-1 of a header naming the size, then the content.
    this.gitBlob = gitBlobSize === null ? null : createHash('sha1').update(`blob ${gitBlobSize}\0`)
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk)
    this.gitBlob?.update(chunk)
    this.bytes += chunk.byteLength
  }
}

interface StallLimits {
  stallTimeoutMs: number
  minBytesPerSecond: number
  rateWindowMs: number
}

const duration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`)

/** Watches one attempt; on a stall it says why and calls onStall, which drops the connection. */
class StallWatch {
  stall: string | null = null
  private bytes = 0
  private lastByteAt = performance.now()
  private readonly samples = [{ at: this.lastByteAt, bytes: 0 }]
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly limits: StallLimits,
    onStall: () => void,
  ) {
    const every = Math.max(10, Math.min(1000, limits.stallTimeoutMs / 4, limits.rateWindowMs / 4))
    this.timer = setInterval(() => {
      this.stall = this.check(performance.now())
      if (!this.stall) return
      this.stop()
      onStall()
    }, every)
  }

  received(bytes: number): void {
    this.bytes += bytes
    this.lastByteAt = performance.now()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private check(now: number): string | null {
    const { stallTimeoutMs, minBytesPerSecond, rateWindowMs } = this.limits
    if (now - this.lastByteAt >= stallTimeoutMs) return `no data for ${duration(stallTimeoutMs)}`
    this.samples.push({ at: now, bytes: this.bytes })
    // Keep the newest sample at least a window old: the rate since it is the window's average.
    while (this.samples.length > 1 && this.samples[1]!.at <= now - rateWindowMs) this.samples.shift()
    const from = this.samples[0]!
    const elapsed = now - from.at
    if (elapsed >= rateWindowMs && ((this.bytes - from.bytes) * 1000) / elapsed < minBytesPerSecond) {
      return `under ${formatBytes(minBytesPerSecond)}/s for ${duration(rateWindowMs)}`
    }
    return null
  }
}

export async function downloadFile(file: RemoteFile, dir: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const { signal, retries = 4, backoffMs = 500 } = options
  const limits: StallLimits = {
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    minBytesPerSecond: options.minBytesPerSecond ?? 1024,
    rateWindowMs: options.rateWindowMs ?? 60_000,
  }
  const append = options.append ?? defaultAppend
  const freeSpace = options.freeSpace ?? diskFreeSpace
  const target = join(dir, file.fileName)
  const part = partPath(dir, file.fileName)
  const metaFile = metaPath(dir, file.fileName)
  if (file.gitBlobSha1 && file.size === undefined)
    throw new TypeError(`${file.fileName}: a git blob SHA-1 can only be checked with the file's size`)
  const gitBlobSize = !file.sha256 && file.gitBlobSha1 ? file.size! : null

  // The record beside a partial file; one cut short by a crash mid-write (writeFile is not
  // atomic) is no record, and the partial's bytes are resumed without it.
  let meta: PartMeta | null = await readFile(metaFile, 'utf8').then(readMeta, () => null)
  // A partial file from another URL is not this download's.
  if (meta && meta.url !== file.url) {
    await discardPartial(dir, file.fileName)
    meta = null
  }
  let digest: Digest | null = null
  let retry: DownloadRetry | null = null
  const progress = (p: Omit<Progress, 'fileName' | 'retry'>): void => options.onProgress?.({ fileName: file.fileName, ...p, retry })

  // Failures in a row: an attempt that stored bytes starts the count again, so a file of many
  // gigabytes over a connection that drops now and then does not run out of tries while it
  // is still getting somewhere (a stall or a trickle still ends each attempt within its bound).
  let failures = 0
  let keptBefore = await partialBytes(dir, file.fileName)
  for (;;) {
    try {
      return await attemptDownload()
    } catch (error) {
      if (!(error instanceof Retryable) || signal?.aborted) throw error
      const kept = await partialBytes(dir, file.fileName)
      if (kept > keptBefore) failures = 0
      keptBefore = kept
      if (failures >= retries) throw new AppError('network', gaveUp(error, failures + 1, kept))
      retry = { attempt: failures + 1, of: retries, stalled: error.stalled, reason: error.message }
      progress({ downloadedBytes: kept, totalBytes: meta?.totalBytes ?? file.size ?? null, bytesPerSecond: 0, etaSeconds: null })
      await sleep(backoffMs * 2 ** failures, signal)
      failures++
    }
  }

  function gaveUp(error: Retryable, attempts: number, kept: number): string {
    const keptText = kept > 0 ? `The ${formatBytes(kept)} downloaded were kept` : 'Nothing was downloaded'
    if (error.stalled)
      return `The download of ${file.fileName} stalled ${attempts} times in a row (${error.message}). ${keptText}; resume it when the connection is better.`
    return `The download of ${file.fileName} failed ${attempts} times in a row: ${error.message}. ${keptText}; it can be resumed later.`
  }

  /** The hashes of the partial file's first `bytes` bytes: the running ones, or read from disk after a restart. */
  async function digestUpTo(bytes: number): Promise<Digest> {
    if (digest?.bytes === bytes) return digest
    const fresh = new Digest(gitBlobSize)
    if (bytes > 0) for await (const chunk of createReadStream(part, { end: bytes - 1 })) fresh.update(chunk as Buffer)
    digest = fresh
    return fresh
  }

  async function attemptDownload(): Promise<Downloaded> {
    const offset = await partialBytes(dir, file.fileName)
    // Before the request, so reading a big partial file never looks like a stalled server.
    await digestUpTo(offset)
    const connection = new AbortController()
    const watch = new StallWatch(limits, () => connection.abort())
    try {
      return await transfer(offset, connection.signal, watch)
    } finally {
      watch.stop()
      // However the attempt ended, its connection goes: a server still sending is cut off.
      connection.abort()
    }
  }

  async function transfer(offset: number, connection: AbortSignal, watch: StallWatch): Promise<Downloaded> {
    const interrupted = (what: string): Error => {
      if (signal?.aborted) return new AppError('busy', 'paused')
      if (watch.stall) return new Retryable(watch.stall, true)
      return new Retryable(what)
    }
    // The bytes as stored: a compressed answer's Content-Length is not the file's size, and fetch
    // would unpack it, so a file sent gzipped failed its size check and could not be resumed.
    // (fetch asks for them itself with a Range header, as the Fetch standard says.)
    const headers: Record<string, string> = {}
    if (offset > 0) {
      headers.range = `bytes=${offset}-`
      if (meta?.etag) headers['if-range'] = meta.etag
    } else headers['accept-encoding'] = 'identity'
    let response: Response
    try {
      response = await fetch(file.url, { headers, signal: signal ? AbortSignal.any([signal, connection]) : connection })
    } catch (error) {
      throw interrupted((error as Error).message)
    }
    if (response.status >= 500 || response.status === 429) throw new Retryable(`the server answered ${response.status}`)
    if (response.status === 416 && offset > 0) {
      // Nothing after the bytes we hold. The file's size from our record, the listing or the
      // answer's Content-Range ("bytes */SIZE"): all of it here, only the check and rename
      // were missing; more than the file holds (another version's bytes), start over.
      const size = meta?.totalBytes ?? file.size ?? wholeSize(response.headers.get('content-range'))
      await response.body?.cancel()
      if (size === offset) return finish(offset)
      await discardPartial(dir, file.fileName)
      digest = null
      meta = null
      throw new Retryable(`the partial download of ${file.fileName} is longer than the file on the server, so it starts over`)
    }
    if (!response.ok)
      throw new AppError(
        'not-found',
        `The download of ${file.fileName} failed: the server answered ${response.status} ${response.statusText}.`,
      )

    const resumed = response.status === 206
    const start = resumed ? offset : 0
    let rangeEnd = Infinity
    let rangeTotal: number | null = null
    if (resumed) {
      const range = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '')
      if (!range || Number(range[1]) !== offset) throw new Retryable('the server resumed at the wrong byte')
      rangeEnd = Number(range[2]) + 1
      rangeTotal = range[3] === '*' ? null : Number(range[3])
      // A server or proxy that ignores If-Range resumes a file that changed since the partial
      // was written: its bytes would be joined to the other version's. Start over instead.
      const etag = tagOf(response.headers.get('etag'))
      const changed =
        (meta?.etag && etag && tagOf(meta.etag) !== etag) || (meta?.totalBytes && rangeTotal !== null && rangeTotal !== meta.totalBytes)
      if (changed) {
        await discardPartial(dir, file.fileName)
        digest = null
        meta = null
        throw new Retryable(`${file.fileName} changed on the server since the download began, so it starts over`)
      }
    } else if (offset > 0) {
      await discardPartial(dir, file.fileName) // the server ignored the range: start over
    }
    const hashes = await digestUpTo(start)
    const length = Number(response.headers.get('content-length') ?? NaN)
    // A range answer says the whole file's size; it may send less of it than asked (the rest comes in the next attempt).
    const totalBytes = rangeTotal ?? (Number.isFinite(length) ? start + length : (file.size ?? null))
    if (file.size && totalBytes !== null && totalBytes !== file.size) {
      throw new AppError('bad-model-file', `The server offers ${file.fileName} with ${totalBytes} bytes, not the expected ${file.size}.`)
    }
    // Nothing past the listed size, or past the end the server itself announced, is written.
    const limit = Math.min(totalBytes ?? Infinity, rangeEnd)
    if (totalBytes !== null) {
      const free = await freeSpace(dir)
      if (free < totalBytes - start)
        throw new AppError(
          'storage',
          `Not enough disk space for ${file.fileName}: it needs ${formatBytes(totalBytes - start)} more, ${formatBytes(free)} is free.`,
        )
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
      progress({
        downloadedBytes: received,
        totalBytes,
        bytesPerSecond,
        etaSeconds: totalBytes !== null && bytesPerSecond > 0 ? (totalBytes - received) / bytesPerSecond : null,
      })
    }
    report(true)
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        watch.received(chunk.byteLength)
        retry = null
        const room = limit - received
        const wanted = chunk.byteLength > room ? chunk.subarray(0, room) : chunk
        if (wanted.byteLength > 0) {
          try {
            await append(part, wanted)
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code
            // Part of the chunk may have been stored before the error: what the file holds is what was kept.
            digest = null
            const kept = await partialBytes(dir, file.fileName)
            throw new AppError(
              'storage',
              code === 'ENOSPC'
                ? `The disk is full; ${formatBytes(kept)} of ${file.fileName} were kept and the download can be resumed.`
                : `Cannot write ${file.fileName}: ${(error as Error).message}`,
            )
          }
          hashes.update(wanted)
          received += wanted.byteLength
          report()
        }
        if (chunk.byteLength > room) {
          const which = limit === file.size ? 'listed for it' : 'the server announced'
          throw new AppError(
            'bad-model-file',
            `The server kept sending ${file.fileName} past the ${limit.toLocaleString('en')} bytes ${which}, so the download was stopped; nothing past that size was kept.`,
          )
        }
      }
    } catch (error) {
      if (error instanceof AppError) throw error
      throw interrupted(`the connection dropped at ${formatBytes(received)} (${(error as Error).message})`)
    }
    report(true)
    if (totalBytes !== null && received < totalBytes)
      throw new Retryable(`the connection closed at ${formatBytes(received)} of ${formatBytes(totalBytes)}`)
    return finish(received)
  }

  async function finish(bytes: number): Promise<Downloaded> {
    const hashes = await digestUpTo(bytes)
    digest = null
    // The checksum covers the bytes received; the file must also hold all of them and no more.
    const stored = await partialBytes(dir, file.fileName)
    if (stored !== bytes)
      throw new AppError(
        'storage',
        `${file.fileName} was not stored whole (${formatBytes(stored)} of ${formatBytes(bytes)} on disk). Check the free space, then resume the download.`,
      )
    const sha256 = hashes.sha256.digest('hex')
    const check = file.sha256
      ? { name: 'SHA-256', expected: file.sha256, actual: sha256 }
      : file.gitBlobSha1
        ? { name: 'git blob SHA-1', expected: file.gitBlobSha1, actual: hashes.gitBlob!.digest('hex') }
        : null
    if (check && check.actual !== check.expected.toLowerCase()) {
      // Refused, and not kept: resuming would only rebuild the same wrong file.
      await discardPartial(dir, file.fileName)
      throw new AppError(
        'bad-model-file',
        `${file.fileName} failed its checksum (${check.name} expected ${check.expected.slice(0, 12)}…, got ${check.actual.slice(0, 12)}…) and was deleted. Try the download again.`,
      )
    }
    await rename(part, target)
    await rm(metaFile, { force: true })
    return { path: target, sha256, bytes }
  }
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
