// The in-app French, German and Polish pack end to end: a Polish system's text layer process is
// handed tesseract with the app's own traineddata and reads accented lines the built-in
// recogniser cannot; a pack whose traineddata will not load leaves the built-in recogniser
// reading, and the view says why (with nothing to download again: the pack is the app's own).
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import type { OcrLanguagesView } from '../../electron/ipc/contract.js'
import { BUILT_IN_PACK, OCR_PACKS, type OcrPack } from '../../electron/ocr/languages.js'
import { openOcrLanguages, type OcrLanguages } from '../../electron/ocr/language-service.js'
import { createProcessReader } from '../../electron/ocr/process-reader.js'
import { nodeOcrSpawner } from '../../electron/ocr/spawn-node.js'
import type { OcrRecogniser } from '../../electron/ocr/protocol.js'
import { createTextLayer, type TextLayer } from '../../electron/ocr/text-layer.js'
import { defaultModelDir } from '../../electron/ocr/paddle.js'
import { scratchDir } from '../support/engine.js'
import { textPng } from '../support/images.js'

const POLISH = 'Zażółć gęślą jaźń w Łodzi'

let layer: TextLayer | null = null
afterEach(async () => {
  await layer?.close()
  layer = null
})

async function polishSystem(packs: readonly OcrPack[], host?: string): Promise<{ languages: OcrLanguages; views: OcrLanguagesView[] }> {
  const root = await scratchDir()
  const views: OcrLanguagesView[] = []
  const languages = await openOcrLanguages({
    path: join(root, 'ocr-language.json'),
    modelsRoot: root,
    systemLanguages: () => ['pl-PL', 'en-US'],
    hub: { files: () => Promise.reject(new Error('offline')) },
    packs,
    onRecogniserChanged: () => void layer?.reload(),
    onChange: (view) => views.push(view),
  })
  layer = createTextLayer(
    createProcessReader(nodeOcrSpawner({ recogniser: () => languages.recogniser(), ...(host ? { host } : {}) }), {
      onReady: (status) => languages.reported(status),
      onLoadFailed: (why) => languages.loadFailed(why),
    }),
  )
  return { languages, views }
}

describe('the in-app French, German and Polish pack', () => {
  it("reads a Polish system's screens with tesseract in the text layer's own process", async () => {
    const { languages } = await polishSystem(OCR_PACKS)
    expect(languages.recogniser()).toMatchObject({ pack: 'fr-de-pl', engine: 'tesseract', languages: ['pol', 'fra', 'deu'] })
    const read = await layer!.read(await textPng(POLISH, 96))
    expect(read).toMatchObject({ status: 'read', text: POLISH, language: 'fr+de+pl' })
  }, 60_000)

  it('falls back to the built-in recogniser when its traineddata will not load, and says so', async () => {
    // The same pack as the app's, with a language whose traineddata the app does not have.
    const broken: OcrPack = { ...OCR_PACKS.find((p) => p.id === 'fr-de-pl')!, tesseract: { pl: 'xyz' } }
    const { languages, views } = await polishSystem([OCR_PACKS.find((p) => p.id === BUILT_IN_PACK)!, broken])
    const read = await layer!.read(await textPng('Hello world', 96))
    expect(read).toMatchObject({ status: 'read', text: 'Hello world', language: 'en+zh' })
    await expect
      .poll(() => views.findLast((v) => v.problem !== null)?.problem ?? null, { timeout: 10_000 })
      .toMatch(/^French, German and Polish could not be loaded \(.*xyz.*\)\. Screens are read in English and Chinese\.$/)
    expect(views.at(-1)).toMatchObject({ wanted: 'fr-de-pl', inUse: BUILT_IN_PACK })
    expect(languages.recogniser()).toBeNull()
  }, 60_000)

  it('gives up on it when its process dies while loading it (a corrupt traineddata), and says so', async () => {
    // A process that ends before it says its recogniser is loaded, as tesseract's crash on a corrupt file ends it.
    const { languages, views } = await polishSystem(OCR_PACKS, fileURLToPath(new URL('./fixtures/dying-host.mjs', import.meta.url)))
    expect(languages.recogniser()).toMatchObject({ pack: 'fr-de-pl' })
    expect(await layer!.read(await textPng('Hello world', 96))).toMatchObject({ status: 'failed' })
    expect(languages.recogniser()).toBeNull()
    expect(views.at(-1)).toMatchObject({ wanted: 'fr-de-pl', inUse: BUILT_IN_PACK })
    expect(views.at(-1)!.problem).toMatch(
      /^French, German and Polish could not be loaded \(its process stopped while loading it \(code 3\)\)\. Screens are read in English and Chinese\.$/,
    )
  }, 60_000)

  it('reads with the built-in pack when the chosen one does not finish loading in time, and says so', async () => {
    // A dictionary that never finishes reading stands for a file whose load hangs (a truncated traineddata).
    const fifo = join(await scratchDir(), 'dictionary.txt')
    execFileSync('mkfifo', [fifo])
    const model = join(defaultModelDir(), 'ch_PP-OCRv4_rec_infer.onnx')
    const hanging: OcrRecogniser = { pack: 'hanging', name: 'Hanging', language: 'xx', engine: 'paddle', model, dictionary: fifo }
    const ready: { pack: string; problem: string | null }[] = []
    process.env.OCR_LOAD_TIMEOUT_MS = '1500'
    try {
      layer = createTextLayer(createProcessReader(nodeOcrSpawner({ recogniser: () => hanging }), { onReady: (s) => void ready.push(s) }))
      const read = await layer.read(await textPng('Hello world', 96))
      expect(read).toMatchObject({ status: 'read', text: 'Hello world', language: 'en+zh' })
      expect(ready).toEqual([
        {
          pack: BUILT_IN_PACK,
          problem:
            'Hanging could not be loaded (it did not finish loading in 2 s). Screens are read in English and Chinese. To read with it, delete it on the Models page and download it again.',
        },
      ])
    } finally {
      delete process.env.OCR_LOAD_TIMEOUT_MS
    }
  }, 60_000)
})
