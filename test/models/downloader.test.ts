import { execFileSync, fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { appendFile, mkdir, readdir, readFile, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ChecksumRefused, discardPartial, downloadFile, partialBytes, type Progress } from '../../electron/models/downloader.js'
import { AppError } from '../../electron/ipc/errors.js'
import type { DownloadRetry } from '../../electron/ipc/contract.js'
import { scratchDir } from '../support/engine.js'
import { makeContent, startFileServer, type FileServer } from './file-server.js'
import { gitBlobSha1 } from './hub-server.js'

/** Why a real full disk cannot be made here (mounting a small tmpfs needs root), or null. */
async function tmpfsSkipReason(): Promise<string | null> {
  const probe = await scratchDir()
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return null
  } catch {
    return 'mounting a small tmpfs, to fill a real disk, needs root'
  }
}
const tmpfsSkip = await tmpfsSkipReason()
if (tmpfsSkip) console.warn(`[real disk-full test skipped] ${tmpfsSkip}`)

const MB = 1024 * 1024
const { body, sha256 } = makeContent(3 * MB)
let server: FileServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

/** Pauses a download once more than `bytes` are on disk; resolves with the bytes kept. */
async function pauseAfter(url: string, dir: string, bytes: number): Promise<number> {
  const controller = new AbortController()
  await expectAppError(
    downloadFile({ url, fileName: 'm.gguf' }, dir, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => p.downloadedBytes > bytes && controller.abort(),
    }),
    'busy',
    /paused/,
  )
  return partialBytes(dir, 'm.gguf')
}

async function expectAppError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  expect((error as AppError).code).toBe(code)
  expect((error as AppError).message).toMatch(message)
}

describe('model downloads', () => {
  it('downloads, verifies the checksum, reports progress, and leaves only the finished file', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024 })
    const dir = await scratchDir()
    const progress: Progress[] = []
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
      onProgress: (p) => progress.push(p),
      progressIntervalMs: 0,
    })
    expect(done).toEqual({ path: join(dir, 'm.gguf'), sha256, bytes: body.length })
    expect((await readFile(done.path)).equals(body)).toBe(true)
    expect(await readdir(dir)).toEqual(['m.gguf'])
    expect(progress.length).toBeGreaterThan(5)
    expect(progress.at(-1)).toMatchObject({ downloadedBytes: body.length, totalBytes: body.length })
    expect(progress.every((p, i) => i === 0 || p.downloadedBytes >= progress[i - 1]!.downloadedBytes)).toBe(true)
    expect(progress.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== null)).toBe(true)
  })

  it('pauses (keeping the partial file) and resumes from the last byte', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 128 * 1024 })
    const dir = await scratchDir()
    const controller = new AbortController()
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, {
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: (p) => p.downloadedBytes > MB && controller.abort(),
      }),
      'busy',
      /paused/,
    )
    const kept = await partialBytes(dir, 'm.gguf')
    expect(kept).toBeGreaterThan(MB)
    expect(kept).toBeLessThan(body.length)
    expect(await readdir(dir)).not.toContain('m.gguf')
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir)
    expect(done.sha256).toBe(sha256)
    expect(server.requests.at(-1)).toBe(`bytes=${kept}-`)
  })

  it('resumes after the downloading process is killed, from the last byte written', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 64 * 1024 })
    const dir = await scratchDir()
    const child = fork(fileURLToPath(new URL('./download-child.ts', import.meta.url)), [server.url('m.gguf'), dir, 'm.gguf'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    await new Promise((r) => child.once('message', r))
    await new Promise((r) => setTimeout(r, 300))
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const kept = await partialBytes(dir, 'm.gguf')
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(body.length)
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir)
    expect(done.sha256).toBe(sha256)
    expect(server.requests.at(-1)).toBe(`bytes=${kept}-`)
  })

  it('resumes a partial whose record a crash cut short (an empty or broken .part.json), from its bytes', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 64 * 1024 })
    for (const record of ['', '{"url":', 'null']) {
      const dir = await scratchDir()
      const kept = await pauseAfter(server.url('m.gguf'), dir, MB / 2)
      await writeFile(join(dir, 'm.gguf.part.json'), record)
      server.options.bytesPerTick = undefined
      const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir)
      server.options.bytesPerTick = 64 * 1024
      expect(done.sha256).toBe(sha256)
      expect(server.requests.at(-1)).toBe(`bytes=${kept}-`)
      expect(await readdir(dir)).toEqual(['m.gguf'])
    }
  })

  it('without its record, finishes a partial that holds the whole file (416), and starts over one longer than the file', async () => {
    server = await startFileServer({ 'm.gguf': body })
    const whole = await scratchDir()
    await writeFile(join(whole, 'm.gguf.part'), body)
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, whole, { backoffMs: 10 })
    expect(done.sha256).toBe(sha256)
    expect(server.requests).toEqual([`bytes=${body.length}-`])

    const longer = await scratchDir()
    await writeFile(join(longer, 'm.gguf.part'), Buffer.concat([body, Buffer.alloc(100, 1)]))
    const again = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, longer, { backoffMs: 10 })
    expect(again.sha256).toBe(sha256)
    expect(server.requests.slice(1)).toEqual([`bytes=${body.length + 100}-`, 'none'])
    expect(await readdir(longer)).toEqual(['m.gguf'])
  })

  it('retries with backoff when the connection drops mid-file, continuing where it stopped', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 128 * 1024, dropAfter: { bytes: MB, times: 2 } })
    const dir = await scratchDir()
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, { backoffMs: 10 })
    expect(done.sha256).toBe(sha256)
    // Each retry asks for the bytes after the ones already on disk.
    const offsets = server.requests.map((r) => (r === 'none' ? 0 : Number(/^bytes=(\d+)-$/.exec(r)![1])))
    expect(offsets).toHaveLength(3)
    expect(offsets[0]).toBe(0)
    expect(offsets[1]).toBeGreaterThan(MB / 2)
    expect(offsets[2]).toBeGreaterThan(offsets[1]! + MB / 2)
  })

  it('retries server errors, and gives up with a clear error after the last attempt', async () => {
    server = await startFileServer({ 'm.gguf': body }, { failWith: [500, 503] })
    const dir = await scratchDir()
    expect((await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, { backoffMs: 10 })).sha256).toBe(sha256)
    await server.close()
    server = await startFileServer({ 'n.gguf': body }, { failWith: [500, 500, 500, 500] })
    await expectAppError(
      downloadFile({ url: server.url('n.gguf'), fileName: 'n.gguf' }, dir, { retries: 3, backoffMs: 10 }),
      'network',
      /^The download of n\.gguf failed 4 times in a row: the server answered 500\. Nothing was downloaded; it can be resumed later\.$/,
    )
  })

  it('says why a request failed (a refused connection), not only that fetch failed', async () => {
    server = await startFileServer({ 'm.gguf': body })
    const url = server.url('m.gguf')
    await server.close()
    server = null
    const reasons: (string | undefined)[] = []
    await expectAppError(
      downloadFile({ url, fileName: 'm.gguf' }, await scratchDir(), {
        retries: 1,
        backoffMs: 10,
        onProgress: (p) => reasons.push(p.retry?.reason),
      }),
      'network',
      /^The download of m\.gguf failed 2 times in a row: the connection failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)\. Nothing was downloaded; it can be resumed later\.$/,
    )
    expect(reasons).toEqual([expect.stringMatching(/^the connection failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/)])
  })

  it('reports a missing file (404) at once, without retrying', async () => {
    server = await startFileServer({})
    await expectAppError(
      downloadFile({ url: server.url('gone.gguf'), fileName: 'gone.gguf' }, await scratchDir(), { backoffMs: 10 }),
      'not-found',
      /server answered 404/,
    )
    expect(server.requests).toHaveLength(1)
  })

  it('refuses and deletes a file with the wrong checksum; nothing is offered as a model', async () => {
    server = await startFileServer({ 'm.gguf': body })
    const dir = await scratchDir()
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256: 'f'.repeat(64) }, dir),
      'bad-model-file',
      /failed its checksum \(SHA-256 expected ffffffffffff…, got [0-9a-f]{12}…\) and was deleted/,
    )
    expect(await readdir(dir)).toEqual([])
  })

  it('starts over when the server ignores the range', async () => {
    server = await startFileServer({ 'm.gguf': body }, { ranges: false, dropAfter: { bytes: MB, times: 1 } })
    const dir = await scratchDir()
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, { backoffMs: 10 })
    expect(done.sha256).toBe(sha256)
    expect((await stat(done.path)).size).toBe(body.length)
  })

  it('asks for the bytes as stored: a compressed answer could not be checked against the file size', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024, dropAfter: { bytes: MB, times: 1 } })
    const dir = await scratchDir()
    await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, { backoffMs: 10 })
    // The first request and the resume after the drop.
    expect(server.requests).toEqual(['none', expect.stringMatching(/^bytes=[1-9]\d*-$/)])
    expect(server.encodings).toEqual(['identity', 'identity'])
  })

  it('finishes a file whose server answers each range with less than asked, taking the size from Content-Range', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024, rangeLimit: MB / 2, dropAfter: { bytes: MB, times: 1 } })
    const dir = await scratchDir()
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
      backoffMs: 10,
      retries: 8,
    })
    expect(done.sha256).toBe(sha256)
    // After the drop, ranges that each begin where the half megabyte before them ended.
    expect(server.requests[0]).toBe('none')
    const starts = server.requests.slice(1).map((r) => Number(/^bytes=(\d+)-$/.exec(r)?.[1] ?? NaN))
    expect(starts.length).toBeGreaterThanOrEqual(3)
    expect(starts.slice(1).map((start, i) => start - starts[i]!)).toEqual(starts.slice(1).map(() => MB / 2))
  })

  it('starts over when the file changed on the server and the resume ignored If-Range: two versions are never joined', async () => {
    const files = { 'm.gguf': body }
    server = await startFileServer(files, { bytesPerTick: 128 * 1024 })
    const dir = await scratchDir()
    expect(await pauseAfter(server.url('m.gguf'), dir, MB)).toBeGreaterThan(MB)
    const changed = makeContent(body.length, 2)
    files['m.gguf'] = changed.body
    server.options.etag = '"v2"'
    server.options.bytesPerTick = undefined
    // No checksum to catch it: the bytes alone must be the new version's.
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, { backoffMs: 10 })
    expect(done.sha256).toBe(changed.sha256)
    expect((await readFile(done.path)).equals(changed.body)).toBe(true)
    expect(server.requests.slice(-2)).toEqual([expect.stringMatching(/^bytes=\d+-$/), 'none'])
  })

  it('says a file whose size changed on the server since the download began is to be started again', async () => {
    const files = { 'm.gguf': body }
    server = await startFileServer(files, { bytesPerTick: 128 * 1024 })
    const dir = await scratchDir()
    expect(await pauseAfter(server.url('m.gguf'), dir, MB)).toBeGreaterThan(MB)
    files['m.gguf'] = makeContent(body.length + 1000, 2).body
    server.options.etag = '"v2"'
    server.options.bytesPerTick = undefined
    // Resuming cannot help: the size and checksum it was listed with are the old version's.
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, { backoffMs: 10 }),
      'bad-model-file',
      /^m\.gguf on the server is 3,146,728 bytes, not the 3,145,728 listed when the download began: it has probably changed since\. Cancel the download and start it again to get it as it is now\.$/,
    )
    // The old version's bytes are of no use to the new one.
    expect(await readdir(dir)).toEqual([])
  })

  it.each([
    ['honours If-Range, sending the new version whole', true],
    ['ignores If-Range, resuming the new version', false],
  ])(
    'says a file that changed on the server keeping its size is to be started again, at once and on every retry (a server that %s)',
    async (_, ifRange) => {
      const files = { 'm.gguf': body }
      server = await startFileServer(files, { bytesPerTick: 128 * 1024, ifRange })
      const dir = await scratchDir()
      const kept = await pauseAfter(server.url('m.gguf'), dir, MB)
      expect(kept).toBeGreaterThan(MB)
      files['m.gguf'] = makeContent(body.length, 2).body
      server.options.etag = '"v2"'
      server.options.bytesPerTick = undefined
      // Downloaded whole, the new version could only fail the checksum the download was planned
      // with, and a retry would download it again to fail again: both are said before a byte is stored.
      const file = { url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }
      for (let retry = 0; retry < 2; retry++) {
        const requests = server.requests.length
        await expectAppError(
          downloadFile(file, dir, { backoffMs: 10 }),
          'bad-model-file',
          /^m\.gguf has changed on the server since the download began \(the server now sends another version of it\), so it cannot pass the checksum listed then\. Cancel the download and start it again to get it as it is now\.$/,
        )
        expect(server.requests.slice(requests)).toEqual([`bytes=${kept}-`])
        expect(await partialBytes(dir, 'm.gguf')).toBe(kept)
      }
    },
  )

  it('says the file changed on the server when a whole new download gives the same wrong bytes as the one refused before', async () => {
    // No entity tag tells the versions apart: the file changed before the download began, or the server sends none.
    const other = makeContent(body.length, 3)
    server = await startFileServer({ 'm.gguf': other.body })
    const dir = await scratchDir()
    const file = { url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }
    const first = await downloadFile(file, dir).catch((e: unknown) => e)
    expect(first).toBeInstanceOf(ChecksumRefused)
    expect((first as ChecksumRefused).actual).toBe(other.sha256)
    expect((first as ChecksumRefused).message).toMatch(
      /failed its checksum \(SHA-256 expected [0-9a-f]{12}…, got [0-9a-f]{12}…\) and was deleted\. Try the download again\.$/,
    )
    // A retry that brings other wrong bytes (a damaged transfer) may still be tried again.
    await expectAppError(
      downloadFile({ ...file, refused: 'e'.repeat(64) }, dir),
      'bad-model-file',
      /and was deleted\. Try the download again\.$/,
    )
    await expectAppError(
      downloadFile({ ...file, refused: other.sha256 }, dir),
      'bad-model-file',
      /^m\.gguf failed its checksum again with the same bytes \(SHA-256 expected [0-9a-f]{12}…, got [0-9a-f]{12}…\) and was deleted: the file on the server has probably changed since the download began\. Cancel the download and start it again to get it as it is now\.$/,
    )
    expect(await readdir(dir)).toEqual([])
  })

  it('stops reading back a big partial file for its checksum when paused, rather than finishing the hash first', async () => {
    server = await startFileServer({ 'm.gguf': body })
    const dir = await scratchDir()
    // A partial download of 128 MiB (its bytes do not matter: no request is made), as after a restart.
    await writeFile(join(dir, 'm.gguf.part'), '')
    await truncate(join(dir, 'm.gguf.part'), 128 * MB)
    // How long hashing it takes on this machine (the faster of two reads: the machine is shared).
    const timeHash = async (): Promise<number> => {
      const started = performance.now()
      const hash = createHash('sha256')
      for await (const chunk of createReadStream(join(dir, 'm.gguf.part'))) hash.update(chunk as Buffer)
      return performance.now() - started
    }
    const wholeHash = Math.min(await timeHash(), await timeHash())
    const controller = new AbortController()
    setTimeout(() => controller.abort(), wholeHash / 20)
    const started = performance.now()
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, { signal: controller.signal }),
      'busy',
      /paused/,
    )
    expect(performance.now() - started).toBeLessThan(wholeHash / 4)
    expect(server.requests).toEqual([])
    expect(await partialBytes(dir, 'm.gguf')).toBe(128 * MB)
  })

  it('never installs a file stored only in part, even with a checksum that the bytes received pass', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024 })
    const dir = await scratchDir()
    let written = 0
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
        retries: 0,
        // The last chunk is stored in part without an error, as one write() on a disk that fills up may do.
        append: async (path, chunk) => {
          const last = written + chunk.byteLength >= body.length
          const stored = last ? chunk.subarray(0, chunk.byteLength >> 1) : chunk
          written += stored.byteLength
          await appendFile(path, stored)
        },
      }),
      'storage',
      /^m\.gguf was not stored whole \(.* on disk\)\. Check the free space, then resume the download\.$/,
    )
    expect(await readdir(dir)).not.toContain('m.gguf')
    expect(await partialBytes(dir, 'm.gguf')).toBe(written)
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir)
    expect((await readFile(done.path)).equals(body)).toBe(true)
  })

  it.skipIf(tmpfsSkip !== null)(
    'on a real disk that fills during the last chunk, fails as full and keeps a partial it resumes from',
    async () => {
      const size = 700_000
      const last = 30_000
      const file = makeContent(size, 7)
      const files = { 'm.gguf': file.body }
      // The file up to its last piece, then (released by the test) the rest, in one write.
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const { createServer } = await import('node:http')
      const http = createServer((req, res) => {
        const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
        res.writeHead(from ? 206 : 200, {
          'content-length': size - from,
          etag: '"v1"',
          ...(from ? { 'content-range': `bytes ${from}-${size - 1}/${size}` } : {}),
        })
        if (from) return void res.end(files['m.gguf'].subarray(from))
        res.write(file.body.subarray(0, size - last))
        void gate.then(() => res.end(file.body.subarray(size - last)))
      })
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
      const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/m.gguf`
      const mnt = await scratchDir()
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
      try {
        const dir = join(mnt, 'dl')
        await mkdir(dir)
        const download = downloadFile({ url, fileName: 'm.gguf', sha256: file.sha256, size }, dir, { retries: 0 }).then(
          () => null,
          (e: unknown) => e,
        )
        while ((await partialBytes(dir, 'm.gguf')) < size - last) await new Promise((r) => setTimeout(r, 10))
        // Another program takes all but 16 KiB: the last 30 KB cannot all be stored.
        const fs = await statfs(mnt)
        await writeFile(join(mnt, 'filler'), Buffer.alloc(fs.bavail * fs.bsize - 16_384))
        release()
        const error = (await download) as AppError
        expect(error).toBeInstanceOf(AppError)
        expect(error.code).toBe('storage')
        const kept = await partialBytes(dir, 'm.gguf')
        expect(kept).toBeLessThan(size)
        expect(error.message).toMatch(/^The disk is full; .* of m\.gguf were kept and the download can be resumed\.$/)
        expect(await readdir(dir)).not.toContain('m.gguf')
        // What the partial holds is the file's start, byte for byte: room again, and it resumes from there.
        expect((await readFile(join(dir, 'm.gguf.part'))).equals(file.body.subarray(0, kept))).toBe(true)
        await rm(join(mnt, 'filler'))
        const done = await downloadFile({ url, fileName: 'm.gguf', sha256: file.sha256, size }, dir)
        expect((await readFile(done.path)).equals(file.body)).toBe(true)
      } finally {
        http.closeAllConnections()
        http.close()
        execFileSync('umount', [mnt])
      }
    },
  )

  it('checks the free space before starting, and keeps what it has when the disk fills', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024 })
    const dir = await scratchDir()
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, { freeSpace: async () => MB }),
      'storage',
      /Not enough disk space for m\.gguf: it needs 3\.0 MiB more, 1\.0 MiB is free/,
    )
    let written = 0
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, {
        append: async (path, chunk) => {
          if (written + chunk.byteLength > MB) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
          written += chunk.byteLength
          const { appendFile } = await import('node:fs/promises')
          await appendFile(path, chunk)
        },
      }),
      'storage',
      /The disk is full; .* of m\.gguf were kept and the download can be resumed/,
    )
    expect(await partialBytes(dir, 'm.gguf')).toBe(written)
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir)
    expect(done.sha256).toBe(sha256)
  })

  it('discards a partial download when asked', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 128 * 1024 })
    const dir = await scratchDir()
    const controller = new AbortController()
    await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => p.downloadedBytes > 0 && controller.abort(),
    }).catch(() => undefined)
    expect((await readdir(dir)).sort()).toEqual(['m.gguf.part', 'm.gguf.part.json'])
    await discardPartial(dir, 'm.gguf')
    expect(await readdir(dir)).toEqual([])
  })

  it('checks a file kept in git by its git blob SHA-1: other bytes are refused, the real ones accepted, also after a resume', async () => {
    const gitSha1 = gitBlobSha1(body)
    const tampered = Buffer.from(body)
    tampered[2 * MB]! ^= 0xff
    const served: Record<string, Buffer> = { 'm.gguf': tampered }
    server = await startFileServer(served, { bytesPerTick: 128 * 1024 })
    const dir = await scratchDir()
    const file = { url: server.url('m.gguf'), fileName: 'm.gguf', gitBlobSha1: gitSha1, size: body.length }
    await expectAppError(
      downloadFile(file, dir),
      'bad-model-file',
      new RegExp(
        `^m\\.gguf failed its checksum \\(git blob SHA-1 expected ${gitSha1.slice(0, 12)}…, got [0-9a-f]{12}…\\) and was deleted\\.`,
      ),
    )
    expect(await readdir(dir)).toEqual([])

    // The real file, resumed after a pause: the bytes already on disk are hashed too.
    served['m.gguf'] = body
    const kept = await pauseAfter(file.url, dir, MB)
    expect(kept).toBeGreaterThan(MB)
    const done = await downloadFile(file, dir)
    expect(done).toEqual({ path: join(dir, 'm.gguf'), sha256, bytes: body.length })
    expect(server.requests.at(-1)).toBe(`bytes=${kept}-`)

    // A resume whose later bytes are not the file's is refused as well.
    const spliced = await scratchDir()
    const keptFirst = await pauseAfter(file.url, spliced, MB)
    served['m.gguf'] = tampered
    await expectAppError(downloadFile(file, spliced), 'bad-model-file', /git blob SHA-1 expected/)
    expect(server.requests.at(-1)).toBe(`bytes=${keptFirst}-`)
    expect(await readdir(spliced)).toEqual([])
  })

  it('stops a server that keeps sending past the listed size at that size, cuts the connection, and keeps nothing beyond it', async () => {
    const small = makeContent(600_000, 7)
    const chunk = 64 * 1024
    // 64 MiB past the end, without a Content-Length: only the listed size says where the file ends.
    server = await startFileServer({ 'm.gguf': small.body }, { overrun: 64 * MB, bytesPerTick: chunk })
    const dir = await scratchDir()
    const progress: Progress[] = []
    const file = { url: server.url('m.gguf'), fileName: 'm.gguf', sha256: small.sha256, size: small.body.length }
    await expectAppError(
      downloadFile(file, dir, { progressIntervalMs: 0, onProgress: (p) => progress.push(p) }),
      'bad-model-file',
      /^The server kept sending m\.gguf past the 600,000 bytes listed for it, so the download was stopped; nothing past that size was kept\.$/,
    )
    expect(await partialBytes(dir, 'm.gguf')).toBe(small.body.length)
    expect(progress.every((p) => p.downloadedBytes <= small.body.length)).toBe(true)
    // The connection was cut as the first chunk past the size arrived: the server got a few chunks further at most, not 64 MiB.
    await new Promise((r) => setTimeout(r, 200))
    expect(server.sent[0]! - small.body.length).toBeLessThanOrEqual(4 * chunk)

    // What was kept is the file as listed: asked for the rest, the server has nothing more (416), and the bytes verify.
    const done = await downloadFile(file, dir)
    expect(done.sha256).toBe(small.sha256)
    expect(server.requests.at(-1)).toBe(`bytes=${small.body.length}-`)

    // With no listed size, a resumed response ends where its Content-Range says.
    server.options.overrun = undefined
    const unlisted = await scratchDir()
    const kept = await pauseAfter(server.url('m.gguf'), unlisted, 100_000)
    server.options.overrun = 64 * MB
    await expectAppError(
      downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, unlisted),
      'bad-model-file',
      /past the 600,000 bytes the server announced/,
    )
    expect(server.requests.at(-1)).toBe(`bytes=${kept}-`)
    expect(await partialBytes(unlisted, 'm.gguf')).toBe(small.body.length)
  })

  it('reports a server that goes quiet as stalled within the bound, retries, and resumes from the last byte', async () => {
    // Headers and half a megabyte, then nothing, twice; then it behaves.
    server = await startFileServer({ 'm.gguf': body }, { hangAfter: { bytes: MB / 2, times: 2 } })
    const dir = await scratchDir()
    const started = performance.now()
    const retries: { at: number; progress: Progress }[] = []
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
      stallTimeoutMs: 300,
      backoffMs: 10,
      progressIntervalMs: 0,
      onProgress: (p) =>
        p.retry && retries.at(-1)?.progress.retry !== p.retry && retries.push({ at: performance.now() - started, progress: p }),
    })
    expect(done.sha256).toBe(sha256)
    expect(retries.map((r) => [r.progress.retry, r.progress.downloadedBytes])).toEqual([
      [{ attempt: 1, of: 4, stalled: true, reason: 'no data for 300 ms' }, MB / 2],
      // The second stall came after progress: the first of a new row.
      [{ attempt: 1, of: 4, stalled: true, reason: 'no data for 300 ms' }, MB],
    ])
    // Reported after 300 ms of silence, not long after (the watch looks every 75 ms).
    expect(retries[0]!.at).toBeGreaterThanOrEqual(300)
    expect(retries[0]!.at).toBeLessThan(1300)
    expect(server.requests).toEqual(['none', `bytes=${MB / 2}-`, `bytes=${MB}-`])
  })

  it('reports a trickling server as stalled, retries, and resumes from the last byte when it speeds up', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 20 }) // about 1 KB/s
    const dir = await scratchDir()
    const started = performance.now()
    let stalled: { at: number; progress: Progress } | null = null
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
      minBytesPerSecond: 10 * 1024,
      rateWindowMs: 500,
      backoffMs: 10,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (!p.retry || stalled) return
        stalled = { at: performance.now() - started, progress: p }
        server!.options.bytesPerTick = undefined
      },
    })
    expect(done.sha256).toBe(sha256)
    const { at, progress } = stalled!
    expect(progress.retry).toEqual({ attempt: 1, of: 4, stalled: true, reason: 'under 10 KiB/s for 500 ms' })
    expect(at).toBeGreaterThanOrEqual(500)
    expect(at).toBeLessThan(1500)
    expect(progress.downloadedBytes).toBeGreaterThan(0)
    expect(server.requests).toEqual(['none', `bytes=${progress.downloadedBytes}-`])
  })

  it('after the last retry of a stall, fails with a clear message keeping its bytes, and resumes later from them', async () => {
    // A quarter megabyte, then silence; then two requests that get nothing at all.
    server = await startFileServer({ 'm.gguf': body }, { hangAfter: { bytes: 256 * 1024, times: 1 }, silentRequests: [1, 2] })
    const dir = await scratchDir()
    const file = { url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }
    await expectAppError(
      downloadFile(file, dir, { retries: 2, stallTimeoutMs: 200, backoffMs: 10 }),
      'network',
      /^The download of m\.gguf stalled 3 times in a row \(no data for 200 ms\)\. The 256 KiB downloaded were kept; resume it when the connection is better\.$/,
    )
    expect(await partialBytes(dir, 'm.gguf')).toBe(256 * 1024)
    const done = await downloadFile(file, dir)
    expect(done.sha256).toBe(sha256)
    expect(server.requests.at(-1)).toBe(`bytes=${256 * 1024}-`)
  })

  it('does not run out of retries while each attempt gets further: the count starts again after progress', async () => {
    // Half a megabyte and a dropped connection, five times: a long file over a connection that
    // drops now and then. Two retries in a row would not be enough; progress resets them.
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 128 * 1024, dropAfter: { bytes: MB / 2, times: 5 } })
    const dir = await scratchDir()
    const retries: DownloadRetry[] = []
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, {
      retries: 2,
      backoffMs: 10,
      progressIntervalMs: 0,
      onProgress: (p) => p.retry && p.retry !== retries.at(-1) && retries.push(p.retry),
    })
    expect(done.sha256).toBe(sha256)
    expect(server.requests).toHaveLength(6)
    // Each drop came after progress, so each retry is the first in a row (shown as attempt 1).
    expect(retries.map((r) => r.attempt)).toEqual([1, 1, 1, 1, 1])
  })
})
