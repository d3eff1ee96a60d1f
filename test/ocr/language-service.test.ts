// The text layer's language choice without a hub or a recogniser: kept across restarts,
// checked at the IPC boundary, and sizes that fall back to estimates when the hub is away.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DownloadStart } from '../../electron/models/contract.js'
import type { HubFile } from '../../electron/ipc/contract.js'
import { ocrInvoke } from '../../electron/ocr/contract.js'
import { openOcrLanguages } from '../../electron/ocr/language-service.js'
import { recogniserEnv, recogniserFromEnv, type OcrRecogniser } from '../../electron/ocr/protocol.js'
import { rejection } from '../support/errors.js'
import { scratchDir } from '../support/engine.js'

const never = (): Promise<HubFile[]> => new Promise(() => undefined)
const offline = (): Promise<HubFile[]> => Promise.reject(new Error('getaddrinfo ENOTFOUND huggingface.co'))

async function open(files: () => Promise<HubFile[]>, dir?: string, systemLanguages: () => string[] = () => ['es-ES']) {
  const root = dir ?? (await scratchDir())
  const changes: string[] = []
  const service = await openOcrLanguages({
    path: join(root, 'ocr-language.json'),
    modelsRoot: root,
    systemLanguages,
    hub: { files },
    sizeTimeoutMs: 100,
    onRecogniserChanged: () => void changes.push('reload'),
  })
  return { service, root, changes }
}

describe('OCR language choice', () => {
  it('shows the catalog estimates, marked as such, when the hub is unreachable or too slow', async () => {
    for (const files of [offline, never]) {
      const started = Date.now()
      const view = await (await open(files)).service.list()
      expect(Date.now() - started).toBeLessThan(2000)
      const latin = view.packs.find((p) => p.id === 'latin')!
      expect(latin).toMatchObject({ exact: false, installed: false })
      expect(latin.bytes).toBeGreaterThan(7_000_000)
      expect(view.packs.find((p) => p.id === 'builtin')).toMatchObject({ builtIn: true, installed: true, exact: true })
    }
  })

  it('keeps the choice across a restart, and refuses packs it does not know', async () => {
    const first = await open(offline)
    expect((await first.service.list()).choice).toBe('auto')
    expect(await first.service.set('korean')).toMatchObject({ choice: 'korean', wanted: 'korean', inUse: 'builtin' })
    // Not downloaded: nothing new to load, so the text layer's process is left alone.
    expect(first.changes).toEqual([])
    expect(await rejection(first.service.set('klingon'))).toMatchObject({ code: 'not-found' })
    expect(await rejection(first.service.delete('builtin'))).toMatchObject({ code: 'busy' })
    const again = await open(offline, first.root)
    expect(await again.service.list()).toMatchObject({ choice: 'korean', automatic: 'latin' })
  })

  it("reads a German, French or Polish system's screens with tesseract and the app's own traineddata, nothing to download", async () => {
    for (const [system, languages] of [
      ['de-DE', ['deu', 'fra', 'pol']],
      ['fr-CA', ['fra', 'deu', 'pol']],
      ['pl', ['pol', 'fra', 'deu']],
    ] as const) {
      const { service } = await open(offline, undefined, () => [system, 'en-US'])
      expect(await service.list()).toMatchObject({ automatic: 'fr-de-pl', inUse: 'fr-de-pl', problem: null })
      expect(service.recogniser()).toEqual({
        pack: 'fr-de-pl',
        name: 'French, German and Polish',
        language: 'fr+de+pl',
        engine: 'tesseract',
        languages,
      })
    }
    // The text layer's process could not start it: the built-in pack reads, and the view says why.
    const { service, changes } = await open(offline, undefined, () => ['de-DE'])
    service.reported({ pack: 'builtin', problem: 'French, German and Polish could not be loaded (no traineddata).' })
    expect(service.recogniser()).toBeNull()
    expect(await service.list()).toMatchObject({ inUse: 'builtin', problem: expect.stringContaining('could not be loaded') })
    // Only the reload at open (see below): the process that fell back already reads with the built-in pack.
    expect(changes).toEqual(['reload'])
  })

  it("keeps a failure of the app's own pack when the models folder changes", async () => {
    const { service, changes } = await open(offline, undefined, () => ['pl-PL'])
    expect(service.recogniser()).toMatchObject({ pack: 'fr-de-pl' })
    // The text layer's process could not load it and fell back.
    service.reported({ pack: 'builtin', problem: 'French, German and Polish could not be loaded (a damaged file).' })
    expect(service.recogniser()).toBeNull()
    // A model finished downloading.
    await service.refresh()
    expect(service.recogniser()).toBeNull()
    expect((await service.list()).problem).toMatch(/could not be loaded/)
    expect(changes).toEqual(['reload'])
  })

  it('has a text layer process started before it opened load the pack wanted', async () => {
    // A local-API read during startup starts the process before the service exists: with the built-in pack.
    const polish = await open(offline, undefined, () => ['pl-PL'])
    expect(polish.service.recogniser()).toMatchObject({ pack: 'fr-de-pl' })
    expect(polish.changes).toEqual(['reload'])
    // The built-in pack wanted: what such a process reads with already.
    expect((await open(offline, undefined, () => ['en-US'])).changes).toEqual([])
  })

  it('opens on a damaged, unknown or newer choice file with auto, and keeps the file aside', async () => {
    // main awaits this service before the app is ready: a throw here stopped the app from starting.
    for (const content of [
      '{"choice": "fr-de-pl",',
      '',
      'null',
      '[]',
      '{"choice": 5}',
      '{"choice": "klingon"}',
      '{"choice": "korean", "script": "hangul"}',
    ]) {
      const dir = await scratchDir()
      await writeFile(join(dir, 'ocr-language.json'), content)
      const { service } = await open(offline, dir)
      expect((await service.list()).choice, content).toBe(content.includes('korean') ? 'korean' : 'auto')
      expect(await readFile(join(dir, 'ocr-language.json.unreadable'), 'utf8'), content).toBe(content)
    }
    // A file this version wrote is read as it is, and nothing is copied.
    const dir = await scratchDir()
    await writeFile(join(dir, 'ocr-language.json'), JSON.stringify({ choice: 'korean' }))
    expect((await (await open(offline, dir)).service.list()).choice).toBe('korean')
    expect(await readdir(dir)).toEqual(['ocr-language.json'])
  })

  it('says in words when the choice cannot be saved, and keeps the one in use', async () => {
    const dir = await scratchDir()
    // A folder where the file goes: the atomic write's rename fails, as on a read-only or full disk.
    await mkdir(join(dir, 'ocr-language.json'))
    const { service, changes } = await open(offline, dir, () => ['en-US'])
    const error = await rejection(service.set('korean'))
    expect(error.code).toBe('storage')
    expect(error.message).toMatch(/^The text-layer language could not be saved \(EISDIR: .*\); nothing was changed\.$/)
    expect(await service.list()).toMatchObject({ choice: 'auto', wanted: 'builtin' })
    expect(changes).toEqual([])
  })

  it('survives a system that cannot say its languages', async () => {
    const { service } = await open(offline, undefined, () => {
      throw new Error('not ready')
    })
    expect(await service.list()).toMatchObject({ systemLanguages: [], automatic: 'builtin', inUse: 'builtin', problem: null })
  })
})

describe("the text layer process's recogniser (OCR_RECOGNISER)", () => {
  it('round-trips both kinds and takes nothing else', () => {
    const paddle: OcrRecogniser = {
      pack: 'latin',
      name: 'Latin script',
      language: 'latin',
      engine: 'paddle',
      model: '/m/rec.onnx',
      dictionary: '/m/dict.txt',
    }
    const tesseract: OcrRecogniser = { pack: 'fr-de-pl', name: 'French', language: 'fr', engine: 'tesseract', languages: ['fra', 'deu'] }
    for (const recogniser of [paddle, tesseract]) expect(recogniserFromEnv(recogniserEnv(recogniser).OCR_RECOGNISER)).toEqual(recogniser)
    expect(recogniserEnv(null)).toEqual({ OCR_RECOGNISER: '' })
    for (const bad of [
      '',
      'not json',
      '[]',
      JSON.stringify({ ...tesseract, languages: ['../../etc/passwd'] }),
      JSON.stringify({ ...tesseract, languages: [] }),
      JSON.stringify({ ...paddle, engine: undefined }),
      JSON.stringify({ ...paddle, model: 3 }),
    ])
      expect(recogniserFromEnv(bad), bad).toBeNull()
  })
})

describe('OCR language requests from the window', () => {
  it('accepts auto or a pack id, and nothing else', () => {
    const set = ocrInvoke['ocr:set-language'].request
    expect(set.safeParse({ choice: 'auto' }).success).toBe(true)
    expect(set.safeParse({ choice: 'latin' }).success).toBe(true)
    for (const bad of [{ choice: '../models' }, { choice: '' }, { choice: 'latin', path: '/etc' }, { choice: 'x'.repeat(33) }, null])
      expect(set.safeParse(bad).success).toBe(false)
    expect(ocrInvoke['ocr:delete-language'].request.safeParse({ id: 'ocr/../..' }).success).toBe(false)
  })

  it('downloads a pack by its id only', () => {
    expect(DownloadStart.safeParse({ source: 'ocr', id: 'latin' }).success).toBe(true)
    expect(DownloadStart.safeParse({ source: 'ocr', id: '../../etc' }).success).toBe(false)
    expect(DownloadStart.safeParse({ source: 'ocr', id: 'latin', url: 'https://example.com/x.onnx' }).success).toBe(false)
  })
})
