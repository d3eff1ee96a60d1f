// Grammar-constrained answers on both bindings, through the engine process: the tiny
// models say nothing sensible, so the tests check the shape (it parses, it validates),
// never the content.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { AnswerFormat, GenerateRequest } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { checkJsonSchema, toGbnfJsonSchema } from '../../electron/engine/json-schema.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { ask, collect, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let fx: FixturePaths
let engine: EngineClient

beforeAll(async () => {
  fx = await ensureFixtures()
  engine = startEngine()
})
afterAll(async () => engine?.dispose())

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer' },
    kind: { enum: ['cat', 'dog'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 2 },
    note: { type: ['string', 'null'] },
  },
  required: ['name', 'age', 'kind', 'tags', 'note'],
  additionalProperties: false,
} as const
const Person = z.strictObject({
  name: z.string().max(12),
  age: z.int(),
  kind: z.enum(['cat', 'dog']),
  tags: z.array(z.string().max(6)).max(2),
  note: z.string().nullable(),
})

async function answer(format: AnswerFormat, seed: number, images?: Uint8Array[]): Promise<{ text: string; stop: string | undefined }> {
  const request: GenerateRequest = { messages: ask('Describe a pet.', images), sampling: { maxTokens: 200, temperature: 1, seed }, format }
  const out = await collect(engine.generate(request))
  return { text: out.text, stop: out.stats?.stopReason }
}

function expectRefused(schema: unknown, message: RegExp): void {
  let error: unknown = null
  try {
    checkJsonSchema(schema)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(AppError)
  expect((error as AppError).code).toBe('invalid-payload')
  expect((error as AppError).message).toMatch(message)
}

describe('schema check', () => {
  it('accepts what both grammar converters enforce, with annotations', () => {
    expect(() => checkJsonSchema({ $schema: 'x', title: 't', ...PERSON })).not.toThrow()
    expect(() =>
      checkJsonSchema({ $defs: { p: PERSON }, type: 'object', properties: { a: { $ref: '#/$defs/p' }, b: { anyOf: [{ type: 'null' }] } } }),
    ).not.toThrow()
  })

  it('refuses each keyword a converter would drop, by name and place', () => {
    expectRefused({ type: 'string', pattern: '^a$' }, /"pattern"/)
    expectRefused({ type: 'object', properties: { n: { type: 'number', minimum: 0 } } }, /at \/properties\/n uses the keyword "minimum"/)
    expectRefused({ allOf: [{ type: 'string' }] }, /"allOf"/)
    expectRefused({ type: 'string', format: 'email' }, /format/)
    expectRefused({ $ref: '#/definitions/x' }, /\$ref/)
    expectRefused({ properties: { a: { type: 'string' } } }, /needs "type": "object"/)
    expectRefused({ type: 'array', items: {} }, /must say what it allows/)
    expectRefused({ type: ['object', 'null'] }, /several types/)
  })

  it('hands node-llama-cpp oneOf for anyOf and keeps property names that look like keywords', () => {
    expect(
      toGbnfJsonSchema({ title: 'x', type: 'object', properties: { title: { anyOf: [{ type: 'string' }, { type: 'null' }] } } }),
    ).toEqual({ type: 'object', properties: { title: { oneOf: [{ type: 'string' }, { type: 'null' }] } } })
  })
})

describe.each([
  ['node-llama-cpp', false],
  ['llama.node', true],
] as const)('grammar-constrained answers on %s', (binding, vision) => {
  beforeAll(async () => {
    const info = await engine.load({ modelPath: fx.textModel, ...(vision ? { mmprojPath: fx.mmproj } : {}), gpu: false })
    expect(info.binding).toBe(binding)
  })

  it('json: every answer that ends on its own is a JSON object', async () => {
    let ended = 0
    for (let seed = 1; seed <= 12; seed++) {
      const { text, stop } = await answer({ type: 'json' }, seed)
      if (stop !== 'eos') continue
      ended++
      const value: unknown = JSON.parse(text)
      expect(typeof value === 'object' && value !== null && !Array.isArray(value), text).toBe(true)
    }
    expect(ended).toBeGreaterThan(0)
  })

  it('json_schema: every answer that ends on its own validates against the schema', async () => {
    let ended = 0
    for (let seed = 1; seed <= 12; seed++) {
      const { text, stop } = await answer({ type: 'json_schema', schema: PERSON }, seed)
      if (stop !== 'eos') continue
      ended++
      expect(Person.safeParse(JSON.parse(text)).success, text).toBe(true)
    }
    expect(ended).toBeGreaterThan(0)
  })

  it.runIf(vision)('json_schema holds with an image in the question', async () => {
    const { text, stop } = await answer({ type: 'json_schema', schema: PERSON }, 5, [await solidPng(64, 64, '#00ff00')])
    if (stop === 'eos') expect(Person.safeParse(JSON.parse(text)).success, text).toBe(true)
    else expect(stop).toBe('max-tokens')
  })

  it('refuses an unsupported keyword and a continued answer before generating', async () => {
    const refused = (request: GenerateRequest): Promise<unknown> => collect(engine.generate(request)).catch((e: unknown) => e)
    expect(await refused({ messages: ask('x'), format: { type: 'json_schema', schema: { type: 'string', pattern: 'a' } } })).toMatchObject({
      code: 'invalid-payload',
      message: expect.stringMatching(/"pattern"/),
    })
    expect(
      await refused({
        messages: [...ask('x'), { role: 'assistant', text: '{"a":' }],
        format: { type: 'json' },
      }),
    ).toMatchObject({ code: 'invalid-payload' })
  })
})
