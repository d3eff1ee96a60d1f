/// <reference types="svelte" />
// (The reference: the controller uses runes, and tsconfig.node.json names only Node's types.)
// The model manager's controller under Node, against a fake main: the channels each action
// calls, and the library, catalog, downloads and search state it shows.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type {
  Catalog,
  DownloadJob,
  EngineState,
  HubRepoFiles,
  LibraryEntry,
  LibraryView,
  ModelFileInfo,
} from '../../electron/ipc/contract.js'
import { downloadOfModel, ModelsController } from '../../renderer/src/lib/models.svelte.js'
import { engineInfo, FakeAssistant, readyEngine } from './fake-assistant.js'
import { watch } from './watch.svelte.js'

const JOB_ID = '6f1c2a4e-8b1d-4c3e-9a2f-0d5e7b9c1a3f'

function file(path: string, kind: ModelFileInfo['kind']): ModelFileInfo {
  return {
    path,
    kind,
    architecture: 'llama',
    name: null,
    fileBytes: 1000,
    parameters: 135e6,
    quantisation: 'Q8_0',
    weightBytes: 900,
    totalLayers: 2,
    trainContextSize: 4096,
    embeddingSize: 64,
    projectorType: kind === 'mmproj' ? 'mlp' : null,
    imageBudget: null,
  }
}

function entry(path: string, mmproj: string | null): LibraryEntry {
  return { model: file(path, 'llm'), mmproj: mmproj ? file(mmproj, 'mmproj') : null, rejected: [], linked: false, fit: null }
}

function library(models: LibraryEntry[], unverified: string[] = []): LibraryView {
  return { root: '/models', models, orphanProjectors: [], problems: [], hardware: null, unverified }
}

function job(state: DownloadJob['state'], overrides: Partial<DownloadJob> = {}): DownloadJob {
  const done = state === 'done'
  return {
    id: JOB_ID,
    title: 'Tiny VLM (F32)',
    catalogId: 'tiny-vlm',
    ocrPack: null,
    folder: 'tiny-vlm',
    files: [
      { fileName: 'tiny-vlm-F32.gguf', role: 'model', totalBytes: 600, downloadedBytes: done ? 600 : 100, done, checksum: 'sha256' },
      { fileName: 'mmproj-tiny-vlm-F32.gguf', role: 'mmproj', totalBytes: 100, downloadedBytes: done ? 100 : 0, done, checksum: 'sha256' },
    ],
    state,
    totalBytes: 700,
    downloadedBytes: done ? 700 : 100,
    bytesPerSecond: null,
    etaSeconds: null,
    retry: null,
    error: null,
    modelPath: done ? '/models/tiny-vlm/tiny-vlm-F32.gguf' : null,
    mmprojPath: done ? '/models/tiny-vlm/mmproj-tiny-vlm-F32.gguf' : null,
    ...overrides,
  }
}

const catalog: Catalog = {
  version: 1,
  recommended: 'tiny-vlm',
  entries: [
    {
      id: 'tiny-vlm',
      name: 'Tiny VLM',
      description: 'A test model.',
      repo: 'test-org/Tiny-VLM-GGUF',
      revision: 'main',
      licence: 'MIT',
      licenceUrl: 'https://opensource.org/license/mit',
      models: [{ file: 'tiny-vlm-F32.gguf', quantisation: 'F32', approxBytes: 600, sha256: null }],
      mmproj: { file: 'mmproj-tiny-vlm-F32.gguf', quantisation: 'F32', approxBytes: 100, sha256: null },
    },
  ],
}

const repoFiles: HubRepoFiles = {
  repo: 'test-org/Tiny-VLM-GGUF',
  models: [{ path: 'tiny-vlm-F32.gguf', bytes: 600, sha256: null, gitBlobSha1: null, quantisation: 'F32' }],
  projectors: [{ path: 'mmproj-tiny-vlm-F32.gguf', bytes: 100, sha256: null, gitBlobSha1: null, quantisation: 'F32' }],
}

describe('ModelsController', () => {
  let main: FakeAssistant
  let models: ModelsController
  let installed: LibraryEntry[]

  beforeEach(() => {
    installed = []
    main = new FakeAssistant()
      .answer('models:catalog', catalog)
      .answer('downloads:list', [])
      .answer('models:library', () => library(installed))
    models = new ModelsController(main.client)
  })

  it('starts with the catalog, the downloads and the library, and stops listening when stopped', async () => {
    main.answer('downloads:list', [job('paused')])
    const stop = await models.start()
    expect(main.channels()).toEqual(['models:catalog', 'downloads:list', 'models:library'])
    expect(models.catalog?.entries.map((e) => e.id)).toEqual(['tiny-vlm'])
    expect(models.recommended?.name).toBe('Tiny VLM')
    expect(models.downloads.map((d) => d.state)).toEqual(['paused'])
    expect(models.active).toHaveLength(1)
    expect(models.library?.models).toEqual([])
    stop()
    expect(main.listening('downloads:changed')).toBe(0)
    expect(main.listening('models:changed')).toBe(0)
    expect(main.listening('engine:state')).toBe(0)
  })

  it('starts, pauses, resumes, cancels and dismisses downloads on their channels, showing main’s answer', async () => {
    await models.start()
    main.answer('downloads:start', job('queued')).answer('downloads:list', [job('queued')])
    expect(await models.download({ source: 'catalog', id: 'tiny-vlm' }, { at: { area: 'catalog', item: 'tiny-vlm' } })).toBe(true)
    expect(main.requests('downloads:start')).toEqual([{ source: 'catalog', id: 'tiny-vlm' }])
    expect(models.downloads.map((d) => d.state)).toEqual(['queued'])

    main.answer('downloads:pause', [job('paused')])
    expect(await models.pause(JOB_ID)).toBe(true)
    expect(main.requests('downloads:pause')).toEqual([{ id: JOB_ID }])
    expect(models.downloads[0]?.state).toBe('paused')

    main.answer('downloads:resume', [job('downloading')])
    await models.resume(JOB_ID)
    expect(main.requests('downloads:resume')).toEqual([{ id: JOB_ID }])
    expect(models.downloads[0]?.state).toBe('downloading')

    main.answer('downloads:cancel', [])
    await models.cancel(JOB_ID)
    expect(main.requests('downloads:cancel')).toEqual([{ id: JOB_ID }])
    expect(models.downloads).toEqual([])
    expect(models.active).toEqual([])

    main.answer('downloads:dismiss', [])
    await models.dismiss(JOB_ID)
    expect(main.requests('downloads:dismiss')).toEqual([{ id: JOB_ID }])
  })

  it('follows the downloads main pushes, and loads the first-run download when it finishes', async () => {
    await models.start()
    const states = watch(() => models.downloads.map((d) => d.state))
    main
      .answer('downloads:start', job('queued'))
      .answer('downloads:list', [job('queued')])
      .answer('engine:status', { state: 'idle' })
      .answer('engine:load', engineInfo({ vision: true }))
    await models.download({ source: 'catalog', id: 'tiny-vlm' }, { at: { area: 'first-run' }, loadWhenDone: true })

    main.emit('downloads:changed', [job('downloading')])
    expect(models.downloads[0]?.state).toBe('downloading')
    await vi.waitFor(() => expect(states.values.at(-1)).toEqual(['downloading']))
    expect(main.requests('engine:load')).toEqual([])

    main.emit('downloads:changed', [job('done')])
    await vi.waitFor(() =>
      expect(main.requests('engine:load')).toEqual([
        { modelPath: '/models/tiny-vlm/tiny-vlm-F32.gguf', mmprojPath: '/models/tiny-vlm/mmproj-tiny-vlm-F32.gguf' },
      ]),
    )
    expect(models.active).toEqual([])
    // Once: a later event for the same finished download loads nothing more.
    await vi.waitFor(() => expect(states.values).toHaveLength(4))
    main.emit('downloads:changed', [job('done')])
    // Each push replaces the list, and each replacement re-renders it.
    await vi.waitFor(() => expect(states.values).toEqual([[], ['queued'], ['downloading'], ['done'], ['done']]))
    expect(main.requests('engine:load')).toHaveLength(1)
    states.stop()
  })

  it('a cancelled first-run download is not loaded if it finishes anyway', async () => {
    await models.start()
    main
      .answer('downloads:start', job('queued'))
      .answer('downloads:list', [job('queued')])
      .answer('downloads:cancel', [])
    await models.download({ source: 'catalog', id: 'tiny-vlm' }, { at: { area: 'first-run' }, loadWhenDone: true })
    await models.cancel(JOB_ID)
    main.emit('downloads:changed', [job('done')])
    expect(main.requests('engine:load')).toEqual([])
  })

  // The first-run download's own load: started by itself, so its failure is said in the
  // first-run area, where the user is (the download's card is on the Models page).
  async function finishFirstRun(engine: EngineState = { state: 'idle' }): Promise<void> {
    main.answer('engine:status', engine)
    await models.start()
    main.answer('downloads:start', job('queued')).answer('downloads:list', [job('queued')])
    await models.download({ source: 'catalog', id: 'tiny-vlm' }, { at: { area: 'first-run' }, loadWhenDone: true })
    main.emit('downloads:changed', [job('done')])
  }
  const TINY = { modelPath: '/models/tiny-vlm/tiny-vlm-F32.gguf', mmprojPath: '/models/tiny-vlm/mmproj-tiny-vlm-F32.gguf' }

  it('says in the first-run area why the finished first-run download could not be loaded, and tries again when asked', async () => {
    const damaged = 'Model file tiny-vlm-F32.gguf is incomplete: it ends early. Download it again.'
    main.refuse('engine:load', { code: 'bad-model-file', message: damaged })
    const notes = watch(() => models.firstRunNote?.kind ?? null)
    await finishFirstRun()
    await vi.waitFor(() => expect(models.firstRunNote).toEqual({ kind: 'failed', name: 'Tiny VLM', ...TINY, text: damaged }))
    // The download's card on the Models page says it too.
    expect(models.errorIn('downloads', JOB_ID)).toBe(damaged)
    await vi.waitFor(() => expect(notes.values.at(-1)).toBe('failed'))

    main.answer('engine:load', engineInfo({ vision: true, ...TINY }))
    expect(await models.loadFirstRun()).toBe(true)
    expect(main.requests('engine:load')).toEqual([TINY, TINY])
    expect(models.firstRunNote).toBeNull()
    expect(models.errorIn('downloads', JOB_ID)).toBeNull()
    notes.stop()
  })

  it('a first-run load the user stopped is no failure to show, and is not tried again', async () => {
    main.refuse('engine:load', { code: 'load-cancelled', message: 'Loading the model was stopped.' })
    await finishFirstRun()
    await vi.waitFor(() => expect(main.requests('engine:load')).toHaveLength(1))
    await new Promise((r) => setTimeout(r, 0))
    expect(models.firstRunNote).toBeNull()
    expect(models.errorIn('downloads', JOB_ID)).toBeNull()

    main.refuse('engine:load', { code: 'bad-model-file', message: 'Broken.' })
    main.emit('downloads:changed', [job('done')])
    // Loaded (or tried) once: a later event for the same download does nothing.
    await new Promise((r) => setTimeout(r, 0))
    expect(main.requests('engine:load')).toHaveLength(1)
  })

  it('a first-run note the user dismissed is gone, with nothing left to try', async () => {
    main.refuse('engine:load', { code: 'bad-model-file', message: 'Broken.' })
    await finishFirstRun()
    await vi.waitFor(() => expect(models.firstRunNote).toMatchObject({ kind: 'failed', text: 'Broken.' }))
    models.dismissFirstRunNote()
    expect(models.firstRunNote).toBeNull()
    expect(await models.loadFirstRun()).toBe(false)
    expect(main.requests('engine:load')).toHaveLength(1)
  })

  it.each<[string, EngineState]>([
    ['loaded', readyEngine({ vision: false, modelPath: '/models/mine.gguf' })],
    ['loading', { state: 'loading', modelPath: '/models/mine.gguf' }],
    ['coming back after a crash', { state: 'crashed', message: 'The engine stopped.', restarting: true }],
  ])('a finished first-run download replaces no model %s meanwhile (loaded by the user): it says it is ready', async (_, engine) => {
    main.answer('engine:load', engineInfo({ vision: true, ...TINY }))
    await finishFirstRun(engine)
    await vi.waitFor(() => expect(models.firstRunNote).toEqual({ kind: 'ready', name: 'Tiny VLM', ...TINY }))
    expect(main.requests('engine:load')).toEqual([])
    // Loaded when the user says so.
    expect(await models.loadFirstRun()).toBe(true)
    expect(main.requests('engine:load')).toEqual([TINY])
    expect(models.firstRunNote).toBeNull()
  })

  it('a ready first-run model that then fails to load says why', async () => {
    await finishFirstRun(readyEngine({ vision: false, modelPath: '/models/mine.gguf' }))
    await vi.waitFor(() => expect(models.firstRunNote?.kind).toBe('ready'))
    main.refuse('engine:load', { code: 'bad-model-file', message: 'Broken.' })
    expect(await models.loadFirstRun()).toBe(false)
    expect(models.firstRunNote).toEqual({ kind: 'failed', name: 'Tiny VLM', ...TINY, text: 'Broken.' })
  })

  it('a first-run note goes once its model is loaded some other way, and stays for another model', async () => {
    main.refuse('engine:load', { code: 'bad-model-file', message: 'Broken.' })
    await finishFirstRun()
    await vi.waitFor(() => expect(models.firstRunNote).toMatchObject({ kind: 'failed', text: 'Broken.' }))
    main.emit('engine:state', readyEngine({ vision: false, modelPath: '/models/other.gguf' }))
    expect(models.firstRunNote).toMatchObject({ kind: 'failed', text: 'Broken.' })
    main.emit('engine:state', readyEngine({ vision: true, ...TINY }))
    expect(models.firstRunNote).toBeNull()
  })

  // The window's memory of which download the offer started is lost with a reload, or a restart.
  it.each<[string, DownloadJob['state']]>([
    ['the window was reopened mid-download', 'downloading'],
    ['the app restarted (the download waits for Resume)', 'paused'],
  ])('loads the first-run download when it finishes after %s', async (_, state) => {
    main
      .answer('downloads:list', [job(state)])
      .answer('engine:status', { state: 'idle' })
      .answer('engine:load', engineInfo({ vision: true, ...TINY }))
    await models.start()
    main.emit('downloads:changed', [job('downloading')])
    main.emit('downloads:changed', [job('done')])
    await vi.waitFor(() => expect(main.requests('engine:load')).toEqual([TINY]))
  })

  it.each<[string, () => void]>([
    ['a model is in the library', () => (installed = [entry('/models/mine/mine.gguf', null)])],
    ['it is not the recommended model', () => main.answer('downloads:list', [job('downloading', { catalogId: 'other' })])],
  ])('after a reload, an unfinished download is not the first-run one when %s', async (_, arrange) => {
    main
      .answer('downloads:list', [job('downloading')])
      .answer('engine:status', { state: 'idle' })
      .answer('engine:load', engineInfo({ vision: true, ...TINY }))
    arrange()
    await models.start()
    main.emit('downloads:changed', [job('done', { catalogId: models.downloads[0]!.catalogId })])
    await new Promise((r) => setTimeout(r, 0))
    expect(main.requests('engine:status')).toEqual([])
    expect(main.requests('engine:load')).toEqual([])
  })

  it('reads the library again when main says it changed', async () => {
    await models.start()
    const names = watch(() => models.library?.models.map((m) => m.model.path))
    installed = [entry('/models/tiny/tiny.gguf', '/models/tiny/mmproj-tiny.gguf')]
    main.emit('models:changed', null)
    await vi.waitFor(() => expect(models.library?.models).toHaveLength(1))
    await vi.waitFor(() => expect(names.values).toEqual([[], ['/models/tiny/tiny.gguf']]))
    names.stop()
  })

  it('lists the library files main records as unverified, with or without their download in the list', async () => {
    const projector = '/models/tiny-vlm/mmproj-tiny-vlm-F32.gguf'
    main.answer('models:library', () => library([entry('/models/tiny-vlm/tiny-vlm-F32.gguf', projector)], [projector]))
    await models.start()
    expect(models.downloads).toEqual([])
    expect(models.unverified).toEqual([projector])
  })

  it('imports, deletes and reveals through main, keeping the library when the picker is closed', async () => {
    installed = [entry('/models/tiny/tiny.gguf', null)]
    await models.start()
    main.answer('models:import', null)
    expect(await models.import('copy')).toBe(true)
    expect(main.requests('models:import')).toEqual([{ mode: 'copy' }])
    expect(models.library?.models).toHaveLength(1)

    main.answer('models:import', library([...installed, entry('/elsewhere/big.gguf', null)]))
    await models.import('link')
    expect(models.library?.models).toHaveLength(2)

    main.answer('models:delete', library([]))
    await models.remove('/models/tiny/tiny.gguf')
    expect(main.requests('models:delete')).toEqual([{ path: '/models/tiny/tiny.gguf' }])
    expect(models.library?.models).toEqual([])

    main.answer('models:reveal', null)
    await models.reveal('/models/tiny/tiny.gguf', { area: 'library', item: '/models/tiny/tiny.gguf' })
    expect(main.requests('models:reveal')).toEqual([{ path: '/models/tiny/tiny.gguf' }])
  })

  it('says an import is under way until main answers, and starts no second one meanwhile', async () => {
    await models.start()
    let answer!: () => void
    main.answer('models:import', () => new Promise<null>((resolve) => (answer = () => resolve(null))))
    const importing = models.import('copy')
    expect(models.importing).toBe('copy')
    expect(await models.import('link')).toBe(false)
    await vi.waitFor(() => expect(answer).toBeTypeOf('function'))
    answer()
    expect(await importing).toBe(true)
    expect(models.importing).toBeNull()
    expect(main.requests('models:import')).toEqual([{ mode: 'copy' }])
  })

  it('loads a model with its projector, and shows main’s sentence when that fails', async () => {
    await models.start()
    main.refuse('engine:load', { code: 'mmproj-mismatch', message: 'The projector does not fit this model.' })
    expect(await models.load({ modelPath: '/m/a.gguf', mmprojPath: '/m/mmproj.gguf' }, { area: 'library', item: '/m/a.gguf' })).toBe(false)
    expect(main.requests('engine:load')).toEqual([{ modelPath: '/m/a.gguf', mmprojPath: '/m/mmproj.gguf' }])
    expect(models.errorIn('library', '/m/a.gguf')).toBe('The projector does not fit this model.')

    main.answer('engine:load', engineInfo({ vision: false }))
    expect(await models.load({ modelPath: '/m/b.gguf', mmprojPath: null }, { area: 'library', item: '/m/b.gguf' })).toBe(true)
    expect(main.requests('engine:load').at(-1)).toEqual({ modelPath: '/m/b.gguf' })
    expect(models.errorIn('library', '/m/a.gguf')).toBeNull()
  })

  it('a load the user stopped (Stop loading) is no failure to show', async () => {
    await models.start()
    main.refuse('engine:load', { code: 'load-cancelled', message: 'Loading the model was stopped.' })
    expect(await models.load({ modelPath: '/m/big.gguf', mmprojPath: null }, { area: 'library', item: '/m/big.gguf' })).toBe(false)
    expect(models.errorIn('library', '/m/big.gguf')).toBeNull()
  })

  it('searches the hub, opens a repository’s files and closes them again', async () => {
    await models.start()
    let answer!: () => void
    main.answer(
      'models:search',
      () =>
        new Promise(
          (resolve) => (answer = () => resolve([{ repo: repoFiles.repo, downloads: 10, likes: 1, updatedAt: '', gated: false }])),
        ),
    )
    const searched = models.search('tiny')
    expect(models.searching).toBe(true)
    await vi.waitFor(() => expect(answer).toBeTypeOf('function'))
    answer()
    await searched
    expect(main.requests('models:search')).toEqual([{ query: 'tiny' }])
    expect(models.searching).toBe(false)
    expect(models.results?.map((r) => r.repo)).toEqual([repoFiles.repo])

    main.answer('models:repo', repoFiles)
    await models.openRepo(repoFiles.repo)
    expect(main.requests('models:repo')).toEqual([{ repo: repoFiles.repo }])
    expect(models.repo?.projectors.map((p) => p.path)).toEqual(['mmproj-tiny-vlm-F32.gguf'])

    models.closeRepo()
    expect(models.repo).toBeNull()
    // The results stay, to choose another repository from.
    expect(models.results).toHaveLength(1)

    // A new search closes an open repository.
    await models.openRepo(repoFiles.repo)
    main.answer('models:search', [])
    await models.search('nothing')
    expect(models.repo).toBeNull()
    expect(models.results).toEqual([])
  })

  it('a refused search shows why, and the next call clears it', async () => {
    await models.start()
    main.answer('models:search', [{ repo: repoFiles.repo, downloads: 10, likes: 1, updatedAt: '', gated: false }])
    await models.search('tiny')
    expect(models.results).toHaveLength(1)
    main.refuse('models:search', { code: 'network', message: 'Hugging Face could not be reached.' })
    await models.search('qwen')
    expect(models.errorIn('search')).toBe('Hugging Face could not be reached.')
    // The last search's results are not shown under the error as though they answered this one.
    expect(models.results).toBeNull()
    expect(models.searching).toBe(false)
    main.answer('models:repo', repoFiles)
    await models.openRepo(repoFiles.repo)
    expect(models.errorIn('search')).toBeNull()
  })

  it('asks for two characters, spaces aside, without asking main', async () => {
    await models.start()
    await models.search('   ')
    expect(main.requests('models:search')).toEqual([])
    expect(models.errorIn('search')).toBe('Type at least two characters to search.')
    main.answer('models:search', [])
    await models.search('  ab ')
    expect(main.requests('models:search')).toEqual([{ query: 'ab' }])
    expect(models.errorIn('search')).toBeNull()
  })

  it('keeps each error with the section and card whose action failed, until that section acts again or the page is left', async () => {
    await models.start()
    main.refuse('models:search', { code: 'network', message: 'Hugging Face could not be reached.' })
    await models.search('tiny')
    main.refuse('downloads:dismiss', { code: 'busy', message: 'Tiny VLM (F32) is not finished; pause or cancel it instead.' })
    await models.dismiss(JOB_ID)
    main.refuse('models:delete', { code: 'not-found', message: 'tiny.gguf is not in your model library.' })
    await models.remove('/models/tiny/tiny.gguf')

    expect(models.errorIn('search')).toBe('Hugging Face could not be reached.')
    expect(models.errorIn('downloads', JOB_ID)).toBe('Tiny VLM (F32) is not finished; pause or cancel it instead.')
    // Said on the card whose button was pressed, and nowhere else.
    expect(models.errorIn('downloads')).toBeNull()
    expect(models.errorIn('library', '/models/tiny/tiny.gguf')).toBe('tiny.gguf is not in your model library.')
    expect(models.errorIn('library', '/models/other/other.gguf')).toBeNull()

    // The library read again after a change elsewhere leaves the user's error where it was.
    main.emit('models:changed', null)
    await vi.waitFor(() => expect(main.requests('models:library')).toHaveLength(2))
    expect(models.errorIn('library', '/models/tiny/tiny.gguf')).toBe('tiny.gguf is not in your model library.')

    // A search that works clears the search's error and no other.
    main.answer('models:search', [])
    await models.search('tiny')
    expect(models.errorIn('search')).toBeNull()
    expect(models.errorIn('downloads', JOB_ID)).not.toBeNull()

    // Leaving the page clears the areas it names.
    models.clearErrors('downloads', 'library')
    expect(models.errorIn('downloads', JOB_ID)).toBeNull()
    expect(models.errorIn('library', '/models/tiny/tiny.gguf')).toBeNull()
  })
})

describe('the download of a catalog file', () => {
  it('is the unfinished one of that model file, whoever started it, not a finished one or another quantisation’s', () => {
    const q8 = (state: DownloadJob['state']): DownloadJob => {
      const base = job(state)
      return { ...base, id: 'q8', title: 'Tiny VLM (Q8_0)', files: [{ ...base.files[0]!, fileName: 'tiny-vlm-Q8_0.gguf' }, base.files[1]!] }
    }
    const searched = job('paused', { catalogId: null })
    expect(downloadOfModel([q8('paused'), searched], 'sub/tiny-vlm-F32.gguf')).toBe(searched)
    expect(downloadOfModel([job('done'), q8('failed')], 'tiny-vlm-F32.gguf')).toBeUndefined()
    expect(downloadOfModel([job('done'), q8('failed')], 'tiny-vlm-Q8_0.gguf')?.id).toBe('q8')
    // A projector of that name is not the model.
    expect(downloadOfModel([job('queued')], 'mmproj-tiny-vlm-F32.gguf')).toBeUndefined()
  })
})
