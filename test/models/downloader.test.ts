import { fork } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { discardPartial, downloadFile, partialBytes, type Progress } from '../../electron/models/downloader.js'
import { AppError } from '../../electron/ipc/errors.js'
import { scratchDir } from '../support/engine.js'
import { makeContent, startFileServer, type FileServer } from './file-server.js'

const MB = 1024 * 1024
const { body, sha256 } = makeContent(3 * MB)
let server: FileServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

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
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256, size: body.length }, dir, { onProgress: (p) => progress.push(p), progressIntervalMs: 0 })
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
    const child = fork(fileURLToPath(new URL('./download-child.ts', import.meta.url)), [server.url('m.gguf'), dir, 'm.gguf'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
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
    await expectAppError(downloadFile({ url: server.url('n.gguf'), fileName: 'n.gguf' }, dir, { retries: 3, backoffMs: 10 }), 'model-load-failed', /failed after 4 attempts: the server answered 500/)
  })

  it('reports a missing file (404) at once, without retrying', async () => {
    server = await startFileServer({})
    await expectAppError(downloadFile({ url: server.url('gone.gguf'), fileName: 'gone.gguf' }, await scratchDir(), { backoffMs: 10 }), 'not-found', /server answered 404/)
    expect(server.requests).toHaveLength(1)
  })

  it('refuses and deletes a file with the wrong checksum; nothing is offered as a model', async () => {
    server = await startFileServer({ 'm.gguf': body })
    const dir = await scratchDir()
    await expectAppError(downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256: 'f'.repeat(64) }, dir), 'bad-model-file', /failed its checksum \(expected ffffffffffff…, got [0-9a-f]{12}…\) and was deleted/)
    expect(await readdir(dir)).toEqual([])
  })

  it('starts over when the server ignores the range', async () => {
    server = await startFileServer({ 'm.gguf': body }, { ranges: false, dropAfter: { bytes: MB, times: 1 } })
    const dir = await scratchDir()
    const done = await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf', sha256 }, dir, { backoffMs: 10 })
    expect(done.sha256).toBe(sha256)
    expect((await stat(done.path)).size).toBe(body.length)
  })

  it('checks the free space before starting, and keeps what it has when the disk fills', async () => {
    server = await startFileServer({ 'm.gguf': body }, { bytesPerTick: 256 * 1024 })
    const dir = await scratchDir()
    await expectAppError(downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, { freeSpace: async () => MB }), 'storage', /Not enough disk space for m\.gguf: it needs 3\.0 MiB more, 1\.0 MiB is free/)
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
    await downloadFile({ url: server.url('m.gguf'), fileName: 'm.gguf' }, dir, { signal: controller.signal, progressIntervalMs: 0, onProgress: (p) => p.downloadedBytes > 0 && controller.abort() }).catch(() => undefined)
    expect((await readdir(dir)).sort()).toEqual(['m.gguf.part', 'm.gguf.part.json'])
    await discardPartial(dir, 'm.gguf')
    expect(await readdir(dir)).toEqual([])
  })
})
