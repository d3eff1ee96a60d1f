// Structured output through the local API with the official openai client, on the real
// engine and the tiny models: the answers are gibberish, so the tests check that they
// parse and validate, never what they say.
import OpenAI from 'openai'
import { LengthFinishReasonError } from 'openai/core/error'
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { EngineClient } from '../../electron/engine/client.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { startLocalApi, type LocalApi } from '../support/api.js'
import { solidPng } from '../support/images.js'

const TOKEN = 'test-token-structured'
const MODEL = 'tiny-llama-f32'
let fx: FixturePaths
let api: LocalApi
let engine: EngineClient
let client: OpenAI

beforeAll(async () => {
  fx = await ensureFixtures()
  api = await startLocalApi(TOKEN)
  ;({ engine, client } = api)
})
afterAll(async () => api?.close())

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

  // The helpers write draft-07: every z.int() with minimum/maximum ±(2^53-1), and shared or
  // recursive schemas in "definitions"; both were refused by keyword.
  it('the openai helpers’ integers and recursive schemas are taken, and answers parse with them', async () => {
    type Tree = { n: number; kids: Tree[] }
    const TreeZ: z.ZodType<Tree> = z.lazy(() => z.object({ n: z.int(), kids: z.array(TreeZ).max(2) }))
    const Count = z.object({ count: z.number().int(), tree: TreeZ })
    const format = zodResponseFormat(Count, 'count')
    expect(JSON.stringify(format.json_schema.schema)).toMatch(/"definitions".*"maximum":9007199254740991/)
    let answered = 0
    for (let seed = 1; seed <= 4; seed++) {
      const completion = await client.chat.completions
        .parse({ model: MODEL, messages: [{ role: 'user', content: 'Count.' }], response_format: format, max_tokens: 80, seed })
        .catch((error: unknown) => {
          if (error instanceof LengthFinishReasonError) return null
          throw error
        })
      if (!completion) continue
      expect(Count.parse(completion.choices[0]!.message.parsed)).toEqual(completion.choices[0]!.message.parsed)
      answered++
    }
    expect(answered).toBeGreaterThan(0)
    const call = await client.chat.completions.parse({
      model: MODEL,
      messages: [{ role: 'user', content: 'Count.' }],
      tools: [zodFunction({ name: 'count', parameters: z.object({ n: z.int() }) })],
      tool_choice: 'required',
      max_tokens: 60,
      seed: 3,
    })
    expect(call.choices[0]!.finish_reason).toMatch(/^(tool_calls|length)$/)
  })

  // Only the vision binding takes images: the case exists for it alone.
  if (vision)
    it('json_schema holds with an image in the question', async () => {
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

  it('a schema nested too deep to serialise, or that no value can match, gets a 400, not a 500', async () => {
    // Written by hand: the openai client could not serialise it either.
    const deep = '{"type":"array","items":'.repeat(100_000) + '{"type":"string"}' + '}'.repeat(100_000)
    const format = (schema: string): string => `{"type":"json_schema","json_schema":{"name":"n","schema":${schema}}}`
    const post = async (schema: string): Promise<{ status: number; error: unknown }> => {
      const response = await fetch(`${api.server.url}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"response_format":${format(schema)}}`,
      })
      return { status: response.status, error: ((await response.json()) as { error: unknown }).error }
    }
    expect(await post(deep)).toMatchObject({ status: 400, error: { param: 'response_format.json_schema.schema' } })
    const impossible = JSON.stringify({ type: 'object', properties: { e: { type: 'string', minLength: 5, maxLength: 2 } } })
    expect(await post(impossible)).toMatchObject({ status: 400, error: { param: 'response_format', code: 'invalid_json_schema' } })
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

describe('refusals (llama.node)', () => {
  beforeAll(async () => {
    const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    expect(info.binding).toBe('llama.node')
  })

  // llama.cpp's grammar parser refuses a group of 2,000 rules or more; llama.node does not catch
  // it and the engine process aborted, twice (the engine client's retry), then a 503.
  it('a schema whose grammar llama.cpp could not parse gets a 400 naming where, and the engine goes on answering', async () => {
    const optional = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: 'boolean' }]))
    const create = (extra: object): Promise<unknown> =>
      client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...extra })
        .catch((e: unknown) => e)
    const format = (schema: Record<string, unknown>) => ({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } })
    const cases: [object, string, RegExp][] = [
      [format({ type: 'object', properties: optional }), 'response_format', /at \/properties leaves 1000 properties optional/],
      [
        format({ type: 'array', items: { type: 'object', properties: { a: { type: 'null' } } }, maxItems: 1998 }),
        'response_format',
        /at \/maxItems/,
      ],
      [
        format({ type: 'object', properties: { ['k'.repeat(1000)]: { type: 'null' } }, additionalProperties: true }),
        'response_format',
        /at \/properties has property names too long/,
      ],
      [
        format({ type: 'object', properties: { 'a]': { type: 'null' } }, additionalProperties: true }),
        'response_format',
        /at \/properties\/a\] has "\]" or "\\" in its name/,
      ],
      [
        {
          tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: optional } } }],
          tool_choice: 'required',
        },
        'tools.0.function.parameters',
        /at \/properties leaves 1000 properties optional/,
      ],
    ]
    for (const [extra, param, message] of cases) {
      const error = await create(extra)
      expect(error, String(message)).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error, String(message)).toMatchObject({ status: 400, param, code: 'invalid_json_schema' })
      expect((error as Error).message).toMatch(message)
    }
    expect(engine.state().state).toBe('ready')
    const next = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
    expect(next.usage!.completion_tokens).toBeGreaterThan(0)
  })
})

const WeatherArgs = z.strictObject({ city: z.string().max(20), unit: z.enum(['c', 'f']) })
const WEATHER_PARAMS = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 20 }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
}
const TIME_PARAMS = { type: 'object', properties: { zone: { type: 'string', maxLength: 10 } } }
const WEATHER_TOOL: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_PARAMS },
}
const TIME_TOOL: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: TIME_PARAMS },
}

describe.each([
  ['node-llama-cpp', false],
  ['llama.node', true],
] as const)('tool calls on %s', (binding, vision) => {
  beforeAll(async () => {
    const info = await engine.load({ modelPath: fx.textModel, ...(vision ? { mmprojPath: fx.mmproj } : {}), gpu: false })
    expect(info.binding).toBe(binding)
  })

  it('runTools with a named tool: one round trip, then an answer that takes the result', async () => {
    const seen: unknown[] = []
    const runner = client.chat.completions.runTools({
      model: MODEL,
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: WEATHER_PARAMS,
            parse: (args: string) => WeatherArgs.parse(JSON.parse(args)),
            function: (args: z.infer<typeof WeatherArgs>) => {
              seen.push(args)
              return { temperature: 3, unit: args.unit }
            },
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 120,
      seed: 4,
    })
    await runner.done()
    expect(seen).toHaveLength(1)
    const [, call, result] = runner.messages
    expect(call).toMatchObject({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'get_weather' } }] })
    expect(result).toMatchObject({ role: 'tool', content: expect.stringContaining('temperature') })
    // The conversation with the call and its result goes back for the answer.
    const answer = await client.chat.completions.create({ model: MODEL, messages: runner.messages, max_tokens: 8, seed: 1 })
    expect(answer.choices[0]!.finish_reason).toMatch(/^(stop|length)$/)
    expect(answer.usage!.completion_tokens).toBeGreaterThan(0)
  })

  it('runTools with tool_choice required: every call names a tool and its arguments parse', async () => {
    const calls: string[] = []
    const runner = client.chat.completions.runTools(
      {
        model: MODEL,
        messages: [{ role: 'user', content: 'Weather and time?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather',
              parameters: WEATHER_PARAMS,
              parse: JSON.parse,
              function: () => (calls.push('get_weather'), 'sunny'),
            },
          },
          {
            type: 'function',
            function: {
              name: 'get_time',
              description: 'The time',
              parameters: TIME_PARAMS,
              parse: JSON.parse,
              function: () => (calls.push('get_time'), '12:00'),
            },
          },
        ],
        tool_choice: 'required',
        max_tokens: 120,
        seed: 6,
      },
      { maxChatCompletions: 2 },
    )
    await runner.done()
    expect(calls.length).toBeGreaterThan(0)
    const toolMessages = runner.messages.filter((m) => m.role === 'tool')
    expect(toolMessages.length).toBe(calls.length)
    expect(toolMessages.every((m) => !String(m.content).startsWith('Invalid tool_call'))).toBe(true)
  })

  it('streamed tool-call deltas reassemble into the call the non-streamed answer makes for the same seed', async () => {
    const body = {
      model: MODEL,
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      tool_choice: { type: 'function' as const, function: { name: 'get_weather' } },
      max_tokens: 120,
      temperature: 1,
      seed: 11,
    }
    const whole = await client.chat.completions.create(body)
    expect(whole.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { role: 'assistant', content: null } })
    const [call] = whole.choices[0]!.message.tool_calls!
    expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/), function: { name: 'get_weather' } })
    expect(WeatherArgs.safeParse(JSON.parse((call as { function: { arguments: string } }).function.arguments)).success).toBe(true)

    const assembled: { id?: string; name: string; arguments: string }[] = []
    let finish: string | null = null
    let content = ''
    for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
      const choice = chunk.choices[0]
      if (!choice) continue
      content += choice.delta.content ?? ''
      finish = choice.finish_reason ?? finish
      for (const delta of choice.delta.tool_calls ?? []) {
        const slot = (assembled[delta.index] ??= { name: '', arguments: '' })
        if (delta.id) slot.id = delta.id
        slot.name += delta.function?.name ?? ''
        slot.arguments += delta.function?.arguments ?? ''
      }
    }
    expect(finish).toBe('tool_calls')
    expect(content).toBe('')
    expect(assembled).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        name: 'get_weather',
        arguments: (call as { function: { arguments: string } }).function.arguments,
      },
    ])
  })

  it('tool_choice auto goes through the model’s template and answers (the tiny model rarely calls)', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Rome?' }],
      tools: [WEATHER_TOOL],
      max_tokens: 16,
      seed: 2,
    })
    const choice = completion.choices[0]!
    if (choice.finish_reason === 'tool_calls') expect(choice.message.tool_calls!.length).toBeGreaterThan(0)
    else expect(choice.message.tool_calls ?? []).toEqual([])
  })
})

describe('tool refusals (node-llama-cpp)', () => {
  beforeAll(async () => {
    await engine.load({ modelPath: fx.textModel, gpu: false })
  })

  it('a parameter schema the grammar cannot enforce gets a 400 naming the keyword and the tool', async () => {
    const error = await client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [
          WEATHER_TOOL,
          { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } } },
        ],
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, param: 'tools.1.function.parameters' })
    expect((error as Error).message).toMatch(/"minimum"/)
  })

  it('a named tool that is not offered, and a result for a call never made, get a 400', async () => {
    const unknown = await client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'function', function: { name: 'nope' } },
      })
      .catch((e: unknown) => e)
    expect(unknown).toMatchObject({ status: 400 })
    const orphan = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'tool', content: 'r', tool_call_id: 'call_x' },
        ],
      })
      .catch((e: unknown) => e)
    expect(orphan).toMatchObject({ status: 400 })
  })

  it('tool_calls outside an assistant message, and tool_call_id outside a tool message, get a 400 naming the field', async () => {
    const post = (messages: unknown[]): Promise<unknown> =>
      client.chat.completions
        .create({ model: MODEL, messages: messages as OpenAI.Chat.Completions.ChatCompletionMessageParam[] })
        .catch((e: unknown) => e)
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }
    expect(await post([{ role: 'user', content: 'hi', tool_calls: [call] }])).toMatchObject({ status: 400, param: 'messages.0.tool_calls' })
    expect(await post([{ role: 'user', content: 'hi', tool_call_id: 'call_1' }])).toMatchObject({
      status: 400,
      param: 'messages.0.tool_call_id',
    })
    expect(
      await post([
        { role: 'user', content: 'hi' },
        { role: 'tool', content: 'r' },
      ]),
    ).toMatchObject({
      status: 400,
      param: 'messages.1.tool_call_id',
    })
  })
})
