/// <reference types="svelte" />
// (The reference: the controller uses runes, and tsconfig.node.json names only Node's types.)
// The text-layer languages controller under Node, against a fake main: the channels each action
// calls, main's pushes it follows, and the error it shows.
import { beforeEach, describe, expect, it } from 'vitest'
import type { DownloadJob, OcrLanguagesView } from '../../electron/ipc/contract.js'
import { OcrLanguagesController } from '../../renderer/src/lib/ocr-languages.svelte.js'
import { FakeAssistant } from './fake-assistant.js'

const JOB_ID = '0b7e9a1c-2d3f-4e5a-8b6c-7d8e9f0a1b2c'

function view(overrides: Partial<OcrLanguagesView> = {}): OcrLanguagesView {
  return {
    choice: 'auto',
    systemLanguages: ['fr-FR'],
    automatic: 'latin',
    wanted: 'latin',
    inUse: 'builtin',
    problem: 'Latin script is not downloaded: screens are read in English and Chinese until it is.',
    packs: [
      { id: 'builtin', name: 'English and Chinese', languages: 'English, Chinese', builtIn: true, installed: true, bytes: 0, exact: true },
      { id: 'latin', name: 'Latin script', languages: 'French, …', builtIn: false, installed: false, bytes: 8_000_000, exact: false },
    ],
    ...overrides,
  }
}

function job(state: DownloadJob['state'], ocrPack: string | null): DownloadJob {
  return {
    id: JOB_ID,
    title: 'Text layer: Latin script',
    catalogId: null,
    ocrPack,
    folder: 'ocr/latin',
    files: [],
    state,
    totalBytes: 100,
    downloadedBytes: 10,
    bytesPerSecond: null,
    etaSeconds: null,
    retry: null,
    error: null,
    modelPath: null,
    mmprojPath: null,
  }
}

describe('OcrLanguagesController', () => {
  let main: FakeAssistant
  let languages: OcrLanguagesController

  beforeEach(() => {
    main = new FakeAssistant().answer('ocr:languages', view()).answer('downloads:list', [])
    languages = new OcrLanguagesController(main.client)
  })

  it('starts with the packs and the downloads, follows main’s pushes, and stops listening when stopped', async () => {
    const stop = await languages.start()
    expect(languages.view?.automatic).toBe('latin')
    expect(languages.packName('latin')).toBe('Latin script')
    main.emit('downloads:changed', [job('downloading', 'latin')])
    expect(languages.downloadOf('latin')?.state).toBe('downloading')
    expect(languages.downloadOf('builtin')).toBeNull()
    main.emit('downloads:changed', [job('done', 'latin')])
    expect(languages.downloadOf('latin')).toBeNull()
    main.emit('ocr:changed', view({ inUse: 'latin', problem: null }))
    expect(languages.view).toMatchObject({ inUse: 'latin', problem: null })
    stop()
    expect(main.listening('ocr:changed')).toBe(0)
    expect(main.listening('downloads:changed')).toBe(0)
  })

  it('chooses, downloads, cancels and deletes on their channels', async () => {
    await languages.start()
    main.answer('ocr:set-language', view({ choice: 'builtin', wanted: 'builtin', problem: null }))
    expect(await languages.choose('builtin')).toBe(true)
    expect(main.requests('ocr:set-language')).toEqual([{ choice: 'builtin' }])
    expect(languages.view?.choice).toBe('builtin')

    main.answer('downloads:start', job('queued', 'latin')).answer('downloads:list', [job('queued', 'latin')])
    expect(await languages.download(languages.view!.packs[1]!)).toBe(true)
    expect(main.requests('downloads:start')).toEqual([{ source: 'ocr', id: 'latin' }])
    expect(languages.downloadOf('latin')?.state).toBe('queued')

    main.answer('downloads:cancel', [])
    expect(await languages.cancel(languages.downloadOf('latin')!)).toBe(true)
    expect(main.requests('downloads:cancel')).toEqual([{ id: JOB_ID }])
    expect(languages.downloadOf('latin')).toBeNull()

    main.answer('ocr:delete-language', view())
    expect(await languages.remove('latin')).toBe(true)
    expect(main.requests('ocr:delete-language')).toEqual([{ id: 'latin' }])
  })

  it('shows main’s refusal as the section’s error, and clears it on the next action', async () => {
    await languages.start()
    main.refuse('ocr:set-language', { code: 'not-found', message: 'There is no text-layer language pack “xx”.' })
    expect(await languages.choose('xx')).toBe(false)
    expect(languages.error).toBe('There is no text-layer language pack “xx”.')
    main.answer('ocr:set-language', view())
    expect(await languages.choose('auto')).toBe(true)
    expect(languages.error).toBeNull()
  })
})
