import { fork } from 'node:child_process'
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { getLlama, type Llama } from 'node-llama-cpp'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatBytes, type Catalog, type DownloadJob } from '../../electron/ipc/contract.js'
import { rejection } from '../support/errors.js'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import { DownloadStart } from '../../electron/models/contract.js'
import { DownloadManager, type DownloadManagerOptions } from '../../electron/models/download-manager.js'
import { partialBytes } from '../../electron/models/downloader.js'
import { createHub } from '../../electron/models/hub.js'
import { scanLibrary } from '../../electron/models/library.js'
import { UnverifiedFiles } from '../../electron/models/unverified.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { scratchDir } from '../support/engine.js'
import type { FileServer } from './file-server.js'
import { gitBlobSha1, hubOptions, startHubServer } from './hub-server.js'

const REPO = 'test-org/Tiny-VLM-GGUF'
const MODEL = 'tiny-vlm-F32.gguf'
const MMPROJ = 'mmproj-tiny-vlm-F32.gguf'

let fx: FixturePaths
let llama: Llama
let modelBytes: Buffer
let mmprojBytes: Buffer
beforeAll(async () => {
  fx = await ensureFixtures()
  llama = await getLlama({ gpu: false, build: 'never' })
  ;[modelBytes, mmprojBytes] = await Promise.all([readFile(fx.textModel), readFile(fx.mmproj)])
})

let server: FileServer | null = null
const managers: DownloadManager[] = []
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close()
  await server?.close()
  server = null
})

function catalog(pinned: { model?: string; mmproj?: string } = {}): Catalog {
  return {
    version: 1,
    recommended: 'tiny',
    entries: [
      {
        id: 'tiny',
        name: 'Tiny VLM',
        description: 'test',
        repo: REPO,
        revision: 'main',
        licence: 'MIT',
        licenceUrl: 'https://opensource.org/license/mit',
        models: [{ file: MODEL, quantisation: 'F32', approxBytes: 600_000, sha256: pinned.model ?? null }],
        mmproj: { file: MMPROJ, quantisation: 'F32', approxBytes: 200_000, sha256: pinned.mmproj ?? null },
      },
    ],
  }
}

async function open(
  root: string,
  extra: Partial<DownloadManagerOptions> = {},
): Promise<{ manager: DownloadManager; events: DownloadJob[][] }> {
  const events: DownloadJob[][] = []
  const manager = await DownloadManager.open({
    root,
    hub: createHub({ hubUrl: server!.origin }),
    catalog: catalog(),
    onChange: (jobs) => events.push(jobs),
    downloadOptions: { retries: 1, backoffMs: 10, progressIntervalMs: 0 },
    ...extra,
  })
  managers.push(manager)
  return { manager, events }
}

async function until<T>(check: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * The staging folder once the list's last save is written: the window is told of a change
 * before the list is saved, so a save may still hold its temporary file (downloads.json.NNN).
 */
async function stagingOnceSaved(root: string): Promise<string[]> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const names = await readdir(join(root, '.downloads'))
    if (!names.some((name) => /^downloads\.json\.\d+$/.test(name)) || Date.now() > deadline) return names
    await new Promise((r) => setTimeout(r, 10))
  }
}

const job = (m: DownloadManager, id: string): DownloadJob | undefined => m.list().find((j) => j.id === id)
const library = (root: string) => scanLibrary(root, (p) => inspectModelFile(p, llama))

describe('download manager', () => {
  it('downloads a model and its projector as one unit: nothing is in the library until both are verified', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 32 * 1024 })
    const root = await scratchDir()
    const { manager, events } = await open(root)
    const started = await manager.start({ source: 'catalog', id: 'tiny' })
    expect(started).toMatchObject({
      title: 'Tiny VLM (F32)',
      catalogId: 'tiny',
      folder: 'tiny-vlm-F32',
      totalBytes: modelBytes.length + mmprojBytes.length,
    })

    // Mid-download: the model file may be complete, but the library offers nothing yet.
    await until(() => (job(manager, started.id)?.files[0]?.done ? true : undefined), 'the model file to finish')
    expect((await library(root)).models).toEqual([])

    const done = await until(
      () => (job(manager, started.id)?.state === 'done' ? job(manager, started.id) : undefined),
      'the download to finish',
    )
    expect(done).toMatchObject({
      downloadedBytes: done.totalBytes,
      modelPath: join(root, 'tiny-vlm-F32', MODEL),
      mmprojPath: join(root, 'tiny-vlm-F32', MMPROJ),
      error: null,
    })
    const lib = await library(root)
    expect(lib.models.map((m) => [m.model.path, m.mmproj?.path])).toEqual([[done.modelPath, done.mmprojPath]])
    expect(await stagingOnceSaved(root)).toEqual(['downloads.json'])

    // Progress was reported with bytes, speed and an ETA, and never went backwards.
    const progress = events.map((jobs) => jobs.find((j) => j.id === started.id)!).filter((j) => j.state === 'downloading')
    expect(progress.length).toBeGreaterThan(5)
    expect(progress.some((j) => j.bytesPerSecond! > 0 && j.etaSeconds !== null && j.etaSeconds > 0)).toBe(true)
    expect(progress.every((j, i) => i === 0 || j.downloadedBytes >= progress[i - 1]!.downloadedBytes)).toBe(true)
  })

  it('pauses, survives an app restart, and resumes from the last byte', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 8 * 1024 })
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => (job(first.manager, id)!.downloadedBytes > 100_000 ? true : undefined), 'some bytes')
    await first.manager.pause(id)
    const paused = job(first.manager, id)!
    expect(paused.state).toBe('paused')
    expect(paused.bytesPerSecond).toBeNull()
    await first.manager.close()

    const second = await open(root)
    const restored = job(second.manager, id)!
    expect(restored).toMatchObject({ state: 'paused', error: null })
    expect(restored.downloadedBytes).toBeGreaterThanOrEqual(paused.downloadedBytes)
    const kept = restored.downloadedBytes
    server.options.bytesPerTick = undefined
    await second.manager.resume(id)
    await until(() => (job(second.manager, id)!.state === 'done' ? true : undefined), 'the resumed download')
    expect(server.requests).toContain(`bytes=${kept}-`)
    expect((await readFile(join(root, 'tiny-vlm-F32', MODEL))).equals(modelBytes)).toBe(true)
  })

  it('keeps a download cut off by quitting as interrupted, to resume after the restart', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 8 * 1024 })
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => (job(first.manager, id)!.downloadedBytes > 50_000 ? true : undefined), 'some bytes')
    await first.manager.close()
    const second = await open(root)
    expect(job(second.manager, id)).toMatchObject({ state: 'paused', error: expect.stringMatching(/Interrupted when the app closed/) })
  })

  it('resumes from the last byte written after the app is killed mid-download', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 8 * 1024 })
    const root = await scratchDir()
    const child = fork(fileURLToPath(new URL('./manager-child.ts', import.meta.url)), [server.origin, root, JSON.stringify(catalog())], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    const id = await new Promise<string>((r) => child.once('message', (m) => r(String(m))))
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))

    const { manager } = await open(root)
    const restored = job(manager, id)!
    expect(restored).toMatchObject({ state: 'paused', error: expect.stringMatching(/Interrupted when the app closed/) })
    const kept = await partialBytes(join(root, '.downloads', id), MODEL)
    expect(kept).toBeGreaterThan(50_000)
    expect(restored.downloadedBytes).toBe(kept)
    server.options.bytesPerTick = undefined
    await manager.resume(id)
    await until(() => (job(manager, id)!.state === 'done' ? true : undefined), 'the resumed download')
    expect(server.requests).toContain(`bytes=${kept}-`)
    expect((await readFile(join(root, 'tiny-vlm-F32', MODEL))).equals(modelBytes)).toBe(true)
  })

  it('cancel deletes what was downloaded; the library never sees it', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 8 * 1024 })
    const root = await scratchDir()
    const { manager } = await open(root)
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => (job(manager, id)!.downloadedBytes > 50_000 ? true : undefined), 'some bytes')
    expect(await manager.cancel(id)).toEqual([])
    expect(await stagingOnceSaved(root)).toEqual(['downloads.json'])
    expect(await readdir(root)).toEqual(['.downloads'])
  })

  it('refuses a catalog file whose pinned checksum differs from the hub’s, before fetching a byte', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const { manager } = await open(await scratchDir(), { catalog: catalog({ model: 'a'.repeat(64) }) })
    const refused = await rejection(manager.start({ source: 'catalog', id: 'tiny' }))
    expect(refused.code).toBe('bad-model-file')
    expect(refused.message).toMatch(/SHA-256 changed/)
    expect(server.requests).toEqual([])
    expect(manager.list()).toEqual([])
  })

  it('refuses a downloaded file whose checksum is wrong, deletes it, reports it, and offers nothing', async () => {
    // The hub lists the real projector's SHA-256; the server sends other bytes.
    const tampered = Buffer.from(mmprojBytes)
    tampered[tampered.length - 1]! ^= 0xff
    server = await startHubServer(
      { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: tampered } },
      { listAs: { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } } },
    )
    const root = await scratchDir()
    const { manager } = await open(root)
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    const failed = await until(() => (job(manager, id)!.state === 'failed' ? job(manager, id) : undefined), 'the failure')
    expect(failed.error).toMatch(
      /^mmproj-tiny-vlm-F32\.gguf failed its checksum \(SHA-256 expected [0-9a-f]{12}…, got [0-9a-f]{12}…\) and was deleted\./,
    )
    expect((await library(root)).models).toEqual([])
    // The verified model waits in staging; the bad projector is gone.
    expect(await readdir(join(root, '.downloads', id))).toEqual([MODEL])
    expect(failed.files.map((f) => [f.role, f.done])).toEqual([
      ['model', true],
      ['mmproj', false],
    ])
  })

  it('says the file changed on the server when a retry brings the same wrong bytes, also after a restart', async () => {
    // The hub lists the real projector's SHA-256 and size; the server sends another file of that size, with no entity tag to tell.
    const other = Buffer.from(mmprojBytes)
    other[0]! ^= 0xff
    server = await startHubServer(
      { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: other } },
      { listAs: { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } } },
    )
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    const failed = (m: DownloadManager) => until(() => (job(m, id)!.state === 'failed' ? job(m, id) : undefined), 'the failure')
    expect((await failed(first.manager)).error).toMatch(/^mmproj-tiny-vlm-F32\.gguf failed its checksum .* Try the download again\.$/)
    await first.manager.close()

    // Retried after a restart: the same bytes again are the server's file, and a retry cannot finish it.
    const second = await open(root)
    await second.manager.resume(id)
    expect((await failed(second.manager)).error).toMatch(
      /^mmproj-tiny-vlm-F32\.gguf failed its checksum again with the same bytes .* the file on the server has probably changed since the download began\. Cancel the download and start it again to get it as it is now\.$/,
    )
  })

  it('checks a projector kept in git by its git blob SHA-1: the real bytes pass, others are refused', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { listing: { [MMPROJ]: 'git' } })
    const listed = await createHub({ hubUrl: server.origin }).repoFiles(REPO)
    expect(listed.projectors).toEqual([
      { path: MMPROJ, bytes: mmprojBytes.length, sha256: null, gitBlobSha1: gitBlobSha1(mmprojBytes), quantisation: 'F32' },
    ])
    // An LFS file's git oid hashes its pointer: it is not taken as the file's.
    expect(listed.models[0]).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), gitBlobSha1: null })
    const first = await open(await scratchDir())
    const passed = await first.manager.start({ source: 'catalog', id: 'tiny' })
    expect(passed.files.map((f) => f.checksum)).toEqual(['sha256', 'git-blob-sha1'])
    const done = await until(
      () => (job(first.manager, passed.id)!.state === 'done' ? job(first.manager, passed.id) : undefined),
      'the download',
    )
    expect((await readFile(done.mmprojPath!)).equals(mmprojBytes)).toBe(true)

    // Listed as the real projector, served with one byte changed.
    await server.close()
    const tampered = Buffer.from(mmprojBytes)
    tampered[100]! ^= 0xff
    server = await startHubServer(
      { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: tampered } },
      { listAs: { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, listing: { [MMPROJ]: 'git' } },
    )
    const root = await scratchDir()
    const second = await open(root)
    const { id } = await second.manager.start({ source: 'catalog', id: 'tiny' })
    const failed = await until(() => (job(second.manager, id)!.state === 'failed' ? job(second.manager, id) : undefined), 'the failure')
    expect(failed.error).toMatch(
      /^mmproj-tiny-vlm-F32\.gguf failed its checksum \(git blob SHA-1 expected [0-9a-f]{12}…, got [0-9a-f]{12}…\) and was deleted\./,
    )
    expect(await readdir(join(root, '.downloads', id))).toEqual([MODEL])
    expect((await library(root)).models).toEqual([])
  })

  it('downloads a file the hub lists with no checksum, marked unverified in the download record and the library’s, also after a restart', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { listing: { [MMPROJ]: 'none' } })
    expect((await createHub({ hubUrl: server.origin }).repoFiles(REPO)).projectors).toMatchObject([{ sha256: null, gitBlobSha1: null }])
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    const done = await until(() => (job(first.manager, id)!.state === 'done' ? job(first.manager, id) : undefined), 'the download')
    expect(done.files.map((f) => [f.role, f.checksum])).toEqual([
      ['model', 'sha256'],
      ['mmproj', null],
    ])
    expect((await library(root)).models).toHaveLength(1)
    // The library's own record names the installed file, so the warning outlives the download's row.
    expect(await new UnverifiedFiles(root).list()).toEqual([done.mmprojPath])
    await first.manager.close()
    const second = await open(root)
    expect(job(second.manager, id)!.files.map((f) => f.checksum)).toEqual(['sha256', null])
    await second.manager.dismiss(id)
    expect(await new UnverifiedFiles(root).list()).toEqual([done.mmprojPath])
  })

  it('shows a stalled download as retrying, fails after the retries keeping its bytes, and resumes from the last byte', async () => {
    // The first request gets no answer at all; the second gets 100 kB, then silence; the third nothing.
    server = await startHubServer(
      { [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } },
      { silentRequests: [0, 2], hangAfter: { bytes: 100_000, times: 1 } },
    )
    const root = await scratchDir()
    const { manager, events } = await open(root, {
      downloadOptions: { retries: 1, backoffMs: 10, progressIntervalMs: 0, stallTimeoutMs: 300 },
    })
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    const failed = await until(() => (job(manager, id)!.state === 'failed' ? job(manager, id) : undefined), 'the stalled download to fail')
    const seen = events.map((jobs) => jobs.find((j) => j.id === id)!)
    const retries = seen.filter((j, i) => j.retry && j.retry !== seen[i - 1]?.retry)
    // The second stall came after 100 kB: the first of a new row, as the window shows it.
    expect(retries.map((j) => [j.state, j.downloadedBytes, j.retry])).toEqual([
      ['downloading', 0, { attempt: 1, of: 1, stalled: true, reason: 'no data for 300 ms' }],
      ['downloading', 100_000, { attempt: 1, of: 1, stalled: true, reason: 'no data for 300 ms' }],
    ])
    expect(failed).toMatchObject({ retry: null, downloadedBytes: 100_000 })
    expect(failed.error).toBe(
      `The download of ${MODEL} stalled 2 times in a row (no data for 300 ms). The 98 KiB downloaded were kept; resume it when the connection is better.`,
    )
    expect(await partialBytes(join(root, '.downloads', id), MODEL)).toBe(100_000)

    await manager.resume(id)
    await until(() => (job(manager, id)!.state === 'done' ? true : undefined), 'the resumed download')
    expect(server.requests.slice(0, 4)).toEqual(['none', 'none', 'bytes=100000-', 'bytes=100000-'])
    expect((await readFile(join(root, 'tiny-vlm-F32', MODEL))).equals(modelBytes)).toBe(true)
  })

  it('checks the disk space for both files before starting', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    const { manager } = await open(root, { downloadOptions: { freeSpace: async () => modelBytes.length, retries: 0 } })
    const error = await rejection(manager.start({ source: 'catalog', id: 'tiny' }))
    expect(error.code).toBe('storage')
    expect(error.message).toMatch(/^Not enough disk space for Tiny VLM \(F32\): it needs .* is free\.$/)
    expect(manager.list()).toEqual([])
    expect(server.requests).toEqual([])
  })

  it('keeps what it has when the disk fills mid-file, and resumes once there is room', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 64 * 1024 })
    const root = await scratchDir()
    let written = 0
    let full = true
    const { appendFile } = await import('node:fs/promises')
    const { manager } = await open(root, {
      downloadOptions: {
        retries: 0,
        append: async (path, chunk) => {
          if (full && written + chunk.byteLength > 200_000) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
          written += chunk.byteLength
          await appendFile(path, chunk)
        },
      },
    })
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    const failed = await until(() => (job(manager, id)!.state === 'failed' ? job(manager, id) : undefined), 'the disk-full failure')
    expect(failed.error).toMatch(/The disk is full; .* were kept and the download can be resumed\./)
    expect(failed.downloadedBytes).toBeGreaterThan(0)
    full = false
    await manager.resume(id)
    await until(() => (job(manager, id)!.state === 'done' ? true : undefined), 'the resumed download')
    expect((await library(root)).models).toHaveLength(1)
  })

  it('reports a file the hub does not have, and a hub that cannot be reached, clearly', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes } })
    const root = await scratchDir()
    const { manager } = await open(root)
    const missing = await rejection(manager.start({ source: 'catalog', id: 'tiny' }))
    expect(missing).toMatchObject({ code: 'not-found', message: `${MMPROJ} is not in ${REPO} on Hugging Face.` })
    const noRepo = await rejection(manager.start({ source: 'hub', repo: 'nobody/nothing', model: 'x.gguf', mmproj: null }))
    expect(noRepo.code).toBe('not-found')
    const origin = server.origin
    await server.close()
    server = null
    const offline = await rejection(createHub({ hubUrl: origin }).search('smolvlm'))
    expect(offline.code).toBe('network')
    expect(offline.message).toMatch(/Hugging Face could not be reached/)
  })
})

describe('download manager at the edges', () => {
  it('starts a model once when asked twice at once', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    const { manager } = await open(root)
    const [a, b] = await Promise.all([manager.start({ source: 'catalog', id: 'tiny' }), manager.start({ source: 'catalog', id: 'tiny' })])
    expect(b.id).toBe(a.id)
    await until(() => job(manager, a.id)?.state === 'done', 'the download')
    expect(manager.list()).toHaveLength(1)
    expect(server.requests).toHaveLength(2)
  })

  it('adds a projector to a model downloaded text-only, fetching the projector alone', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 64 * 1024 })
    const root = await scratchDir()
    const { manager } = await open(root)
    const textOnly = await manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: null })
    // While the text-only download is listed, asking for the pair says what is missing rather than dropping it.
    const busy = await rejection(manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: MMPROJ }))
    expect(busy.code).toBe('busy')
    expect(busy.message).toMatch(new RegExp(`already in the download list without ${MMPROJ.replace(/\./g, '\\.')}`))
    await until(() => job(manager, textOnly.id)?.state === 'done', 'the text-only download')
    const fetched = server.requests.length
    const pair = await manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: MMPROJ })
    const done = await until(() => (job(manager, pair.id)?.state === 'done' ? job(manager, pair.id) : undefined), 'the projector')
    expect(server.requests.length - fetched).toBe(1)
    expect(done.files.map((f) => [f.fileName, f.done])).toEqual([
      [MODEL, true],
      [MMPROJ, true],
    ])
    expect(done.mmprojPath).toBe(join(root, 'tiny-vlm-F32', MMPROJ))
    const lib = await library(root)
    expect(lib.models.map((m) => [m.model.path, m.mmproj?.path])).toEqual([[done.modelPath, done.mmprojPath]])
    // Both files there: refused as before.
    expect((await rejection(manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: MMPROJ }))).message).toBe(
      `${MODEL} is already in your library.`,
    )
  })

  it('does not take a same-named model from another repository for this download’s: it says so and fetches nothing', async () => {
    // Another repository's model with the same file name (and so the same folder), downloaded text-only first.
    server = await startHubServer({
      [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes },
      'other-org/Other-GGUF': { [MODEL]: modelBytes.subarray(0, 100_000) },
    })
    const root = await scratchDir()
    const { manager } = await open(root)
    const other = await manager.start({ source: 'hub', repo: 'other-org/Other-GGUF', model: MODEL, mmproj: null })
    await until(() => job(manager, other.id)?.state === 'done', 'the other repository’s model')
    const fetched = server.requests.length
    // Before, the projector alone was fetched and paired with the other model, shown as this download's checked file.
    const refused = await rejection(manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: MMPROJ }))
    expect(refused).toMatchObject({
      code: 'busy',
      message: `Your library already has another ${MODEL} (in tiny-vlm-F32: 98 KiB, not the ${formatBytes(modelBytes.length)} of this download). Delete it from the library first to download this one.`,
    })
    expect(server.requests.length).toBe(fetched)
    expect(manager.list().map((j) => j.id)).toEqual([other.id])
    expect(await readdir(join(root, 'tiny-vlm-F32'))).toEqual([MODEL])
  })

  it('pauses a download between its files, while it shows as verifying', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    const { manager } = await open(root, {
      downloadOptions: { retries: 2, backoffMs: 10, progressIntervalMs: 0, stallTimeoutMs: 1000 },
      onChange: (jobs) => {
        // The projector's server then accepts the request and says nothing.
        if (jobs[0]?.files[0]?.done && hubOptions(server!).unresponsive === undefined) hubOptions(server!).unresponsive = 1
      },
    })
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => job(manager, id)?.state === 'verifying' && job(manager, id)?.files[0]?.done, 'the model file verified')
    await manager.pause(id)
    expect(job(manager, id)?.state).toBe('paused')
    await new Promise((r) => setTimeout(r, 200))
    expect(job(manager, id)?.state).toBe('paused')
    // fetch may send the resumed request on the connection the server still holds: the stall
    // bound drops it and the retry is answered.
    await manager.resume(id)
    await until(() => job(manager, id)?.state === 'done', 'the resumed download')
  })

  it('refuses a download when the models folder cannot be written, leaving no job that never runs', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    const { manager } = await open(root)
    // A file where the staging folder belongs: nothing can be saved there.
    await writeFile(join(root, '.downloads'), 'in the way')
    const error = await rejection(manager.start({ source: 'catalog', id: 'tiny' }))
    expect(error.code).toBe('storage')
    expect(error.message).toMatch(/^The models folder cannot be written \(/)
    expect(manager.list()).toEqual([])
  })

  it('goes on to the next download when a finished one cannot be saved, and quits cleanly', async () => {
    server = await startHubServer({
      [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes },
      'test-org/Other-GGUF': { 'other-F32.gguf': modelBytes },
    })
    const root = await scratchDir()
    const list = join(root, '.downloads', 'downloads.json')
    let blocked = false
    let release!: () => void
    const bothQueued = new Promise<void>((resolve) => (release = resolve))
    const { manager } = await open(root, {
      downloadOptions: {
        retries: 0,
        // The first download fails as its disk errs, and the list then cannot be saved either (a folder in its place).
        append: async (path, chunk) => {
          if (!blocked) {
            blocked = true
            await bothQueued
            await rename(list, `${list}.saved`)
            await mkdir(join(list, 'x'), { recursive: true })
            throw Object.assign(new Error('i/o error'), { code: 'EIO' })
          }
          const { appendFile } = await import('node:fs/promises')
          await appendFile(path, chunk)
        },
      },
    })
    const first = await manager.start({ source: 'catalog', id: 'tiny' })
    const second = await manager.start({ source: 'hub', repo: 'test-org/Other-GGUF', model: 'other-F32.gguf', mmproj: null })
    release()
    await until(() => job(manager, first.id)?.state === 'failed', 'the first download to fail')
    // The second is not left queued: it runs, and fails only because the list still cannot be saved.
    const next = await until(() => (job(manager, second.id)?.state === 'failed' ? job(manager, second.id) : undefined), 'the second')
    expect(next.error).toMatch(/^The models folder cannot be written/)
    await manager.close()
  })

  it('finishes a download stopped between moving its files into the library', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => job(first.manager, id)?.state === 'done', 'the download')
    await first.manager.close()
    // As if the app had stopped after moving the model and before the projector.
    const staging = join(root, '.downloads', id)
    await mkdir(staging)
    await rename(join(root, 'tiny-vlm-F32', MMPROJ), join(staging, MMPROJ))
    const saved = JSON.parse(await readFile(join(root, '.downloads', 'downloads.json'), 'utf8')) as { state: string }[]
    saved[0]!.state = 'downloading'
    await writeFile(join(root, '.downloads', 'downloads.json'), JSON.stringify(saved))
    const { manager } = await open(root)
    expect(job(manager, id)?.state).toBe('paused')
    await manager.resume(id)
    const done = await until(() => (job(manager, id)?.state === 'done' ? job(manager, id) : undefined), 'the install')
    expect(done.error).toBeNull()
    expect((await library(root)).models.map((m) => m.mmproj?.path)).toEqual([join(root, 'tiny-vlm-F32', MMPROJ)])
  })

  it('opens with a saved download it cannot read, keeping that record and its bytes, and the others working', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } }, { bytesPerTick: 8 * 1024 })
    const root = await scratchDir()
    const first = await open(root)
    const { id } = await first.manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => (job(first.manager, id)?.downloadedBytes ?? 0) > 100_000, 'some bytes')
    await first.manager.pause(id)
    await first.manager.close()
    const listFile = join(root, '.downloads', 'downloads.json')
    const stranger = { id: '0b6a3f1e-9d1c-4e8e-9a51-4a1e2f7c9d00', title: 'From a newer version', files: [{ fileName: 'x.gguf' }] }
    await mkdir(join(root, '.downloads', stranger.id))
    await writeFile(join(root, '.downloads', stranger.id, 'x.gguf.part'), 'bytes')
    await writeFile(listFile, JSON.stringify([...JSON.parse(await readFile(listFile, 'utf8')), stranger]))
    const { manager } = await open(root)
    expect(manager.list().map((j) => j.id)).toEqual([id])
    await manager.resume(id)
    await until(() => job(manager, id)?.state === 'done', 'the resumed download')
    // Saved since, and still there with its staging folder.
    expect(JSON.parse(await readFile(listFile, 'utf8'))).toContainEqual(stranger)
    expect(await readdir(join(root, '.downloads'))).toContain(stranger.id)
  })

  it('opens with a download list that is not JSON, setting it aside and deleting no partial download', async () => {
    server = await startHubServer({ [REPO]: { [MODEL]: modelBytes, [MMPROJ]: mmprojBytes } })
    const root = await scratchDir()
    await mkdir(join(root, '.downloads', 'some-job'), { recursive: true })
    await writeFile(join(root, '.downloads', 'some-job', 'm.gguf.part'), 'bytes')
    await writeFile(join(root, '.downloads', 'downloads.json'), '[{"id": "cut off')
    const { manager } = await open(root)
    expect(manager.list()).toEqual([])
    expect((await readdir(join(root, '.downloads'))).sort()).toEqual(['downloads.json.unreadable', 'some-job'])
    // A new download saves a new list; at the next start the old bytes are still not taken for leftovers.
    const { id } = await manager.start({ source: 'catalog', id: 'tiny' })
    await until(() => job(manager, id)?.state === 'done', 'the download')
    await manager.close()
    await open(root)
    expect((await readdir(join(root, '.downloads'))).sort()).toEqual(['downloads.json', 'downloads.json.unreadable', 'some-job'])
  })
})

describe('Hugging Face search', () => {
  it('tells a hub that does not answer, a server error and a missing repository apart, by status and in time', async () => {
    const { createServer } = await import('node:http')
    let mode: 'hang' | '503' | '404' | 'sizeless' = 'hang'
    const http = createServer((req, res) => {
      if (mode === 'hang') return // accepted, and never answered
      if (mode === '503') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream 404 cache miss, request 404a')
      if (mode === '404') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}')
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify([
          { type: 'file', path: 'sized-F32.gguf', size: 10, oid: 'a'.repeat(40) },
          { type: 'file', path: 'unsized-F32.gguf', oid: 'b'.repeat(40) },
        ]),
      )
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const hub = createHub({ hubUrl: `http://127.0.0.1:${(http.address() as { port: number }).port}`, timeoutMs: 300 })
    try {
      const started = Date.now()
      const hung = await rejection(hub.search('qwen'))
      expect(Date.now() - started).toBeLessThan(3000)
      expect(hung).toMatchObject({
        code: 'network',
        message: 'Searching for “qwen”: Hugging Face did not answer within 300 ms. Try again later.',
      })
      mode = '503'
      expect(await rejection(hub.repoFiles('org/model-404-GGUF'))).toMatchObject({
        code: 'network',
        message: 'Listing org/model-404-GGUF: Hugging Face answered 503. Try again later.',
      })
      mode = '404'
      expect((await rejection(hub.repoFiles('org/nothing'))).code).toBe('not-found')
      // A file listed without its size cannot be planned or saved: it is not offered.
      mode = 'sizeless'
      expect((await hub.repoFiles('org/a')).models.map((f) => f.path)).toEqual(['sized-F32.gguf'])
    } finally {
      http.closeAllConnections()
      http.close()
    }
  })

  it('offers no file whose name a download would refuse (a path separator, a space), only plain names', async () => {
    server = await startHubServer({
      [REPO]: {
        [MODEL]: modelBytes.subarray(0, 10),
        'Q4/tiny-vlm-Q4_K_M.gguf': Buffer.alloc(10),
        'a\\..\\..\\escape-F32.gguf': Buffer.alloc(10),
        'tiny-vlm (copy)-F32.gguf': Buffer.alloc(10),
        [MMPROJ]: Buffer.alloc(10),
        'mmproj tiny.gguf': Buffer.alloc(10),
      },
    })
    const files = await createHub({ hubUrl: server.origin }).repoFiles(REPO)
    // Before, all were offered, and picking one ended in "downloads:start: model: not a plain file name".
    expect(files.models.map((f) => f.path)).toEqual([MODEL, 'Q4/tiny-vlm-Q4_K_M.gguf'])
    expect(files.projectors.map((f) => f.path)).toEqual([MMPROJ])
    for (const f of files.models)
      expect(DownloadStart.safeParse({ source: 'hub', repo: REPO, model: f.path, mmproj: files.projectors[0]!.path }).success).toBe(true)
  })

  it('finds GGUF repositories and lists model files by quantisation, projectors apart', async () => {
    server = await startHubServer({
      [REPO]: {
        [MODEL]: modelBytes,
        'tiny-vlm-Q4_K_M.gguf': modelBytes.subarray(0, 1000),
        [MMPROJ]: mmprojBytes,
        'big-00002-of-00003.gguf': Buffer.alloc(10),
      },
      'other/Text-Only-GGUF': { 'text-Q8_0.gguf': Buffer.alloc(10) },
    })
    const hub = createHub({ hubUrl: server.origin })
    expect((await hub.search('tiny-vlm')).map((m) => m.repo)).toEqual([REPO])
    const files = await hub.repoFiles(REPO)
    expect(files.models.map((f) => [f.path, f.quantisation, f.bytes])).toEqual([
      [MODEL, 'F32', modelBytes.length],
      ['tiny-vlm-Q4_K_M.gguf', 'Q4_K_M', 1000],
    ])
    expect(files.projectors.map((f) => f.path)).toEqual([MMPROJ])
    expect(files.models[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(hub.fileUrl(REPO, 'main', 'sub dir/a.gguf')).toBe(`${server.origin}/${REPO}/resolve/main/sub%20dir/a.gguf`)

    // A search result downloads like a catalog entry: chosen quantisation plus projector.
    const root = await scratchDir()
    const { manager } = await open(root)
    const { id } = await manager.start({ source: 'hub', repo: REPO, model: MODEL, mmproj: MMPROJ })
    const done = await until(() => (job(manager, id)!.state === 'done' ? job(manager, id) : undefined), 'the download')
    expect(done.catalogId).toBeNull()
    expect(await stat(done.mmprojPath!)).toMatchObject({ size: mmprojBytes.length })
  })
})
