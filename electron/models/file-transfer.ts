// One file's transfer over HTTP, attempt by attempt: bytes land in NAME.part, continued with a
// Range request (If-Range naming the version the partial holds), and only a complete file
// whose checksum matches is renamed to NAME. Which failures are tried again, and when, is
// downloader.ts's.
//
// The server is not trusted: nothing past the expected size is written, a connection that
// goes quiet or slows to a trickle is dropped (stall-watch.ts), and the checksum is computed
// as the bytes arrive (file-digest.ts).
import { createReadStream } from 'node:fs'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes, type DownloadRetry } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { freeSpace as diskFreeSpace } from './disk.js'
import { Digest } from './file-digest.js'
import { appendPart, discardPartial, metaPath, partialBytes, partPath, readMeta, type PartMeta } from './partial-file.js'
import { StallWatch, type StallLimits } from './stall-watch.js'
import { speedReport, type Progress } from './transfer-progress.js'

export interface RemoteFile {
  url: string
  fileName: string
  /** Expected SHA-256, hex. Without it or gitBlobSha1 the file's SHA-256 is reported, not checked. */
  sha256?: string
  /** Expected git blob SHA-1, hex, checked when there is no SHA-256; needs size (git hashes "blob SIZE\0" first). */
  gitBlobSha1?: string
  /** Expected size in bytes, when known ahead: checked against the server's, and nothing past it is written. */
  size?: number
  /** The checksum an earlier download of this file gave when it was refused (ChecksumRefused's `actual`). */
  refused?: string
}

/** How each attempt of a transfer behaves (downloader.ts adds how many there are). */
export interface TransferOptions {
  signal?: AbortSignal
  onProgress?: (progress: Progress) => void
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

/** The whole file's size from a 416's Content-Range ("bytes *\/SIZE"), or null. */
function wholeSize(contentRange: string | null): number | null {
  const m = /^bytes \*\/(\d+)$/.exec(contentRange?.trim() ?? '')
  return m ? Number(m[1]) : null
}

// Why a request got no answer: fetch says only "fetch failed", and keeps the reason (a refused
// connection, a host that does not resolve, a server that closed) in its cause.
function requestFailure(error: Error): string {
  return error.cause instanceof Error ? `the connection failed (${error.cause.message})` : error.message
}

/** What a download planned with an old version's size and checksum can do: no retry can finish it. */
const START_AGAIN = 'Cancel the download and start it again to get it as it is now.'

/** An entity tag without its weak marker: a CDN may weaken the origin's tag for the same bytes. */
const tagOf = (etag: string | null): string | null => etag?.replace(/^W\//, '') ?? null

/** A failure another attempt may get past: a dropped connection, a stall, a server error. */
export class Retryable extends Error {
  constructor(
    message: string,
    readonly stalled = false,
  ) {
    super(message)
  }
}

/** A whole file whose bytes failed its checksum, and were deleted; `actual` is what they gave. */
export class ChecksumRefused extends AppError {
  constructor(
    readonly actual: string,
    message: string,
  ) {
    super('bad-model-file', message)
  }
}

/** One file's transfer: what its attempts know of the partial file between them. */
export class FileTransfer {
  /** Set from a failed attempt until the next one receives data. */
  retry: DownloadRetry | null = null
  private digest: Digest | null = null
  private readonly limits: StallLimits
  private readonly gitBlobSize: number | null
  private readonly target: string
  private readonly part: string
  private readonly metaFile: string

  private constructor(
    readonly file: RemoteFile,
    readonly dir: string,
    private readonly options: TransferOptions,
    /** The record beside the partial file: which version of the file its bytes are from. */
    public meta: PartMeta | null,
  ) {
    this.limits = {
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      minBytesPerSecond: options.minBytesPerSecond ?? 1024,
      rateWindowMs: options.rateWindowMs ?? 60_000,
    }
    this.gitBlobSize = !file.sha256 && file.gitBlobSha1 ? file.size! : null
    this.target = join(dir, file.fileName)
    this.part = partPath(dir, file.fileName)
    this.metaFile = metaPath(dir, file.fileName)
  }

  static async open(file: RemoteFile, dir: string, options: TransferOptions): Promise<FileTransfer> {
    // The record beside a partial file; one cut short by a crash mid-write (writeFile is not
    // atomic) is no record, and the partial's bytes are resumed without it.
    let meta: PartMeta | null = await readFile(metaPath(dir, file.fileName), 'utf8').then(readMeta, () => null)
    // A partial file from another URL is not this download's.
    if (meta && meta.url !== file.url) {
      await discardPartial(dir, file.fileName)
      meta = null
    }
    return new FileTransfer(file, dir, options, meta)
  }

  progress(p: Omit<Progress, 'fileName' | 'retry'>): void {
    this.options.onProgress?.({ fileName: this.file.fileName, ...p, retry: this.retry })
  }

  async attempt(): Promise<Downloaded> {
    const offset = await partialBytes(this.dir, this.file.fileName)
    // Before the request, so reading a big partial file never looks like a stalled server.
    await this.digestUpTo(offset)
    const connection = new AbortController()
    const watch = new StallWatch(this.limits, () => connection.abort())
    try {
      return await this.transfer(offset, connection.signal, watch)
    } finally {
      watch.stop()
      // However the attempt ended, its connection goes: a server still sending is cut off.
      connection.abort()
    }
  }

  /** The hashes of the partial file's first `bytes` bytes: the running ones, or read from disk after a restart. */
  private async digestUpTo(bytes: number): Promise<Digest> {
    if (this.digest?.bytes === bytes) return this.digest
    const fresh = new Digest(this.gitBlobSize)
    const { signal } = this.options
    // Reading back a partial of many gigabytes takes tens of seconds: a pause or cancel meanwhile
    // stops it, rather than waiting for a hash nobody needs any more.
    try {
      if (bytes > 0) for await (const chunk of createReadStream(this.part, { end: bytes - 1, signal })) fresh.update(chunk as Buffer)
    } catch (error) {
      if (signal?.aborted) throw new AppError('busy', 'paused')
      throw error
    }
    this.digest = fresh
    return fresh
  }

  /** Deletes the partial file and its record: the next attempt starts over. */
  private async startOver(): Promise<void> {
    await discardPartial(this.dir, this.file.fileName)
    this.digest = null
    this.meta = null
  }

  private async transfer(offset: number, connection: AbortSignal, watch: StallWatch): Promise<Downloaded> {
    const { file, dir, options } = this
    const { signal } = options
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
      if (this.meta?.etag) headers['if-range'] = this.meta.etag
    } else headers['accept-encoding'] = 'identity'
    let response: Response
    try {
      response = await fetch(file.url, { headers, signal: signal ? AbortSignal.any([signal, connection]) : connection })
    } catch (error) {
      throw interrupted(requestFailure(error as Error))
    }
    if (response.status >= 500 || response.status === 429) throw new Retryable(`the server answered ${response.status}`)
    if (response.status === 416 && offset > 0) {
      // Nothing after the bytes we hold. The file's size from our record, the listing or the
      // answer's Content-Range ("bytes */SIZE"): all of it here, only the check and rename
      // were missing; more than the file holds (another version's bytes), start over.
      const size = this.meta?.totalBytes ?? file.size ?? wholeSize(response.headers.get('content-range'))
      await response.body?.cancel()
      if (size === offset) return this.finish(offset)
      await this.startOver()
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
    }
    const length = Number(response.headers.get('content-length') ?? NaN)
    // A range answer says the whole file's size; it may send less of it than asked (the rest comes in the next attempt).
    const totalBytes = rangeTotal ?? (Number.isFinite(length) ? start + length : (file.size ?? null))
    // Planned with the old version's size and checksum, a resume could only fail again, and the
    // old version's bytes are of no use to the new one.
    if (file.size && totalBytes !== null && totalBytes !== file.size) {
      await this.startOver()
      throw new AppError(
        'bad-model-file',
        `${file.fileName} on the server is ${totalBytes.toLocaleString('en')} bytes, not the ${file.size.toLocaleString('en')} listed when the download began: it has probably changed since. ${START_AGAIN}`,
      )
    }
    // Another version than the one the partial file is of (its record says which): the entity tag
    // changed (a server honouring If-Range sends the new version whole, one ignoring it resumes
    // the new version), or a range answer names another size.
    const recorded = this.meta
    const etag = tagOf(response.headers.get('etag'))
    const otherVersion =
      (recorded?.etag && etag && tagOf(recorded.etag) !== etag) ||
      (resumed && recorded?.totalBytes && rangeTotal !== null && rangeTotal !== recorded.totalBytes)
    if (otherVersion && (file.sha256 || file.gitBlobSha1)) {
      // Of the same size, it could not pass the checksum listed for the old one: downloaded whole,
      // it was refused at the end, and again on every retry. Nothing is deleted: the partial and
      // its record say the same at once on a retry, rather than after downloading the file once
      // more (and its bytes still serve if the server goes back to that version).
      throw new AppError(
        'bad-model-file',
        `${file.fileName} has changed on the server since the download began (the server now sends another version of it), so it cannot pass the checksum listed then. ${START_AGAIN}`,
      )
    }
    if (otherVersion && resumed) {
      // A server or proxy that ignores If-Range resumes a file that changed since the partial
      // was written: its bytes would be joined to the other version's. Start over instead.
      await this.startOver()
      throw new Retryable(`${file.fileName} changed on the server since the download began, so it starts over`)
    }
    if (!resumed && offset > 0) await this.startOver() // the server ignored the range: start over
    const hashes = await this.digestUpTo(start)
    // Nothing past the listed size, or past the end the server itself announced, is written.
    const limit = Math.min(totalBytes ?? Infinity, rangeEnd)
    if (totalBytes !== null) {
      const free = await (options.freeSpace ?? diskFreeSpace)(dir)
      if (free < totalBytes - start)
        throw new AppError(
          'storage',
          `Not enough disk space for ${file.fileName}: it needs ${formatBytes(totalBytes - start)} more, ${formatBytes(free)} is free.`,
        )
    }
    this.meta = { url: file.url, etag: response.headers.get('etag'), totalBytes }
    await writeFile(this.metaFile, JSON.stringify(this.meta))

    let received = start
    const report = speedReport(start, totalBytes, options.progressIntervalMs ?? 250, (p) => this.progress(p))
    report(received, true)
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        watch.received(chunk.byteLength)
        this.retry = null
        const room = limit - received
        const wanted = chunk.byteLength > room ? chunk.subarray(0, room) : chunk
        if (wanted.byteLength > 0) {
          await appendPart(dir, file.fileName, wanted, options.append).catch((error: unknown) => {
            // Part of the chunk may have been stored: the running hashes no longer match the file.
            this.digest = null
            throw error
          })
          hashes.update(wanted)
          received += wanted.byteLength
          report(received)
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
    report(received, true)
    if (totalBytes !== null && received < totalBytes)
      throw new Retryable(`the connection closed at ${formatBytes(received)} of ${formatBytes(totalBytes)}`)
    return this.finish(received)
  }

  private async finish(bytes: number): Promise<Downloaded> {
    const { file, dir } = this
    const hashes = await this.digestUpTo(bytes)
    this.digest = null
    // The checksum covers the bytes received; the file must also hold all of them and no more.
    const stored = await partialBytes(dir, file.fileName)
    if (stored !== bytes)
      throw new AppError(
        'storage',
        `${file.fileName} was not stored whole (${formatBytes(stored)} of ${formatBytes(bytes)} on disk). Check the free space, then resume the download.`,
      )
    const { sha256, mismatch } = hashes.verdict(file)
    if (mismatch) {
      // Refused, and not kept: resuming would only rebuild the same wrong file.
      await discardPartial(dir, file.fileName)
      // The same wrong bytes as a refused download before are what the server has now (one that
      // sends no entity tag, or a file that changed before the download's first byte): another
      // retry would only download them once more.
      const again = file.refused === mismatch.actual
      const sums = `${mismatch.name} expected ${mismatch.expected.slice(0, 12)}…, got ${mismatch.actual.slice(0, 12)}…`
      throw new ChecksumRefused(
        mismatch.actual,
        again
          ? `${file.fileName} failed its checksum again with the same bytes (${sums}) and was deleted: the file on the server has probably changed since the download began. ${START_AGAIN}`
          : `${file.fileName} failed its checksum (${sums}) and was deleted. Try the download again.`,
      )
    }
    await rename(this.part, this.target)
    await rm(this.metaFile, { force: true })
    return { path: this.target, sha256, bytes }
  }
}
