// The text layer on images sent to the local API, on the real engine with a stand-in reader:
// on by default (the prompt grows by the text), off per request with text_layer: false, and
// a text-only model answers about an image from its text instead of refusing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiServer } from '../../electron/api/server.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { createTextLayer, type TextReader } from '../../electron/ocr/text-layer.js'
import type { OcrResult, ScreenTextMode } from '../../electron/ocr/types.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { startLocalApi, type LocalApi } from '../support/api.js'
import { solidPng } from '../support/images.js'

const TOKEN = 'test-token-text-layer'
const MODEL = 'tiny-llama-f32'
const box = { x: 0, y: 0, width: 1, height: 1 }
const SCREEN: OcrResult = {
  width: 64,
  height: 64,
  blocks: [
    {
      box,
      lines: ['Disk almost full', 'Free 1.2 GB of 512 GB on Macintosh HD', 'Manage Later'].map((text) => ({ text, box, confidence: 0.95 })),
    },
  ],
  language: 'en',
  ms: 3,
}

let fx: FixturePaths
let api: LocalApi
let engine: EngineClient
let server: ApiServer
let reads = 0
let mode: ScreenTextMode = 'auto'

beforeAll(async () => {
  fx = await ensureFixtures()
  const reader: TextReader = {
    read: async () => {
      reads++
      return SCREEN
    },
    close: async () => undefined,
  }
  api = await startLocalApi(TOKEN, { textLayer: { layer: createTextLayer(reader), mode: () => mode } })
  ;({ engine, server } = api)
})
afterAll(async () => api?.close())

interface Reply {
  usage: { prompt_tokens: number }
  choices: { message: { content: string | null } }[]
  error: { message: string; param: string | null }
}

async function complete(extra: Record<string, unknown> = {}): Promise<{ status: number; body: Reply }> {
  const png = Buffer.from(await solidPng(48, 48, '#777777')).toString('base64')
  const res = await fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'How much space is left?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
      max_tokens: 3,
      temperature: 0,
      ...extra,
    }),
  })
  return { status: res.status, body: (await res.json()) as Reply }
}

describe('text layer through the API', () => {
  it('gives the model the text of the images it receives, unless the request says text_layer: false', async () => {
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const on = await complete()
    expect(on.status).toBe(200)
    const off = await complete({ text_layer: false })
    expect(off.status).toBe(200)
    expect(on.body.usage.prompt_tokens - off.body.usage.prompt_tokens).toBeGreaterThan(15)
    // The same image is read once, however often it is sent.
    expect(reads).toBe(1)
    // The app's setting 'never' turns it off; text_layer: true asks for it anyway.
    mode = 'never'
    expect((await complete()).body.usage.prompt_tokens).toBe(off.body.usage.prompt_tokens)
    expect((await complete({ text_layer: true })).body.usage.prompt_tokens).toBe(on.body.usage.prompt_tokens)
    mode = 'auto'
  })

  it('lets a text-only model answer about an image from its text; without the layer the image is refused', async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
    const on = await complete()
    expect(on.status).toBe(200)
    expect(on.body.choices[0]!.message.content).toEqual(expect.any(String))
    const off = await complete({ text_layer: false })
    expect(off.status).toBe(400)
    expect(off.body.error.message).toMatch(/vision projector/)
  })

  it('refuses a text_layer that is not a boolean, naming it', async () => {
    const bad = await complete({ text_layer: 'yes' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.param).toBe('text_layer')
  })
})
