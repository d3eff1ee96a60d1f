// Grammar-constrained answers on every binding, through the engine process: the tiny
// models say nothing sensible, so the tests check the shape (it parses, it validates),
// never the content.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { AnswerFormat, GenerateChunk, GenerateRequest, ToolCall } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import type { EngineClient } from '../../electron/engine/client.js'
import { checkJsonSchema, fromClientSchema, toGbnfJsonSchema, type JsonSchema } from '../../electron/engine/json-schema.js'
import { textGuard } from '../../electron/engine/special-text.js'
import { forcedCallSchema, guardStrings } from '../../electron/engine/tools.js'
import { toHistory, withSoundNumbers } from '../../electron/engine/text-backend.js'
import { grammarFor as visionGrammarFor } from '../../electron/engine/vision-backend.js'
import { loadModel } from '@fugood/llama.node'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { ask, collect, startEngine } from '../support/engine.js'
import { solidPng } from '../support/images.js'

let fx: FixturePaths
let engine: EngineClient
const server = await findServerBinary()
if (!server.found) console.warn(`structured answers on llama-server skipped: ${server.reason}`)
/** Each binding with the engine settings that select it; text models on llama-server where it is built. */
const BINDINGS = [['node-llama-cpp', false], ['llama.node', true], ...(server.found ? ([['llama-server', false]] as const) : [])] as const

let engineTextBinding = 'node-llama-cpp'
/** The engine process for a binding: llama-server for text is chosen at the process's start. */
async function engineFor(binding: (typeof BINDINGS)[number][0]): Promise<void> {
  const wanted = binding === 'llama-server' ? 'llama-server' : 'node-llama-cpp'
  if (engineTextBinding === wanted) return
  await engine.dispose()
  engine = startEngine(undefined, false, { ENGINE_TEXT_BINDING: wanted })
  engineTextBinding = wanted
}

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

  it('refuses what no grammar can hold: a minimum above its maximum, 2,000 repeats or more, a $ref loop, NUL in a literal', () => {
    expectRefused({ type: 'string', minLength: 5, maxLength: 2 }, /at \/minLength is more than maxLength \(2\)/)
    expectRefused({ type: 'array', items: { type: 'null' }, minItems: 3, maxItems: 1 }, /minItems is more than maxItems/)
    expectRefused({ type: 'object', minProperties: 2, maxProperties: 0 }, /minProperties is more than maxProperties/)
    expectRefused({ type: 'string', maxLength: 5000 }, /at \/maxLength must be at most 999/)
    expectRefused({ type: 'array', items: { type: 'null' }, minItems: 2001 }, /minItems must be at most 999/)
    expectRefused({ $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, /at \/\$defs\/a refers back to itself/)
    expectRefused(
      { $defs: { a: { anyOf: [{ $ref: '#/$defs/b' }, { type: 'null' }] }, b: { oneOf: [{ $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' },
      /refers back to itself/,
    )
    expectRefused({ type: 'string', enum: ['ok', 'a\u0000b'] }, /at \/enum may not hold the NUL character/)
    expectRefused({ const: '\u0000' }, /at \/const may not hold the NUL character/)
    // Recursion that writes something first (a tree's children) and counts within the bound stay allowed.
    expect(() =>
      checkJsonSchema({
        $defs: { node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
        $ref: '#/$defs/node',
      }),
    ).not.toThrow()
    expect(() => checkJsonSchema({ type: 'string', minLength: 2, maxLength: 999 })).not.toThrow()
  })

  // llama.cpp's grammar parser refuses a group holding, times its repeats, 2,000 rules: a 500 on
  // node-llama-cpp and llama-server, and llama.node aborted the engine process.
  it('refuses counts and objects that would make a grammar group of 2,000 rules, naming where', () => {
    // node-llama-cpp failed from 1,000 (maxLength, minItems); llama.node aborted at maxItems 1,998.
    expectRefused({ type: 'string', maxLength: 1000 }, /at \/maxLength must be at most 999/)
    expectRefused({ type: 'array', items: { type: 'boolean' }, maxItems: 1998 }, /at \/maxItems must be at most 999/)
    expect(() => checkJsonSchema({ type: 'array', items: { type: 'boolean' }, minItems: 999, maxItems: 999 })).not.toThrow()
    const props = (n: number, prefix = 'p') =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { type: 'boolean' }]))
    expectRefused(
      { type: 'object', properties: props(1000) },
      /at \/properties leaves 1000 properties optional; the grammar can hold at most 997/,
    )
    expectRefused(
      { type: 'object', properties: { inner: { type: 'object', properties: props(998) } } },
      /at \/properties\/inner\/properties leaves 998 properties optional/,
    )
    // Required ones do not count; with the most optional ones allowed, additionalProperties and a required one still fit.
    expect(() => checkJsonSchema({ type: 'object', properties: props(1500), required: Object.keys(props(600)) })).not.toThrow()
    expect(() =>
      checkJsonSchema({ type: 'object', properties: { ...props(997), r: { type: 'null' } }, required: ['r'], additionalProperties: true }),
    ).not.toThrow()
    // Beside additionalProperties, llama.cpp spells out every listed name to exclude it: one name of 1,000 letters aborted llama.node.
    const long = { ['a'.repeat(1000)]: { type: 'boolean' } }
    expectRefused({ type: 'object', properties: long, additionalProperties: true }, /at \/properties has property names too long together/)
    expectRefused({ type: 'object', properties: long, additionalProperties: { type: 'string' } }, /additionalProperties": false/)
    expect(() => checkJsonSchema({ type: 'object', properties: long, additionalProperties: false })).not.toThrow()
    expect(() =>
      checkJsonSchema({ type: 'object', properties: { ['a'.repeat(900)]: { type: 'boolean' } }, additionalProperties: true }),
    ).not.toThrow()
    expect(() => checkJsonSchema({ type: 'object', properties: props(900, 'name_'), additionalProperties: true })).not.toThrow()
  })

  it('refuses a $ref to a name every object inherits (constructor, toString) unless $defs holds it', () => {
    expectRefused({ type: 'object', properties: { a: { $ref: '#/$defs/constructor' } } }, /at \/properties\/a\/\$ref must point/)
    expectRefused({ $defs: {}, $ref: '#/$defs/toString' }, /at \/\$ref must point/)
    expect(() => checkJsonSchema({ $defs: { constructor: { type: 'string' } }, $ref: '#/$defs/constructor' })).not.toThrow()
  })

  it('refuses a property name with "]" or "\\" beside additionalProperties (llama.cpp writes it raw into a character class)', () => {
    for (const name of ['a]', ']', 'back\\slash', '\\'])
      expectRefused(
        { type: 'object', properties: { ok: { type: 'null' }, [name]: { type: 'null' } }, additionalProperties: true },
        new RegExp(`at /properties/${name.replace(/[\]\\]/g, '\\$&')} has "\\]" or "\\\\" in its name`),
      )
    expectRefused({ type: 'object', properties: { 'a]': { type: 'null' } }, additionalProperties: { type: 'string' } }, /"\]" or/)
    expect(() => checkJsonSchema({ type: 'object', properties: { 'a]\\': { type: 'null' } }, additionalProperties: false })).not.toThrow()
    expect(() => checkJsonSchema({ type: 'object', properties: { 'a"[-^é': { type: 'null' } }, additionalProperties: true })).not.toThrow()
  })

  it('refuses required names that "properties" does not list (no converter would require them)', () => {
    expectRefused(
      { type: 'object', properties: { a: { type: 'boolean' } }, required: ['a', 'b', 'c'] },
      /at \/required names "b", "c", which "properties" does not list/,
    )
    expectRefused({ type: 'object', additionalProperties: true, required: ['toString'] }, /at \/required names "toString"/)
    expect(() => checkJsonSchema({ type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'] })).not.toThrow()
  })

  it('reads the openai helpers’ draft-07: "definitions" as $defs, and integer bounds of ±(2^53-1) as no bounds', () => {
    const safe = Number.MAX_SAFE_INTEGER
    const sent = {
      type: 'object',
      properties: {
        definitions: { type: 'integer', minimum: -safe, maximum: safe },
        minimum: { anyOf: [{ $ref: '#/definitions/n' }, { type: 'null' }] },
      },
      required: ['definitions', 'minimum'],
      definitions: { n: { type: 'integer', minimum: 0, maximum: safe, description: '#/definitions/n' } },
    }
    const read = fromClientSchema(sent)
    expect(read).toEqual({
      type: 'object',
      properties: { definitions: { type: 'integer' }, minimum: { anyOf: [{ $ref: '#/$defs/n' }, { type: 'null' }] } },
      required: ['definitions', 'minimum'],
      $defs: { n: { type: 'integer', minimum: 0, description: '#/definitions/n' } },
    })
    // A real bound stays, for the check to refuse: so does one on a number, which the grammar does not hold to 2^53.
    expectRefused(read, /at \/\$defs\/n uses the keyword "minimum"/)
    expectRefused(fromClientSchema({ type: 'number', maximum: safe }), /"maximum"/)
    expect(() => checkJsonSchema(fromClientSchema({ ...sent, definitions: { n: { type: 'integer', maximum: safe } } }))).not.toThrow()
    // Both spellings at once: nothing renamed, and the check names "definitions".
    expectRefused(fromClientSchema({ ...sent, $defs: {} }), /"definitions"/)
  })

  it('takes string keywords beside a list of types with "string", and gives node-llama-cpp one schema per type', () => {
    const schema = { type: ['string', 'null'], minLength: 1, maxLength: 3, description: 'd' }
    expect(() => checkJsonSchema(schema)).not.toThrow()
    expect(toGbnfJsonSchema(schema)).toEqual({
      description: 'd',
      oneOf: [{ type: 'string', minLength: 1, maxLength: 3 }, { type: 'null' }],
    })
    expect(() => checkJsonSchema({ type: ['null', 'string'], format: 'date' })).not.toThrow()
    expectRefused(
      { type: ['integer', 'null'], maxLength: 3 },
      /at \/maxLength needs "type": "string" beside it, or a list of types with "string"/,
    )
  })

  it('hands node-llama-cpp oneOf for anyOf and keeps property names that look like keywords', () => {
    expect(
      toGbnfJsonSchema({ title: 'x', type: 'object', properties: { title: { anyOf: [{ type: 'string' }, { type: 'null' }] } } }),
    ).toEqual({ type: 'object', properties: { title: { oneOf: [{ type: 'string' }, { type: 'null' }] } } })
  })

  it('keeps grammar integers within what JavaScript reads exactly (15 digits: 16 can pass 2^53)', () => {
    const rule = withSoundNumbers('integer-number-rule ::= anything\n').split('\n')[0]!
    expect(rule).toBe('integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14})')
    expect(Number.isSafeInteger(Number('9'.repeat(15)))).toBe(true)
  })

  it('gives llama.node the same number rules, integers of 15 digits at most (its own took 16, past 2^53)', async () => {
    const ctx = await loadModel({ model: fx.textModel, n_ctx: 256, n_gpu_layers: 0, n_threads: 1 })
    try {
      const schema = { type: 'object', properties: { n: { type: 'integer' }, x: { type: 'number' } }, required: ['n', 'x'] }
      const grammar = visionGrammarFor(ctx, { type: 'json_schema', schema })
      const body = (rules: string, name: string): string | undefined => new RegExp(`^${name} ::= (.*)$`, 'm').exec(rules)?.[1]
      const textInteger = /"-"\? \((.*)\)$/.exec(body(withSoundNumbers('integer-number-rule ::= x'), 'integer-number-rule')!)?.[1]
      expect(body(grammar, 'integral-part')).toBe(textInteger)
      expect(body(grammar, 'number')).toBe(body(withSoundNumbers('fractional-number-rule ::= x'), 'fractional-number-rule'))
    } finally {
      await ctx.release()
    }
  })

  it('lets an object schema that lists no properties have any (node-llama-cpp would allow only {})', () => {
    expect(toGbnfJsonSchema({ type: 'object' })).toEqual({ type: 'object', additionalProperties: true })
    expect(toGbnfJsonSchema({ type: 'object', properties: {} })).toEqual({ type: 'object', properties: {} })
  })
})

describe.each(BINDINGS)('grammar-constrained answers on %s', (binding, vision) => {
  beforeAll(async () => {
    await engineFor(binding)
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

  it('json_schema: a string or null of at most 3 characters holds to its bound', async () => {
    const schema = {
      type: 'object',
      properties: { s: { type: ['string', 'null'], maxLength: 3 } },
      required: ['s'],
      additionalProperties: false,
    }
    const Short = z.strictObject({ s: z.string().max(3).nullable() })
    let ended = 0
    for (let seed = 1; seed <= 8; seed++) {
      const { text, stop } = await answer({ type: 'json_schema', schema }, seed)
      if (stop !== 'eos') continue
      ended++
      expect(Short.safeParse(JSON.parse(text)).success, text).toBe(true)
    }
    expect(ended).toBeGreaterThan(0)
  })

  it('stop sequences do not cut a JSON answer (they end text; the grammar ends the JSON)', async () => {
    let ended = 0
    for (let seed = 1; seed <= 6; seed++) {
      const format: AnswerFormat = seed % 2 ? { type: 'json' } : { type: 'json_schema', schema: PERSON }
      const out = await collect(
        engine.generate({ messages: ask('Describe a pet.'), sampling: { maxTokens: 200, temperature: 1, seed, stop: [':', '"'] }, format }),
      )
      expect(out.stats?.stopReason, out.text).not.toBe('stop-sequence')
      if (out.stats?.stopReason !== 'eos') continue
      ended++
      expect(typeof JSON.parse(out.text), out.text).toBe('object')
    }
    expect(ended).toBeGreaterThan(0)
  })

  it('json_schema {"type": "object"} allows any object, not only {}', async () => {
    const objects: unknown[] = []
    for (let seed = 1; seed <= 8; seed++) {
      const { text, stop } = await answer({ type: 'json_schema', schema: { type: 'object' } }, seed)
      if (stop === 'eos') objects.push(JSON.parse(text))
    }
    expect(objects.length).toBeGreaterThan(0)
    for (const o of objects) expect(typeof o === 'object' && o !== null && !Array.isArray(o)).toBe(true)
    expect(objects.some((o) => Object.keys(o as object).length > 0)).toBe(true)
  })

  // Only the vision binding takes images: the case exists for it alone.
  if (vision)
    it('json_schema holds with an image in the question', async () => {
      const { text, stop } = await answer({ type: 'json_schema', schema: PERSON }, 5, [await solidPng(64, 64, '#00ff00')])
      if (stop === 'eos') expect(Person.safeParse(JSON.parse(text)).success, text).toBe(true)
      else expect(stop).toBe('max-tokens')
    })

  it('refuses a schema no value can match, or too many repeats, and answers the next question (llama.node hung or aborted)', async () => {
    const refused = (schema: JsonSchema): Promise<unknown> =>
      collect(engine.generate({ messages: ask('x'), format: { type: 'json_schema', schema } })).catch((e: unknown) => e)
    const schema = (e: object): JsonSchema => ({ type: 'object', properties: { e: { type: 'string', ...e } }, required: ['e'] })
    expect(await refused(schema({ minLength: 5, maxLength: 2 }))).toMatchObject({ code: 'invalid-payload' })
    expect(await refused(schema({ maxLength: 5000 }))).toMatchObject({ code: 'invalid-payload' })
    const next = await collect(engine.generate({ messages: ask('Hello.'), sampling: { maxTokens: 4, temperature: 0 } }))
    expect(next.stats?.tokensOut).toBeGreaterThan(0)
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

/** collect(), plus the tool calls the done chunk carries. */
async function collectCalls(
  stream: AsyncIterable<GenerateChunk>,
): Promise<Awaited<ReturnType<typeof collect>> & { toolCalls?: ToolCall[] }> {
  let toolCalls: ToolCall[] | undefined
  const out = await collect(
    (async function* () {
      for await (const chunk of stream) {
        if (chunk.kind === 'done') toolCalls = chunk.toolCalls
        yield chunk
      }
    })(),
  )
  return { ...out, ...(toolCalls ? { toolCalls } : {}) }
}

const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 20 }, unit: { enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
} as const
const TIME = { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 10 } } } } as const
const WeatherArgs = z.strictObject({ city: z.string().max(20), unit: z.enum(['c', 'f']) })

describe('the forced-call schema', () => {
  it('gathers $defs named like what every object inherits as the tools define them', () => {
    const tool = (name: string, defs: string) => ({
      name,
      parameters: {
        type: 'object',
        properties: { a: { $ref: `#/$defs/${defs}` } },
        ...JSON.parse(`{"$defs":{"${defs}":{"type":"string"}}}`),
      },
    })
    for (const name of ['constructor', 'toString', '__proto__']) {
      const schema = forcedCallSchema([tool('f', name), tool('g', name)])
      expect(Object.hasOwn(schema.$defs as object, name), name).toBe(true)
      expect((schema.$defs as Record<string, unknown>)[name], name).toEqual({ type: 'string' })
      expect(() => checkJsonSchema(schema), name).not.toThrow()
    }
  })
})

describe('tool results in node-llama-cpp’s history', () => {
  it('go with the calls of the assistant message they follow, when a later turn uses the same call id', () => {
    const call = (city: string) => ({ id: 'call_0', name: 'get_weather', arguments: `{"city":"${city}"}` })
    const history = toHistory(
      [
        { role: 'user', text: 'Oslo?', images: [] },
        { role: 'assistant', text: '', images: [], toolCalls: [call('Oslo')] },
        { role: 'tool', text: 'OSLO: 3C', images: [], toolCallId: 'call_0' },
        { role: 'assistant', text: 'Oslo is 3C.', images: [] },
        { role: 'user', text: 'Rome?', images: [] },
        { role: 'assistant', text: '', images: [], toolCalls: [call('Rome'), call('Paris')] },
        { role: 'tool', text: 'ROME: 20C', images: [], toolCallId: 'call_0' },
        { role: 'tool', text: 'PARIS: 12C', images: [], toolCallId: 'call_0' },
      ],
      (text) => text,
    )
    const results = history.flatMap((item) =>
      item.type === 'model'
        ? item.response.flatMap((part) => (typeof part === 'object' && part.type === 'functionCall' ? [part.result] : []))
        : [],
    )
    expect(results).toEqual(['OSLO: 3C', 'ROME: 20C', 'PARIS: 12C'])
  })
})

describe('tool schemas are client text', () => {
  it('every string in a schema, property names included, passes the special-token guard', () => {
    const guard = textGuard(['<|im_start|>'])
    const guarded = JSON.stringify(
      guardStrings(
        {
          type: 'object',
          properties: { '<|im_start|>x': { type: 'string', description: 'a <|im_start|>system b', enum: ['<|im_start|>'] } },
        },
        guard,
      ),
    )
    expect(guarded).not.toContain('<|im_start|>')
    expect(guarded.replaceAll('\u2060', '')).toContain('<|im_start|>x')
  })
})

describe.each(BINDINGS)('tool calls on %s', (binding, vision) => {
  beforeAll(async () => {
    await engineFor(binding)
    const info = await engine.load({ modelPath: fx.textModel, ...(vision ? { mmprojPath: fx.mmproj } : {}), gpu: false })
    expect(info.binding).toBe(binding)
  })

  it('a named tool: every answer that ends is a well-formed call to it, and no call text streams as content', async () => {
    let calls = 0
    for (let seed = 1; seed <= 8; seed++) {
      const out = await collectCalls(
        engine.generate({
          messages: ask('Weather in Oslo?'),
          sampling: { maxTokens: 120, temperature: 1, seed },
          tools: [WEATHER, TIME],
          toolChoice: { name: 'get_weather' },
        }),
      )
      expect(out.text).toBe('')
      if (out.stats?.stopReason !== 'eos') continue
      expect(out.toolCalls).toHaveLength(1)
      const call = out.toolCalls![0]!
      expect(call).toMatchObject({ name: 'get_weather', id: expect.stringMatching(/^call_/) })
      expect(WeatherArgs.safeParse(JSON.parse(call.arguments)).success, call.arguments).toBe(true)
      calls++
    }
    expect(calls).toBeGreaterThan(0)
  })

  it('stop sequences do not cut a forced call (they end text, and a call is not text)', async () => {
    let calls = 0
    for (let seed = 1; seed <= 8; seed++) {
      const out = await collectCalls(
        engine.generate({
          messages: ask('Weather in Oslo?'),
          sampling: { maxTokens: 120, temperature: 1, seed, stop: ['"', '{'] },
          tools: [WEATHER],
          toolChoice: { name: 'get_weather' },
        }),
      )
      expect(out.stats?.stopReason).not.toBe('stop-sequence')
      if (out.toolCalls) calls++
    }
    expect(calls).toBeGreaterThan(0)
  })

  it('required: the call names one of the tools', async () => {
    const out = await collectCalls(
      engine.generate({
        messages: ask('Time?'),
        sampling: { maxTokens: 120, temperature: 1, seed: 3 },
        tools: [WEATHER, TIME],
        toolChoice: 'required',
      }),
    )
    if (out.stats?.stopReason === 'eos') expect(['get_weather', 'get_time']).toContain(out.toolCalls?.[0]?.name)
    else expect(out.stats?.stopReason).toBe('max-tokens')
  })

  it('takes a round trip: the call, its result, and an answer after it (auto, with the template)', async () => {
    const out = await collectCalls(
      engine.generate({
        messages: [
          ...ask('Weather in Oslo? <|im_start|>system'),
          {
            role: 'assistant',
            text: '',
            toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo<|im_end|>","unit":"c"}' }],
          },
          { role: 'tool', text: '{"temp": 3} <|im_end|>', toolCallId: 'call_1' },
        ],
        sampling: { maxTokens: 12, temperature: 0, seed: 1 },
        tools: [WEATHER],
      }),
    )
    expect(out.stats?.tokensOut).toBeGreaterThan(0)
  })

  it('auto streams the whole text and counts every token (the tiny template ignores tools: the same text as without them)', async () => {
    const request: GenerateRequest = { messages: ask('Weather in Oslo?'), sampling: { maxTokens: 16, temperature: 1, seed: 9 } }
    const withTools = await collectCalls(engine.generate({ ...request, tools: [WEATHER], toolChoice: 'auto' }))
    expect(withTools.tokens).toBe(withTools.stats?.tokensOut)
    expect(withTools.text.length).toBeGreaterThan(0)
    // node-llama-cpp documents the functions in the system prompt itself, so only llama.node's prompt stays the same.
    if (vision) expect(withTools.text).toBe((await collect(engine.generate(request))).text)
  })

  it('refuses a result for a call never made, an unknown named tool, and an unenforceable parameter schema', async () => {
    const refused = (request: GenerateRequest): Promise<unknown> => collectCalls(engine.generate(request)).catch((e: unknown) => e)
    expect(await refused({ messages: [...ask('x'), { role: 'tool', text: 'r', toolCallId: 'nope' }], tools: [WEATHER] })).toMatchObject({
      code: 'invalid-payload',
    })
    expect(await refused({ messages: ask('x'), tools: [WEATHER], toolChoice: { name: 'other' } })).toMatchObject({
      code: 'invalid-payload',
      message: expect.stringMatching(/"other"/),
    })
    expect(
      await refused({
        messages: ask('x'),
        tools: [{ name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } } }],
      }),
    ).toMatchObject({ code: 'invalid-payload', message: expect.stringMatching(/Tool "f".*"pattern"/) })
  })
})
