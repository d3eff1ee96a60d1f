// Structured output through the local API with the official openai client, on the real
// engine and the tiny models: the answers are gibberish, so the tests check that they
// parse and validate, never what they say.
import OpenAI from 'openai'
import { LengthFinishReasonError } from 'openai/core/error'
import { zodResponseFormat } from 'openai/helpers/zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { engineStateFeed, startApiServer, type ApiServer } from '../../electron/api/server.js'
import { GenerationScheduler } from '../../electron/engine/scheduler.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const TOKEN = 'test-token-structured'
const MODEL = 'tiny-llama-f32'
let fx: FixturePaths
let engine: EngineClient
let server: ApiServer
let client: OpenAI

beforeAll(async () => {
  fx = await ensureFixtures()
  const states = engineStateFeed()
  engine = startEngine(states.publish)
  server = await startApiServer({
    scheduler: new GenerationScheduler(engine, 32),
    engineState: () => engine.state(),
    watchEngineState: states.watch,
    token: TOKEN,
    port: 0,
  })
  client = new OpenAI({ apiKey: TOKEN, baseURL: server.url, maxRetries: 0 })
})
afterAll(async () => {
  await server?.close()
  await engine?.dispose()
})

// Bounded strings and lists: the tiny model writes long gibberish, and a bound lets it finish the object.
const Pet = z.object({
  name: z.string().max(16),
  legs: z.number(),
  kind: z.enum(['cat', 'dog']),
  tags: z.array(z.string().max(8)).max(3),
  owner: z.union([z.null(), z.string().max(16)]),
})

describe.each([
  ['node-llama-cpp', false],
  ['llama.node', true],
] as const)('response_format on %s', (binding, vision) => {
  beforeAll(async () => {
    const info = await engine.load({ modelPath: fx.textModel, ...(vision ? { mmprojPath: fx.mmproj } : {}), gpu: false })
    expect(info.binding).toBe(binding)
  })

  it('chat.completions.parse with a zod schema returns a parsed, valid object', async () => {
    let parsedCount = 0
    for (let seed = 1; seed <= 6; seed++) {
      // Long enough for the tiny model to close the object most of the time; a cut answer is finish_reason length.
      let completion
      try {
        completion = await client.chat.completions.parse({
          model: MODEL,
          messages: [{ role: 'user', content: 'Describe a pet.' }],
          response_format: zodResponseFormat(Pet, 'pet'),
          max_tokens: 160,
          seed,
        })
      } catch (error) {
        if (error instanceof LengthFinishReasonError) continue
        throw error
      }
      const { message } = completion.choices[0]!
      expect(Pet.parse(message.parsed)).toEqual(message.parsed)
      parsedCount++
    }
    expect(parsedCount).toBeGreaterThan(0)
  })

  it('json_object answers parse, 200 times in a row with different seeds', async () => {
    const started = performance.now()
    let ended = 0
    for (let seed = 0; seed < 200; seed++) {
      // Small answers keep 200 runs quick; an answer cut at the limit is finish_reason length, the rest must parse.
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Answer in JSON.' }],
        response_format: { type: 'json_object' },
        max_tokens: 48,
        temperature: 1,
        seed,
      })
      const choice = completion.choices[0]!
      if (choice.finish_reason === 'length') continue
      expect(choice.finish_reason).toBe('stop')
      const value: unknown = JSON.parse(choice.message.content!)
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true)
      ended++
    }
    expect(ended).toBeGreaterThan(20)
    expect(performance.now() - started).toBeLessThan(120_000)
  }, 180_000)

  it('json_schema holds with an image in the question', { skip: !vision }, async () => {
    const png = Buffer.from(await solidPng(64, 64, '#0000ff')).toString('base64')
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'text', text: 'Describe the pet in the picture.' },
          ],
        },
      ],
      response_format: zodResponseFormat(Pet, 'pet'),
      max_tokens: 160,
      seed: 2,
    })
    const choice = completion.choices[0]!
    if (choice.finish_reason === 'stop') expect(Pet.safeParse(JSON.parse(choice.message.content!)).success).toBe(true)
    else expect(choice.finish_reason).toBe('length')
  })
})

describe('refusals (node-llama-cpp)', () => {
  beforeAll(async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
  })

  it('a schema keyword the grammar cannot enforce gets a 400 that names it', async () => {
    const error = await client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'n', strict: true, schema: { type: 'object', properties: { n: { type: 'number', minimum: 3 } } } },
        },
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, param: 'response_format', code: 'invalid_json_schema' })
    expect((error as Error).message).toMatch(/\/properties\/n uses the keyword "minimum"/)
  })

  it('a continued answer cannot take a JSON format', async () => {
    const error = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: '{"a":' },
        ],
        response_format: { type: 'json_object' },
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400 })
  })
})
