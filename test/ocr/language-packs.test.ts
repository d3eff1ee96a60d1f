// Text-layer language packs end to end: downloaded from a stand-in Hugging Face hub on
// 127.0.0.1 by the model manager (verified, installed as a unit), picked from the system's
// languages, and read with by the text layer's own process; a pack that is missing or damaged
// leaves the built-in recogniser reading, with the reason in the view.
//
// No real pack can be fetched here (no Hugging Face), so the stand-in serves the built-in
// PP-OCRv4 recogniser under the Latin pack's name, with a dictionary in which 'o' and 'l' are
// 'ö' and 'ł': the same model then decodes "Hello world" as "Hełłö wörłd", which proves that
// the pack's model and dictionary, not the built-in pair, did the reading.
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DownloadJob, OcrLanguagesView } from '../../electron/ipc/contract.js'
import { DownloadManager } from '../../electron/models/download-manager.js'
import { createHub } from '../../electron/models/hub.js'
import { BUILT_IN_PACK, OCR_PACKS, type OcrPack } from '../../electron/ocr/languages.js'
import { openOcrLanguages, type OcrLanguages } from '../../electron/ocr/language-service.js'
import { defaultModelDir } from '../../electron/ocr/paddle.js'
import { createProcessReader } from '../../electron/ocr/process-reader.js'
import { ScreenReader } from '../../electron/ocr/reader.js'
import { nodeOcrSpawner } from '../../electron/ocr/spawn-node.js'
import { createTextLayer, type TextLayer } from '../../electron/ocr/text-layer.js'
import type { FileServer } from '../models/file-server.js'
import { startHubServer } from '../models/hub-server.js'
import { scratchDir } from '../support/engine.js'
import { textPng } from '../support/images.js'

const REPO = 'test-org/ocr-packs'

function pack(id: string, name: string, locales: string[]): OcrPack {
  const folder = `languages/${id}`
  return {
    id,
    name,
    languages: name,
    locales,
    language: id,
    source: { repo: REPO, revision: 'main', model: `${folder}/rec.onnx`, dictionary: `${folder}/dict.txt`, approxBytes: 9_000_000 },
  }
}
const PACKS: OcrPack[] = [
  OCR_PACKS.find((p) => p.id === BUILT_IN_PACK)!,
  pack('latin', 'Latin script', ['pl', 'fr']),
  pack('greek', 'Greek', ['el']),
]

/** ppocr_keys_v1 with 'o' → 'ö' and 'l' → 'ł': the built-in model's classes, other letters. */
function accented(keys: string): string {
  return keys
    .split('\n')
    .map((line) => (line === 'o' ? 'ö' : line === 'l' ? 'ł' : line))
    .join('\n')
}

async function until<T>(check: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let hub: FileServer
let root: string
let manager: DownloadManager
let languages: OcrLanguages
let layer: TextLayer
let views: OcrLanguagesView[]
let recModel: Buffer
let image: Uint8Array
/** Text layer processes started so far. */
let spawns = 0

beforeAll(async () => {
  const assets = defaultModelDir()
  recModel = await readFile(join(assets, 'ch_PP-OCRv4_rec_infer.onnx'))
  const keys = await readFile(join(assets, 'ppocr_keys_v1.txt'), 'utf8')
  hub = await startHubServer(
    {
      [REPO]: {
        'languages/latin/rec.onnx': recModel,
        'languages/latin/dict.txt': Buffer.from(accented(keys)),
        // A model cut short, as a broken upload or mirror would serve it (its listing matches, so it verifies).
        'languages/greek/rec.onnx': recModel.subarray(0, recModel.length >> 1),
        'languages/greek/dict.txt': Buffer.from(keys),
      },
    },
    // Dictionaries are small files the hub keeps in git: their git blob SHA-1 is what gets checked.
    { listing: { 'languages/latin/dict.txt': 'git', 'languages/greek/dict.txt': 'git' } },
  )
  root = await scratchDir()
  const hubClient = createHub({ hubUrl: hub.origin })
  views = []
  languages = await openOcrLanguages({
    path: join(root, 'ocr-language.json'),
    modelsRoot: root,
    systemLanguages: () => ['pl-PL', 'en-US'],
    hub: hubClient,
    packs: PACKS,
    onRecogniserChanged: () => layer.reload(),
    onChange: (view) => views.push(view),
  })
  const spawn = nodeOcrSpawner({ recogniser: () => languages.recogniser() })
  layer = createTextLayer(
    createProcessReader(
      () => {
        spawns++
        return spawn()
      },
      { onReady: (status) => languages.reported(status) },
    ),
  )
  manager = await DownloadManager.open({
    root,
    hub: hubClient,
    catalog: { version: 1, recommended: 'none', entries: [] },
    ocrPacks: PACKS,
    onLibraryChanged: () => void languages.refresh(),
    downloadOptions: { retries: 1, backoffMs: 10, progressIntervalMs: 0 },
  })
  image = await textPng('Hello world')
}, 60_000)

afterAll(async () => {
  await manager?.close()
  await layer?.close()
  await hub?.close()
})

async function download(id: string): Promise<DownloadJob> {
  const started = await manager.start({ source: 'ocr', id })
  return until(() => {
    const job = manager.list().find((j) => j.id === started.id)
    if (job?.state === 'failed') throw new Error(job.error ?? 'failed')
    return job?.state === 'done' ? job : undefined
  }, `the ${id} pack to download`)
}

async function read(): Promise<{ text: string; language: string }> {
  const text = await layer.read(image)
  if (text.status !== 'read') throw new Error(`not read: ${JSON.stringify(text)}`)
  return { text: text.text, language: text.language }
}

describe('text-layer language packs', () => {
  it('picks the pack of the system language, and reads with the built-in one while it is not downloaded', async () => {
    const view = await languages.list()
    expect(view).toMatchObject({ choice: 'auto', automatic: 'latin', wanted: 'latin', inUse: BUILT_IN_PACK })
    expect(view.problem).toBe('Latin script is not downloaded: screens are read in English and Chinese until it is.')
    // Sizes come from the hub when it answers: the model and its dictionary together.
    const latin = view.packs.find((p) => p.id === 'latin')!
    expect(latin).toMatchObject({ installed: false, exact: true })
    expect(latin.bytes).toBeGreaterThan(recModel.length)
    expect(await read()).toEqual({ text: 'Hello world', language: 'en+zh' })
  }, 60_000)

  it('downloads a pack from the local hub as one verified unit, and the text layer reads with it', async () => {
    const job = await download('latin')
    expect(job).toMatchObject({ ocrPack: 'latin', folder: 'ocr/latin', modelPath: null, error: null })
    expect(job.files.map((f) => [f.fileName, f.role, f.checksum])).toEqual([
      ['rec.onnx', 'ocr-model', 'sha256'],
      ['dict.txt', 'ocr-dictionary', 'git-blob-sha1'],
    ])
    expect((await readdir(join(root, 'ocr', 'latin'))).sort()).toEqual(['dict.txt', 'rec.onnx'])
    await until(() => (languages.recogniser()?.pack === 'latin' ? true : undefined), 'the pack to be picked up')
    expect(views.at(-1)).toMatchObject({ inUse: 'latin', problem: null })

    // The reading made before is not reused: the language changed, and the pack's dictionary decodes it.
    expect(await read()).toEqual({ text: 'Hełłö wörłd', language: 'latin' })
  }, 120_000)

  it('switches back to the built-in pack when chosen, and to the system language again on auto', async () => {
    await languages.set(BUILT_IN_PACK)
    expect(await read()).toEqual({ text: 'Hello world', language: 'en+zh' })
    const auto = await languages.set('auto')
    expect(auto).toMatchObject({ inUse: 'latin', problem: null })
    expect((await read()).text).toBe('Hełłö wörłd')
  }, 120_000)

  it('reads with the built-in pack when the chosen one is missing, and says so', async () => {
    const view = await languages.set('greek')
    expect(view).toMatchObject({
      wanted: 'greek',
      inUse: BUILT_IN_PACK,
      problem: 'Greek is not downloaded: screens are read in English and Chinese until it is.',
    })
    expect(await read()).toEqual({ text: 'Hello world', language: 'en+zh' })
  }, 60_000)

  it('falls back to the built-in pack when a downloaded pack will not load, without failing a reading', async () => {
    await download('greek')
    await until(() => (languages.recogniser()?.pack === 'greek' ? true : undefined), 'the damaged pack to be handed over')
    const before = spawns
    // The process tries the damaged model, cannot load it, and reads with the built-in recogniser.
    expect(await read()).toEqual({ text: 'Hello world', language: 'en+zh' })
    const view = await until(() => views.findLast((v) => v.problem?.includes('could not be loaded')), 'the fallback to be reported')
    expect(view).toMatchObject({ wanted: 'greek', inUse: BUILT_IN_PACK })
    expect(view.problem).toMatch(
      /^Greek could not be loaded \(.+\)\. Screens are read in English and Chinese\. To read with it, delete it on the Models page and download it again\.$/,
    )
    // It is not handed to the next process again, until it is deleted (and downloaded anew); the process
    // that fell back already reads with the built-in recogniser, so it is kept rather than started again.
    expect(languages.recogniser()).toBeNull()
    expect(await layer.read(await textPng('Hello again'))).toMatchObject({ status: 'read', text: 'Hello again' })
    expect(spawns).toBe(before + 1)
    const deleted = await languages.delete('greek')
    expect(deleted.problem).toBe('Greek is not downloaded: screens are read in English and Chinese until it is.')
    expect(deleted.packs.find((p) => p.id === 'greek')!.installed).toBe(false)
  }, 120_000)

  it('refuses a dictionary that does not belong to the model, instead of decoding the wrong letters', async () => {
    const short = join(root, 'short-dict.txt')
    await writeFile(short, 'a\nb\nc\n')
    const model = join(defaultModelDir(), 'ch_PP-OCRv4_rec_infer.onnx')
    await expect(ScreenReader.open({ recogniser: { model, dictionary: short } })).rejects.toThrow(
      'The recognition model reads 6624 characters but its dictionary lists 3: they do not belong together.',
    )
  }, 30_000)
})
